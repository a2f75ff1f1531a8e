"""Connector registry, the shared HTTP session, and the connector commands of `cmr`."""

from __future__ import annotations

import importlib.metadata as md
import logging
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from cmr_desktop.connectors.http import USER_AGENT, RedactingFilter, make_session, redact
from cmr_desktop.connectors.registry import GROUP, Registry, Status, UnknownConnector
from cmr_desktop.testing.faults import FaultProxy
from cmr_desktop.testing.simulator import VendorSimulator

# --- a folder of installed plugins, some of them broken -------------------------------------

PLUGINS = {
    "broken_plugin.py": "raise ImportError('this plugin needs libfoo, which is missing')\n",
    "old_plugin.py": """
        from cmr_desktop.connectors.manual import ManualConnector
        from cmr_desktop.connectors.api import ConnectorInfo

        class OldConnector(ManualConnector):
            info = ConnectorInfo(id="old", name="Old", version="0.1", api_version="0.9.0")
    """,
    "half_plugin.py": """
        from cmr_desktop.connectors.api import API_VERSION, Connector, ConnectorInfo

        class HalfConnector(Connector):
            info = ConnectorInfo(id="half", name="Half", version="1.0", api_version=API_VERSION)

            def catalog(self): ...

        not_a_class = 42
    """,
    "good_plugin.py": """
        from cmr_desktop.connectors.manual import ManualConnector
        from cmr_desktop.connectors.api import API_VERSION, ConnectorInfo

        class GoodConnector(ManualConnector):
            info = ConnectorInfo(id="good", name="Good one", version="2.0",
                                 api_version=API_VERSION)
    """,
}
ENTRY_POINTS = """
[cmr_desktop.connectors]
broken = broken_plugin:Connector
old = old_plugin:OldConnector
half = half_plugin:HalfConnector
notaclass = half_plugin:not_a_class
good = good_plugin:GoodConnector
misnamed = good_plugin:GoodConnector
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A folder that, put on sys.path, holds an installed distribution of plugins."""
    root = tmp_path / "site"
    root.mkdir()
    for name, code in PLUGINS.items():
        (root / name).write_text(textwrap.dedent(code))
    dist = root / "test_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: test-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


def _registry(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.syspath_prepend(str(plugin_dir))
    eps = [
        ep
        for d in md.distributions(path=[str(plugin_dir)])
        for ep in d.entry_points
        if ep.group == GROUP
    ]
    builtin = md.entry_points(group=GROUP)
    return Registry.discover([*builtin, *eps, *eps])  # listed twice, as editable installs do


def test_registry_lists_broken_plugins_with_the_reason_and_keeps_the_rest(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = _registry(plugin_dir, monkeypatch)
    by_id = {e.id: e for e in reg.entries()}
    assert by_id["manual"].status is Status.OK
    assert by_id["openpref"].status is Status.OK
    assert by_id["good"].status is Status.OK
    assert by_id["good"].package == "test-plugins 1.0"
    assert by_id["broken"].status is Status.BROKEN
    assert "libfoo" in by_id["broken"].reason
    assert by_id["old"].status is Status.INCOMPATIBLE
    assert "0.9.0" in by_id["old"].reason
    assert by_id["half"].status is Status.INVALID
    assert "missing methods: read, write" in by_id["half"].reason
    assert by_id["notaclass"].status is Status.INVALID
    assert by_id["misnamed"].status is Status.INVALID
    assert "id is 'good'" in by_id["misnamed"].reason
    assert {"good", "manual", "openpref"} <= set(reg.available())
    assert not {"broken", "old", "half", "notaclass", "misnamed"} & set(reg.available())
    with pytest.raises(UnknownConnector, match="'half' is invalid: missing method"):
        reg.get("half")
    with pytest.raises(UnknownConnector, match=r"unknown connector 'nope' \(available: .*good"):
        reg.get("nope")


def test_cmr_connectors_shows_broken_plugins_and_everything_else_works(
    cmr: Any, plugin_dir: Path
) -> None:
    env = {"PYTHONPATH": str(plugin_dir)}
    res = cmr("connectors", "--json", env=env)
    assert res.code == 0, res
    by_id = {e["id"]: e for e in res.json()}
    assert by_id["broken"]["status"] == "broken"
    assert by_id["old"]["status"] == "incompatible"
    assert by_id["openpref"]["status"] == "ok"
    assert {s["name"] for s in by_id["openpref"]["settings"]} == {"base_url", "subject", "token"}
    text = cmr("connectors", env=env)
    assert "this plugin needs libfoo" in text.out
    refused = cmr("brand", "add", "X", "--connector", "broken", env=env)
    assert refused.code == 2
    assert "connector 'broken' is broken: failed to import" in refused.err
    assert cmr("brand", "add", "Y", "--connector", "good", env=env).code == 0
    assert cmr("brand", "list", env=env).code == 0


# --- the shared HTTP session -----------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []  # noqa: RUF012 - one test server per test

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        type(self).seen.append({"method": self.command, **dict(self.headers)})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_session_sends_user_agent_and_always_has_a_timeout(recorder: str) -> None:
    session = make_session(timeout=(5, 10))
    assert session.get(recorder + "/x").status_code == 200
    assert _Recorder.seen[0]["User-Agent"] == USER_AGENT
    with pytest.raises(ValueError, match="TLS verification cannot be turned off"):
        session.get(recorder + "/x", verify=False)


def test_retries_idempotent_requests_on_503_but_not_post_or_429(recorder: str) -> None:
    with FaultProxy(recorder + "/api") as proxy:
        session = make_session(timeout=(5, 10), retries=2, backoff=0.01)
        proxy.fail(503, times=1, retry_after="1")  # a short wait: retried in-line
        assert session.get(proxy.url + "/x").status_code == 200
        assert proxy.requests_seen == 2
        proxy.fail(503, times=1, retry_after="0")
        assert session.post(proxy.url + "/x", json={}).status_code == 503  # not retried
        proxy.fail(429, times=1)
        response = session.get(proxy.url + "/x")
        assert response.status_code == 429  # the connector reports RateLimited instead
        assert response.headers["Retry-After"] == "7"
        assert proxy.requests_seen == 4


def test_a_hanging_vendor_times_out(recorder: str) -> None:
    # The proxy's hang waits on its stop event (set when the ``with`` ends), not a delay
    # the client must beat: only the client's 0.5 s read timeout can end the request.
    with FaultProxy(recorder, hang_seconds=600) as proxy:
        session = make_session(timeout=(1.0, 0.5), retries=0)
        proxy.fail("timeout")
        with pytest.raises(requests.Timeout):
            session.get(proxy.url + "/x")


def test_credentials_are_redacted_from_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    line = (
        "send: Authorization: Bearer abc.def-123 access_token=zzz9&x=1 "
        "{'Authorization': 'Token s3cr3t'} my-own-secret-value"
    )
    clean = redact(line, ("my-own-secret-value",))
    for secret in ("abc.def-123", "zzz9", "s3cr3t", "my-own-secret-value"):
        assert secret not in clean
    assert "x=1" in clean
    logger = logging.getLogger("cmr_desktop.test-redaction")
    flt = RedactingFilter()
    flt.add_secret("another-secret-42")
    logger.addFilter(flt)
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("header %s and %s", "Authorization: Bearer qwerty123", "another-secret-42")
    assert "qwerty123" not in caplog.text
    assert "another-secret-42" not in caplog.text
    assert "[redacted]" in caplog.text


def test_connector_and_urllib3_child_loggers_are_redacted_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from cmr_desktop.connectors.http import REDACTOR, install_redaction

    install_redaction()
    REDACTOR.add_secret("child-logger-secret-77")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("cmr_desktop.connector.acme.brand-1").info(
            "sent X-Api-Key: %s", "child-logger-secret-77"
        )
        logging.getLogger("urllib3.connectionpool").debug("token=%s", "zzz-abc-999")
    assert "child-logger-secret-77" not in caplog.text
    assert "zzz-abc-999" not in caplog.text
    assert caplog.text.count("[redacted]") == 2


# --- `cmr brand add --connector` and `cmr brand check` against the simulator -------------------


def test_brand_with_openpref_connector_checks_its_connection(
    cmr: Any, vendor_sim: VendorSimulator
) -> None:
    url = vendor_sim.base_url("vendor-001")
    token = vendor_sim.token("vendor-001")
    res = cmr(
        "brand",
        "add",
        "Vendor One",
        "--connector",
        "openpref",
        "--set",
        f"base_url={url}",
        "--set",
        "subject=subject-001",
        "--secret-env",
        "token=V1_TOKEN",
        env={"V1_TOKEN": token},
    )
    assert res.code == 0, res
    shown = cmr("brand", "show", "vendor-one", "--json").json()
    assert shown["connector_config"] == {"base_url": url, "subject": "subject-001"}
    assert token not in cmr("export").out  # the secret is in the keyring only

    check = cmr("brand", "check", "vendor-one")
    assert check.code == 0, check
    assert "connected:" in check.out

    assert cmr("brand", "set-secret", "vendor-one", "token", stdin="wrong-token\n").code == 0
    refused = cmr("brand", "check", "vendor-one")
    assert refused.code == 1
    assert "refused the access token" in refused.err
    assert "cmr brand set-secret vendor-one token" in refused.err
    assert "wrong-token" not in refused.err

    vendor_sim.set_knobs("vendor-001", error_rate=1.0)
    down = cmr("brand", "check", "vendor-one")
    assert down.code == 1
    assert "Vendor One" in down.err


def test_removing_a_brand_forgets_its_secrets(cmr: Any, vendor_sim: VendorSimulator) -> None:
    args = (
        "--connector",
        "openpref",
        "--set",
        f"base_url={vendor_sim.base_url('vendor-002')}",
        "--set",
        "subject=subject-001",
        "--secret-env",
        "token=T",
    )
    env = {"T": vendor_sim.token("vendor-002")}
    assert cmr("brand", "add", "V2", *args, env=env).code == 0
    assert cmr("brand", "remove", "v2", "--yes").code == 0
    assert cmr("brand", "add", "V2", *args[:-2]).code == 2  # needs the secret again
    keyring_file = Path(cmr.home).parent / "test-keyring.json"
    assert vendor_sim.token("vendor-002") not in keyring_file.read_text()
