"""An SSRF guard for the URLs found in mail (RFC 8058 one-click unsubscribe).

A ``List-Unsubscribe`` URL is written by whoever sent the mail, so it is untrusted: it may
name this machine, the home router, a cloud metadata address, or a public-looking name that
resolves to one of those. :func:`guarded_post` sends one request to such a URL only when it
is safe to:

- ``https://`` only (plain ``http://`` is always refused), no user name or password in it,
  port 443 (any port on loopback in test mode, where the test servers listen);
- the host is resolved once (``socket.getaddrinfo``), and **every** address it resolves to
  must be global: not private, loopback, link-local, multicast, reserved, unspecified,
  shared (CGNAT ``100.64.0.0/10``), nor an IPv6 form wrapping one of those (IPv4-mapped
  ``::ffff:127.0.0.1``, 6to4, Teredo, NAT64 ``64:ff9b::/96``);
- the connection goes to the address that was checked (no second look-up a DNS rebinding
  could change), with TLS verified against the *real* host name (SNI and certificate check);
- no redirect is followed (a 3xx is reported, with where it pointed), no cookies, no
  authentication, no proxy from the environment;
- short timeouts (connect 5 s, read 10 s) and at most 64 KiB of the answer is read.

Loopback (and only loopback, never a private range) is allowed in test mode
(:func:`cmr_desktop.connectors.http.in_test_mode`), so tests can run a real HTTPS server on
this machine. The resolver and the trusted certificates can be given (tests: a resolver that
lies, a ``trustme`` CA).

urllib3 rather than ``requests``: its ``HTTPSConnectionPool`` connects to a given address
while sending SNI and checking the certificate for another name (``server_hostname`` /
``assert_hostname``), which is exactly "connect to the checked address"; ``requests`` always
resolves the URL's host itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from cmr_desktop.connectors import http as _http

#: Seconds to wait for the TCP and TLS connection, and for the answer.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
#: The most of an answer's body that is read (the status is what matters).
MAX_BODY = 64 * 1024

#: host, port -> the addresses it resolves to (as text).
Resolver = Callable[[str, int], Sequence[str]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_USER_AGENT = "CMR-Desktop (one-click unsubscribe, RFC 8058)"


class GuardError(Exception):
    """The URL was not contacted, or the exchange failed; one line naming the URL and why."""


class Refused(GuardError):
    """The URL is not safe to contact (scheme, host, an address that is not global)."""


@dataclass(frozen=True, slots=True)
class GuardedAnswer:
    """What the server answered (never followed anywhere).

    Attributes:
        url: the URL that was asked.
        address: the IP address the connection went to (the one that was checked).
        status: the HTTP status.
        reason: the status line's reason phrase.
        location: the ``Location`` of a 3xx ("" otherwise): reported, not followed.
        body: at most :data:`MAX_BODY` bytes of the answer.
        truncated: the answer was longer than :data:`MAX_BODY`.
    """

    url: str
    address: str
    status: int
    reason: str = ""
    location: str = ""
    body: bytes = b""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), through the system resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def address_problem(address: str, *, allow_loopback: bool = False) -> str:
    """Why ``address`` must not be contacted ("" when it is a global address).

    Args:
        address: an IPv4 or IPv6 address as text (an IPv6 zone ``%eth0`` counts as
            link-local).
        allow_loopback: accept loopback (127.0.0.0/8, ::1, and IPv4-mapped loopback); test
            mode only. Private ranges are never accepted.
    """
    text = address.strip()
    if "%" in text:
        return f"{text} is a link-local address (it has a zone)"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return f"{text!r} is not an IP address"
    inner = _embedded_ipv4(ip)
    if inner is not None:
        problem = address_problem(str(inner), allow_loopback=allow_loopback)
        return f"{ip} wraps {problem}" if problem else ""
    if ip.is_loopback:
        return "" if allow_loopback else f"{ip} is a loopback address (this machine)"
    for test, words in (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
    ):
        if test:
            return f"{ip} is {words}"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return ""


def _embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True, slots=True)
class _Target:
    url: str
    host: str
    port: int
    path: str


def check_url(url: str) -> _Target:
    """The parts of ``url`` once its form is acceptable (before any look-up).

    Raises:
        Refused: not https, a user name or password in it, no host, an IP literal or port
            that cannot be used.
    """
    text = url.strip()
    shown = _shown(text)
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise Refused(f"{shown}: refused: the address holds a space or a control character")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise Refused(f"{shown}: refused: not a valid address") from None
    if parts.scheme.lower() == "http":
        raise Refused(f"{shown}: refused: plain http is never used (https only)")
    if parts.scheme.lower() != "https":
        raise Refused(f"{shown}: refused: not an https address")
    if parts.username is not None or parts.password is not None:
        raise Refused(f"{shown}: refused: a user name or password in the address")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused(f"{shown}: refused: no host name")
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Refused(f"{shown}: refused: the host name cannot be looked up") from None
    port = 443 if port is None else port
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(text, host, port, path)


_shared: dict[str, object] = {}


@contextlib.contextmanager
def overrides_for_tests(
    *, resolver: Resolver | None = None, ca_file: str | None = None
) -> Iterator[None]:
    """For tests: the resolver and trusted CA used when a caller gives none (the sync
    engine's connectors run on other threads, so this is process-wide). Honoured only in
    test mode; a real installation always uses the system's resolver and certificates."""
    if not _http.in_test_mode():
        raise RuntimeError("netguard.overrides_for_tests is for tests only (test mode is off)")
    before = dict(_shared)
    _shared.update({"resolver": resolver, "ca_file": ca_file})
    try:
        yield
    finally:
        _shared.clear()
        _shared.update(before)


def _default(name: str) -> object:
    return _shared.get(name) if _http.in_test_mode() else None


def resolve_checked(target: _Target, resolver: Resolver | None = None) -> list[str]:
    """The host's addresses, each checked; refuses unless every one of them is global."""
    shown = _shown(target.url)
    test_mode = _http.in_test_mode()
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
            target.host
        )
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        look_up = resolver or _default("resolver") or system_resolver
        assert callable(look_up)
        try:
            addresses = [str(a) for a in look_up(target.host, target.port)]
        except (OSError, UnicodeError) as exc:
            raise GuardError(f"{shown}: cannot look up {target.host}: {_words(exc)}") from None
    if not addresses:
        raise GuardError(f"{shown}: {target.host} has no address")
    for address in addresses:
        problem = address_problem(address, allow_loopback=test_mode)
        if problem:
            via = "" if literal is not None else f"{target.host} resolves to "
            raise Refused(f"{shown}: refused: {via}{problem}")
    loopback = [a for a in addresses if _is_loopback(a)]
    if target.port != 443 and len(loopback) != len(addresses):
        raise Refused(f"{shown}: refused: port {target.port} (https on port 443 only)")
    return addresses


def guarded_post(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
    ca_file: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> GuardedAnswer:
    """POST ``body`` to ``url`` under the guard (the module docstring lists the rules).

    Args:
        url: an https URL from mail (untrusted).
        body: the request body.
        headers: more headers (``Content-Type`` ...); ``Host`` is always the URL's host.
        resolver: host, port -> addresses (default: the system's; tests may lie).
        ca_file: the certificates to trust (default: certifi's bundle, else the system's).
        ssl_context: a ready TLS context instead of ``ca_file`` (verification must be on).

    Returns:
        The answer, whatever its status (a 3xx is not followed).

    Raises:
        Refused: the URL or an address it resolves to may not be contacted.
        GuardError: the look-up, connection, TLS or exchange failed (one line).
    """
    target = check_url(url)
    shown = _shown(target.url)
    address = resolve_checked(target, resolver)[0]
    context = ssl_context or _context(ca_file or _default("ca_file"))
    if context.verify_mode != ssl.CERT_REQUIRED:
        raise GuardError(f"{shown}: refused: certificate verification is off")
    host_header = target.host if target.port == 443 else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = f"[{target.host}]" if target.port == 443 else f"[{target.host}]:{target.port}"
    sent = {
        "User-Agent": _USER_AGENT,
        "Accept": "*/*",
        **(headers or {}),
        "Host": host_header,
    }
    pool = urllib3.HTTPSConnectionPool(
        host=address,
        port=target.port,
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
        retries=False,
        maxsize=1,
        block=False,
        server_hostname=target.host,
        assert_hostname=target.host,
        ssl_context=context,
    )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=sent,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
            release_conn=False,
        )
        try:
            data = response.read(MAX_BODY + 1, decode_content=False)
        finally:
            response.close()
    except urllib3.exceptions.SSLError as exc:
        raise GuardError(f"{shown}: the TLS connection failed: {_words(exc)}") from None
    except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError):
        raise GuardError(f"{shown}: no answer in time") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise GuardError(f"{shown}: cannot connect to {address}: {_words(exc)}") from None
    finally:
        pool.close()
    location = ""
    if 300 <= response.status < 400:
        location = _shown(str(response.headers.get("Location", "")))
    return GuardedAnswer(
        url=target.url,
        address=address,
        status=response.status,
        reason=str(response.reason or ""),
        location=location,
        body=data[:MAX_BODY],
        truncated=len(data) > MAX_BODY,
    )


def _context(ca_file: object) -> ssl.SSLContext:
    if isinstance(ca_file, str) and ca_file:
        return ssl.create_default_context(cafile=ca_file)
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - requests brings certifi
        return ssl.create_default_context()


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    inner = _embedded_ipv4(ip)
    return (inner or ip).is_loopback


def _shown(url: str) -> str:
    """``url`` fit for a one-line message (control characters out, at most 200 characters)."""
    text = "".join(c if c.isprintable() else "?" for c in url)
    return text if len(text) <= 200 else text[:197] + "..."


def _words(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc) or type(exc).__name__
    return " ".join(text.split())[:200]


__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_BODY",
    "READ_TIMEOUT",
    "GuardError",
    "GuardedAnswer",
    "Refused",
    "Resolver",
    "address_problem",
    "check_url",
    "guarded_post",
    "overrides_for_tests",
    "system_resolver",
]
