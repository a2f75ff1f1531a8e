"""Whether this process is a test or the demo (:func:`in_test_mode`): the one switch that
lets connectors reach a vendor over plain http on loopback and lets the mail code talk to
servers on this machine. Its own module, below every layer that asks (connectors, mail)."""

from __future__ import annotations

import os
import sys

#: Set to ``1`` to let connectors reach a vendor over plain http on this machine (say, a
#: ``cmr-vendor-sim`` you started yourself); see :func:`in_test_mode`.
TEST_MODE_ENV = "CMR_TEST_MODE"
_TEST_KEYRING = "cmr_desktop.testing.keyring.InMemoryKeyring"


def in_test_mode() -> bool:
    """Whether this process is a test or the demo, where plain http to loopback is allowed.

    True when any of these holds (a real installation sets none of them):

    - ``CMR_TEST_MODE=1`` is in the environment;
    - pytest is running a test (it sets ``PYTEST_CURRENT_TEST``; this covers a plugin
      author's own tests and the conformance kit);
    - the test kit's throw-away keyring is selected, the way ``cmr_desktop.testing.keyring``
      itself decides it may be used: ``PYTHON_KEYRING_BACKEND`` names it (the demo, and the
      ``cmr`` processes tests and the demo start), or it was set with
      ``keyring.set_keyring()`` in this process (tests, benchmarks).
    """
    env = os.environ
    if env.get(TEST_MODE_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    if env.get("PYTEST_CURRENT_TEST"):
        return True
    if env.get("PYTHON_KEYRING_BACKEND", "").strip() == _TEST_KEYRING:
        return True
    # Only a backend this process has chosen already: asking keyring for one would set one
    # up (a D-Bus round trip on Linux), and this runs as the customer types an address.
    core = sys.modules.get("keyring.core")
    chosen = getattr(core, "_keyring_backend", None) if core is not None else None
    if chosen is None:
        return False
    backend = type(chosen)
    return f"{backend.__module__}.{backend.__qualname__}" == _TEST_KEYRING
