"""``python -m cmr_desktop``: the ``cmr`` command line (the desktop app runs sync this way)."""

from cmr_desktop.app import cli_main

raise SystemExit(cli_main())
