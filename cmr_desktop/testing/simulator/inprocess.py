"""The simulator served from this process: :class:`VendorSimulator`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from cmr_desktop.testing.simulator import admin, protocol
from cmr_desktop.testing.simulator.preferences import (
    check_subject_id,
    merge,
    validate_preferences,
)
from cmr_desktop.testing.simulator.problems import ProblemError, not_found
from cmr_desktop.testing.simulator.server import Response, Server, Server6, is_loopback
from cmr_desktop.testing.simulator.spec import Knobs, VendorSpec, VendorStats
from cmr_desktop.testing.simulator.state import Vendor


class VendorSimulator:
    """Serve many simulated Open Preference API v1 vendors over real local HTTP.

    Args:
        vendors: the vendors to serve (ids must be unique).
        seed: seeds each vendor's random generator together with its id.
        knobs: the initial knobs of every vendor (default: well-behaved).
        host: address to listen on (a loopback address unless you mean it).
        port: port to listen on; 0 picks a free one.

    Raises:
        ValueError: duplicate vendor ids.
    """

    def __init__(
        self,
        vendors: Sequence[VendorSpec],
        *,
        seed: int = 0,
        knobs: Knobs | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        ids = [v.id for v in vendors]
        if len(set(ids)) != len(ids):
            raise ValueError("vendor ids must be unique")
        self.seed = seed
        self.host = host
        self.port = port
        self._vendors = {v.id: Vendor(v, seed, knobs or Knobs()) for v in vendors}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._root: str | None = None

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a background thread.

        Returns:
            The root URL, e.g. ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: already started.
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server_cls = Server6 if ":" in self.host else Server
        server = server_cls((self.host, self.port), self)
        self._server = server
        port = server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._root = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openpref-simulator",
            daemon=True,
        )
        self._thread.start()
        return self._root

    def stop(self, timeout: float = 1.0) -> None:
        """Stop serving: wake hanging requests, cut open connections, join the threads.

        Args:
            timeout: the longest to wait for connection threads to finish.
        """
        server, self._server = self._server, None
        if server is None:
            return
        deadline = time.monotonic() + timeout
        server.stopping.set()
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        server.cut_connections()
        server.join_workers(deadline)
        server.server_close()

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The root URL (only while running)."""
        if self._root is None or self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return self._root

    # --- Python API ----------------------------------------------------------------------

    @property
    def vendor_ids(self) -> list[str]:
        """The ids of the served vendors, in the order given."""
        return list(self._vendors)

    def spec(self, vendor_id: str) -> VendorSpec:
        """The spec a vendor was made from."""
        return self._vendor(vendor_id).spec

    def base_url(self, vendor_id: str) -> str:
        """The protocol base URL of a vendor, e.g. ``http://127.0.0.1:PORT/vendors/v/v1``."""
        self._vendor(vendor_id)
        return f"{self.url}/vendors/{vendor_id}/v1"

    def token(self, vendor_id: str) -> str:
        """The bearer token a vendor expects."""
        return self._vendor(vendor_id).spec.token

    def state(self, vendor_id: str) -> dict[str, dict[str, Any]]:
        """A copy of a vendor's stored subjects.

        Returns:
            subject id -> ``{"etag": '"7"', "preferences": P, "updated_at": "..."}``; the
            ``etag`` is the quoted form sent in the ``ETag`` header.
        """
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            return {s: entry.to_json() for s, entry in vendor.subjects.items()}

    def stats(self, vendor_id: str) -> VendorStats:
        """A vendor's request and write counts."""
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            return vendor.stats

    def wait_for_stats(
        self,
        vendor_id: str,
        predicate: Callable[[VendorStats], bool],
        timeout: float = 5.0,
    ) -> VendorStats:
        """Wait until a vendor's statistics satisfy ``predicate`` (no polling).

        Example: ``sim.wait_for_stats("vendor-001", lambda s: s.writes_applied >= 3)``.

        Returns:
            The statistics that satisfied ``predicate``.

        Raises:
            TimeoutError: ``predicate`` still fails after ``timeout`` seconds.
        """
        vendor = self._vendor(vendor_id)
        with vendor.changed:
            if not vendor.changed.wait_for(lambda: predicate(vendor.stats), timeout):
                raise TimeoutError(f"{vendor_id}: stats still {vendor.stats} after {timeout} s")
            return vendor.stats

    def knobs(self, vendor_id: str) -> Knobs:
        """A vendor's current knobs."""
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            return vendor.knobs

    def set_knobs(self, vendor_id: str, **changes: Any) -> Knobs:
        """Change some of a vendor's knobs, e.g. ``set_knobs("vendor-001", error_rate=0.5)``.

        Returns:
            The vendor's knobs after the change.

        Raises:
            KeyError: unknown vendor.
            ValueError: unknown knob or bad value.
        """
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            vendor.knobs = vendor.knobs.changed(**changes)
            return vendor.knobs

    def add_subject(
        self, vendor_id: str, subject: str, prefs: Mapping[str, Any] | None = None
    ) -> str:
        """Create or replace a subject's stored preferences.

        Args:
            vendor_id: the vendor.
            subject: the subject id.
            prefs: preferences (``P``); ``None`` for the vendor's defaults.

        Returns:
            The subject's new ETag (quoted, as in the header).

        Raises:
            KeyError: unknown vendor.
            ValueError: the preferences do not fit the protocol or the catalog.
        """
        vendor = self._vendor(vendor_id)
        check_subject_id(subject)
        stored = self._validated(vendor, prefs)
        with vendor.lock:
            return vendor.store(subject, stored).etag

    def tamper(self, vendor_id: str, subject: str, change: Mapping[str, Any]) -> str:
        """Change a subject's stored preferences behind the client's back.

        Args:
            vendor_id: the vendor.
            subject: an existing subject.
            change: partial preferences merged into the stored state, e.g.
                ``{"channels": {"sms": {"enabled": True}}, "topics": {"offers": True}}``.

        Returns:
            The subject's new ETag.

        Raises:
            KeyError: unknown vendor or subject.
            ValueError: the merged preferences do not fit the protocol or the catalog.
        """
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            entry = vendor.subjects.get(subject)
            if entry is None:
                raise KeyError(f"vendor {vendor_id} has no subject {subject!r}")
            try:
                merged = validate_preferences(vendor.spec, merge(entry.preferences, change))
            except ProblemError as exc:
                raise ValueError(exc.describe()) from None
            vendor.count(tampers=1)
            return vendor.store(subject, merged).etag

    def reset(self) -> None:
        """Every vendor back to its initial subjects, knobs, statistics and generator."""
        for vendor in self._vendors.values():
            vendor.reset()

    def _vendor(self, vendor_id: str) -> Vendor:
        try:
            return self._vendors[vendor_id]
        except KeyError:
            raise KeyError(f"unknown vendor {vendor_id!r}") from None

    @staticmethod
    def _validated(vendor: Vendor, prefs: Mapping[str, Any] | None) -> dict[str, Any]:
        if prefs is None:
            return vendor.spec.default_preferences()
        try:
            return validate_preferences(vendor.spec, prefs)
        except ProblemError as exc:
            raise ValueError(exc.describe()) from None

    # --- HTTP ----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes, client: str) -> Response:
        """Answer one request (raises :class:`ProblemError` or :class:`Hang`)."""
        path = urlsplit(target).path
        parts = [unquote(p) for p in path.split("/")[1:]]
        if parts and parts[-1] == "" and len(parts) > 1:
            parts.pop()  # a trailing slash
        if parts[:1] == ["admin"]:
            if not is_loopback(client):
                raise ProblemError(
                    403, "forbidden", "Forbidden", "the admin API answers loopback clients only"
                )
            return admin.serve(self, method, parts[1:], body)
        if len(parts) >= 3 and parts[0] == "vendors" and parts[2] == "v1":
            vendor = self._vendors.get(parts[1])
            if vendor is None:
                raise not_found(f"no vendor {parts[1]!r} here")
            server = self._server
            stopping = server.stopping if server is not None else threading.Event()
            return protocol.serve(vendor, method, parts[3:], headers, body, stopping)
        raise not_found(f"nothing at {path}")
