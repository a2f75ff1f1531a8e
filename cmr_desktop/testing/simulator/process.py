"""The simulator in a child process, driven through its admin API: :class:`SimulatorProcess`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import IO, TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    import requests

    from cmr_desktop.testing.simulator.spec import Knobs


class SimulatorProcess:
    """``cmr-vendor-sim`` in a child process, driven through its admin API.

    Same methods as :class:`~cmr_desktop.testing.simulator.VendorSimulator` for what tests and
    benchmarks use. Use it when the simulator must not share the caller's GIL: a benchmark of
    the client, or a test of the desktop app's responsiveness (real vendors are not in the
    app's process either).

    The child is ``python -m MODULE --port 0 --vendors N --seed S`` (``MODULE`` is
    :attr:`module`); its first lines on stdout name the root URL and each vendor's base URL
    and token, which is how this object learns them.

    Args:
        vendors: how many vendors to serve.
        seed: the simulator's seed.
        knobs: knobs for every vendor at start (latency, error rate, ...).

    Raises:
        RuntimeError: the child did not start (its first line is in the message).
    """

    module: ClassVar[str] = "cmr_desktop.testing.simulator"
    """The module the child runs with ``python -m``."""

    stdin: ClassVar[int | None] = None
    """The child's standard input (``subprocess.PIPE`` for one this process holds)."""

    def __init__(self, vendors: int = 3, *, seed: int = 0, knobs: Knobs | None = None) -> None:
        import requests

        args = [sys.executable, "-m", self.module, "--port", "0"]
        args += ["--vendors", str(vendors), "--seed", str(seed)]
        self._proc: subprocess.Popen[str] = subprocess.Popen(
            args,
            stdin=self.stdin,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._proc.stdout is not None
        self.root, self._vendors = self._read_start(self._proc.stdout, vendors)
        self._admin: requests.Session = requests.Session()
        if knobs is not None:
            for vid in self._vendors:
                self.set_knobs(vid, **knobs.to_dict())

    def _read_start(self, out: IO[str], vendors: int) -> tuple[str, dict[str, tuple[str, str]]]:
        """The root URL and vendor id -> (base URL, token), from the child's first lines."""
        first = out.readline()
        if " at " not in first:
            self._proc.kill()
            self._proc.wait()
            out.close()
            raise RuntimeError(f"cmr-vendor-sim did not start: {first!r}")
        root = first.split(" at ")[1].split()[0]
        found: dict[str, tuple[str, str]] = {}
        for _ in range(vendors):
            vid, url, token = out.readline().split()[:3]
            found[vid] = (url, token.removeprefix("token="))
        return root, found

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._proc.pid

    @property
    def vendor_ids(self) -> list[str]:
        return list(self._vendors)

    def base_url(self, vendor_id: str) -> str:
        return self._vendors[vendor_id][0]

    def token(self, vendor_id: str) -> str:
        return self._vendors[vendor_id][1]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._admin.request(method, f"{self.root}/admin/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def add_subject(self, vendor_id: str, subject: str, preferences: Any = None) -> None:
        """Create or replace a subject; ``None`` for the vendor's defaults (everything on,
        every data use allowed), as :meth:`VendorSimulator.add_subject`."""
        self._call("PUT", f"vendors/{vendor_id}/subjects/{subject}", {"preferences": preferences})

    def set_knobs(self, vendor_id: str, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"vendors/{vendor_id}/knobs", changes))

    def state(self, vendor_id: str) -> dict[str, dict[str, Any]]:
        return dict(self._call("GET", f"vendors/{vendor_id}")["subjects"])

    def stats(self, vendor_id: str) -> dict[str, int]:
        return dict(self._call("GET", f"vendors/{vendor_id}")["stats"])

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 10 s) and wait for it."""
        self._admin.close()
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()  # a tethered child stops on its own; SIGTERM as well
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
