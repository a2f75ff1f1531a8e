"""The one configured ``requests.Session`` every connector gets (ARCHITECTURE 3.4).

- connect and read timeouts are always set (requests has none by default);
- idempotent requests (GET, PUT, DELETE ...) are retried a few times with backoff on
  connection errors and 502/503/504, honouring ``Retry-After`` up to a cap: long waits are the
  sync scheduler's job, not a blocked worker thread's (FIELD-NOTES: urllib3 retries);
- 429 is *not* retried here: the connector reports :class:`RateLimited` with the vendor's
  ``Retry-After`` and the scheduler waits;
- a User-Agent names the app and its version; TLS verification is always on;
- ``Authorization`` headers and token values are scrubbed from every log line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from cmr_desktop import __version__

USER_AGENT = f"cmr-desktop/{__version__} (+https://example.invalid/cmr-desktop)"
DEFAULT_TIMEOUT = (3.05, 15.0)  # (connect, read) seconds
MAX_RETRY_AFTER = 2.0  # seconds a worker may sleep inside one request

_SCRUB = [
    # Any header or parameter whose name says it carries a credential (X-Api-Key: ..).
    (
        re.compile(
            r"(?i)\b([\w-]*(?:api[-_]?key|token|secret|password|passwd)[\w-]*['\"]?\s*[:=]\s*['\"]?)"
            r"(?!\[redacted\])[^\s'\",}&]+"
        ),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+|basic\s+|token\s+)?[^\s'\",}]+"
        ),
        r"\1\2[redacted]",
    ),
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|api_key|apikey|token|password|secret)=([^&\s'\"]+)"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with credentials replaced by ``[redacted]``."""
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


class RedactingFilter(logging.Filter):
    """Scrubs credentials from every record that passes through a handler or logger.

    Known secret values can be registered with :meth:`add_secret` so they are removed even
    where no header name announces them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secret(self, value: str) -> None:
        if value and len(value) >= 4:
            self._secrets.add(value)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, tuple(self._secrets))
        if clean != message:
            record.msg, record.args = clean, None
        return True


#: The one filter; connectors' secrets are registered with it as they are read.
REDACTOR = RedactingFilter()
_PREFIXES = ("urllib3", "requests", "cmr_desktop")
_installed = False


def install_redaction() -> None:
    """Scrub every log record from the loggers that may see headers or URLs.

    A filter on a logger does not see its children's records (``cmr_desktop.connector.x``,
    ``urllib3.connectionpool``), so the scrubbing happens where records are made instead.
    """
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.name.startswith(_PREFIXES):
            REDACTOR.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class _CappedRetry(Retry):
    """urllib3 Retry whose ``Retry-After`` sleeps are capped (the default has no cap), and
    which leaves 429 to the caller (urllib3 retries any 429 that carries Retry-After)."""

    RETRY_AFTER_STATUS_CODES = frozenset({503})

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)


class ConnectorSession(requests.Session):
    """A Session whose requests always carry a timeout and verify TLS."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if kwargs.get("verify") is False:
            raise ValueError("TLS verification cannot be turned off for connector requests")
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.ConnectionError as exc:
            # Once urllib3's retries are used up, requests reports a read timeout as a
            # ConnectionError wrapping MaxRetryError(ReadTimeoutError). Say what it was.
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, ReadTimeoutError):
                raise requests.ReadTimeout(str(reason), request=exc.request) from None
            raise


def make_session(
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 2,
    backoff: float = 0.3,
    pool_size: int = 4,
) -> ConnectorSession:
    """Build the session a connector gets.

    Args:
        timeout: (connect, read) seconds for every request.
        retries: retries for idempotent requests on connection errors and 502/503/504.
        backoff: base of the exponential backoff between retries, in seconds.
        pool_size: connections kept per host.
    """
    install_redaction()
    session = ConnectorSession(timeout)
    retry = _CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_max=MAX_RETRY_AFTER,
        status_forcelist=(502, 503, 504),
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,  # never POST or PATCH
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = False  # no proxies or .netrc credentials picked up behind our back
    return session
