"""``python -m cmr_desktop.testing.simulator``: the ``cmr-vendor-sim`` console script."""

from cmr_desktop.testing.simulator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
