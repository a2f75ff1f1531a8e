"""The one configured ``requests.Session`` every connector gets (ARCHITECTURE 3.4).

- connect and read timeouts are always set (requests has none by default), and every
  request has an overall deadline: a body that trickles out slowly (each socket read within
  the read timeout) ends with :class:`DeadlineExceeded` (a ``requests.Timeout``);
- an answer larger than :data:`MAX_RESPONSE_BYTES` is not read to its end:
  :class:`ResponseTooLarge` (a ``requests.RequestException``);
- idempotent requests (GET, PUT, DELETE ...) are retried a few times with backoff on
  connection errors and 502/503/504. A ``Retry-After`` (seconds or an HTTP-date, parsed by
  urllib3) is honoured as the vendor says: when it asks for at most :data:`MAX_RETRY_AFTER`
  seconds the session waits and retries in-line; a longer wait is not retried here, the
  answer reaches the connector, which reports it (``TransientError(retry_after=...)``) and
  the sync scheduler waits, not a blocked worker thread (FIELD-NOTES: urllib3 retries);
- 429 is *not* retried here: the connector reports :class:`RateLimited` with the vendor's
  ``Retry-After`` and the scheduler waits;
- a User-Agent names the app and its version; TLS verification is always on;
- ``Authorization`` headers and token values are scrubbed from every log line.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from types import TracebackType
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    InvalidHeader,
    MaxRetryError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from cmr_desktop import __version__
from cmr_desktop.testmode import TEST_MODE_ENV as TEST_MODE_ENV  # re-exported: the plugin API
from cmr_desktop.testmode import in_test_mode as in_test_mode

USER_AGENT = f"cmr-desktop/{__version__} (+https://example.invalid/cmr-desktop)"
DEFAULT_TIMEOUT = (3.05, 15.0)  # (connect, read) seconds
MAX_RETRY_AFTER = 2.0  # seconds a worker may sleep inside one request
DEFAULT_DEADLINE = 30.0  # seconds one request may take in all, body included
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # larger answers are refused, not read
_CHUNK = 64 * 1024

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


class DeadlineExceeded(requests.Timeout):
    """The request took longer than the session's overall deadline (say, a body that
    trickles out a byte at a time, each read within the read timeout)."""


class ResponseTooLarge(requests.RequestException):
    """The answer is larger than the session accepts; it was not read to its end.

    Attributes:
        limit: the most bytes the session accepts.
    """

    def __init__(self, message: str, *, limit: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


_PARSER = Retry(0)  # parse_retry_after uses no state of its instance


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from now that a ``Retry-After`` value asks for (delay-seconds or an
    HTTP-date, a date in the past being 0), by urllib3's own parser; None when absent or
    unreadable."""
    if value is None:
        return None
    try:
        return float(_PARSER.parse_retry_after(value))
    except InvalidHeader:
        return None


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a vendor's ``Retry-After`` header asks for, in seconds from now.

    Both forms of RFC 9110 are read (``120`` and ``Fri, 04 Dec 2026 10:00:00 GMT``); a date
    in the past is 0. None when the header is absent or unreadable.
    """
    return parse_retry_after(response.headers.get("Retry-After"))


class _CappedRetry(Retry):
    """urllib3 Retry that waits in-line only for a short ``Retry-After``, and leaves 429 to
    the caller (urllib3 retries any 429 that carries Retry-After).

    A ``Retry-After`` longer than :data:`MAX_RETRY_AFTER` is the vendor asking for a wait a
    worker thread must not sleep through: the answer is handed back (not retried), so the
    connector can report how long the vendor asked to wait.
    """

    RETRY_AFTER_STATUS_CODES = frozenset({503})

    def get_retry_after(self, response: Any) -> float | None:
        value = parse_retry_after(response.headers.get("Retry-After"))
        return None if value is None else min(value, MAX_RETRY_AFTER)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if response is not None and _pool is not None:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > MAX_RETRY_AFTER:
                # The same way out as "retries used up": urlopen hands the answer back
                # (raise_on_status is off) instead of sleeping through the wait.
                raise MaxRetryError(
                    _pool,
                    url or "",
                    ResponseError(f"{method} answered {response.status}, Retry-After {wait:.0f} s"),
                )
        return super().increment(method, url, response, error, _pool, _stacktrace)


class ConnectorSession(requests.Session):
    """A Session whose requests always carry a timeout, verify TLS, finish by a deadline
    and read at most ``max_bytes`` of an answer.

    Every answer is read here, in chunks against a monotonic deadline, whether or not the
    caller asked for ``stream=True`` (``iter_content`` still works on it afterwards).

    Args:
        timeout: (connect, read) seconds for each socket operation.
        deadline: seconds the whole request may take, answer body included.
        max_bytes: the largest answer body accepted (after decoding gzip/deflate).
    """

    def __init__(
        self,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        *,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        timeout = kwargs.get("timeout")
        if timeout is None:
            timeout = self.default_timeout
        if isinstance(timeout, int | float):
            timeout = (timeout, timeout)
        # No single socket operation may outlast the deadline either.
        connect, read = (
            self.deadline if t is None else min(float(t), self.deadline) for t in timeout
        )
        kwargs["timeout"] = (connect, read)
        if kwargs.get("verify") is False:
            raise ValueError("TLS verification cannot be turned off for connector requests")
        kwargs["stream"] = True
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.ConnectionError as exc:
            # Once urllib3's retries are used up, requests reports a read timeout as a
            # ConnectionError wrapping MaxRetryError(ReadTimeoutError). Say what it was.
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, ReadTimeoutError):
                raise requests.ReadTimeout(str(reason), request=exc.request) from None
            raise
        self._read_bounded(response, started + self.deadline, read)
        return response

    def _read_bounded(self, response: requests.Response, deadline: float, read: float) -> None:
        """Read the body into ``response`` (``.content``), within ``deadline`` and the cap."""
        limit = self.max_bytes
        raw = response.raw
        try:
            declared = int(response.headers.get("Content-Length", ""))
        except ValueError:
            declared = -1
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if declared > limit and not encoded:
            response.close()
            raise ResponseTooLarge(
                f"the answer is {declared} bytes, more than the {limit} accepted",
                limit=limit,
                response=response,
                request=response.request,
            )
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded(
                        f"no complete answer within {self.deadline:g} s",
                        response=response,
                        request=response.request,
                    )
                if isinstance(sock, socket.socket):
                    sock.settimeout(min(left, read))
                try:
                    chunk = raw.read1(_CHUNK, decode_content=True)
                except ReadTimeoutError:
                    if time.monotonic() >= deadline:
                        raise DeadlineExceeded(
                            f"no complete answer within {self.deadline:g} s",
                            response=response,
                            request=response.request,
                        ) from None
                    raise requests.ReadTimeout(
                        "the answer stopped coming", request=response.request
                    ) from None
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(
                        f"the answer is larger than the {limit} bytes accepted",
                        limit=limit,
                        response=response,
                        request=response.request,
                    )
                parts.append(chunk)
        except (requests.RequestException, OSError, HTTPError) as exc:
            response.close()  # the connection is not reused: its rest is unread
            if isinstance(exc, requests.RequestException):
                raise
            kind: type[requests.RequestException] = requests.ConnectionError
            if isinstance(exc, DecodeError):
                kind = requests.exceptions.ContentDecodingError
            elif isinstance(exc, ProtocolError):
                kind = requests.exceptions.ChunkedEncodingError
            raise kind(exc, request=response.request) from None
        response._content = b"".join(parts)
        response._content_consumed = True  # type: ignore[attr-defined]
        raw.release_conn()


def make_session(
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 2,
    backoff: float = 0.3,
    pool_size: int = 4,
    deadline: float = DEFAULT_DEADLINE,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> ConnectorSession:
    """Build the session a connector gets.

    Args:
        timeout: (connect, read) seconds for every request.
        retries: retries for idempotent requests on connection errors and 502/503/504
            (not on read timeouts: those are the sync engine's, see below).
        backoff: base of the exponential backoff between retries, in seconds.
        pool_size: connections kept per host.
        deadline: seconds one request may take in all (retries and the body included as
            far as they happen before it; see :class:`ConnectorSession`).
        max_bytes: the largest answer body read; larger ones raise
            :class:`ResponseTooLarge`.
    """
    install_redaction()
    session = ConnectorSession(timeout, deadline=deadline, max_bytes=max_bytes)
    retry = _CappedRetry(
        total=retries,
        connect=retries,
        # A read timeout is not retried in-line: a hanging vendor cost 3 x 15 s per attempt.
        # The sync engine retries it with backoff and counts it for that vendor's breaker.
        read=0,
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
