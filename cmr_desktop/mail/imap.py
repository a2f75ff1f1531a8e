"""An IMAP account as a mail source: headers only, read-only, incremental.

The connection is always encrypted: TLS from the first byte (993) or STARTTLS before anything
else (143); a server that offers neither is refused before any password is sent. Folders are
opened with ``EXAMINE`` (read-only) and only the header fields in
:data:`~cmr_desktop.mail.headers.WANTED_FIELDS` are fetched with ``BODY.PEEK`` in chunks of a
few hundred UIDs, so a scan never marks mail as read and never downloads a body.

A scan resumes per folder from ``{"uidvalidity": n, "last_uid": n}``: only UIDs above
``last_uid`` are read, and a folder whose UIDVALIDITY changed (the server renumbered it) is
read again from the start.

How to sign in is a :class:`Login`: :class:`PasswordLogin` today; an OAuth2 (XOAUTH2) login
is another class with the same ``sign_in`` and needs no change in the callers.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from cmr_desktop.mail.accounts import MailAccount
from cmr_desktop.mail.errors import (
    MailAuthError,
    MailConnectionError,
    MailError,
    MailTlsError,
    OAuth2Required,
)
from cmr_desktop.mail.headers import WANTED_FIELDS, MailHeaders, Skipped
from cmr_desktop.mail.parse import parse_headers

__all__ = [
    "CHUNK_SIZE",
    "FETCH_ITEM",
    "ImapScanRun",
    "ImapSource",
    "Login",
    "PasswordLogin",
    "choose_folders",
    "connect",
    "login_for",
]

#: What is fetched per message: the wanted header fields, without setting \Seen.
FETCH_ITEM = b"BODY.PEEK[HEADER.FIELDS (" + " ".join(WANTED_FIELDS).upper().encode() + b")]"
#: UIDs per ``UID FETCH`` (bench/bench_imap.py measured the choice).
CHUNK_SIZE = 500
#: Seconds to wait for the server to connect or answer.
TIMEOUT = 30.0

# Servers that refuse passwords say so in words like these (Outlook.com / Microsoft 365:
# "BasicAuthBlocked", "Basic authentication is disabled"; others name OAuth).
_OAUTH_HINTS = ("basic auth", "basicauthblocked", "oauth")
# Gmail without an app password: "[ALERT] Application-specific password required".
_APP_PASSWORD_HINTS = ("application-specific password", "app password")
# Names of the junk folder on servers that do not flag it \Junk (IMAPClient's list too).
_JUNK_NAMES = ("junk", "spam", "junk e-mail", "junk email", "bulk mail", "inbox.junk", "inbox.spam")
_GMAIL_ALL_NAMES = ("[gmail]/all mail", "[google mail]/all mail")


class Login(Protocol):
    """A way of signing in on a connected, encrypted IMAP connection."""

    def sign_in(self, client: IMAPClient, where: str) -> None:
        """Sign in, or raise :class:`MailAuthError` (:class:`OAuth2Required`) with one line
        naming ``where`` (the server)."""
        ...


@dataclass(frozen=True, slots=True)
class PasswordLogin:
    """``LOGIN`` with a user name and a password (or an app password)."""

    username: str
    password: str

    def __repr__(self) -> str:  # never the password, whatever prints this object
        return f"PasswordLogin(username={self.username!r})"

    def sign_in(self, client: IMAPClient, where: str) -> None:
        capabilities = {c.upper() for c in _capabilities(client)}
        if b"LOGINDISABLED" in capabilities:
            oauth = {b"AUTH=XOAUTH2", b"AUTH=OAUTHBEARER"} & capabilities
            if oauth:
                raise OAuth2Required(_oauth_message(where))
            raise MailAuthError(f"{where} does not accept a password sign-in (LOGINDISABLED)")
        try:
            client.login(self.username, self.password)
        except LoginError as exc:
            raise _refused(str(exc), self.username, where) from None
        except IMAPClientAbortError as exc:
            raise MailConnectionError(f"{where} closed the connection at sign-in: {exc}") from None
        except IMAPClientError as exc:  # a NO/BAD that IMAPClient did not call a LoginError
            raise _refused(str(exc), self.username, where) from None


def login_for(account: MailAccount, password: str) -> Login:
    """The :class:`Login` that ``account.auth`` names."""
    if account.auth == "password":
        if not password:
            raise MailAuthError(f"no password is known for {account.username}")
        return PasswordLogin(account.username, password)
    raise MailAuthError(f"sign-in method {account.auth!r} is not supported")  # pragma: no cover


def _oauth_message(where: str) -> str:
    return (
        f"{where} refuses passwords (basic authentication is disabled): it needs an OAuth2 "
        "sign-in, which CMR Desktop does not support yet"
    )


def _refused(text: str, username: str, where: str) -> MailAuthError:
    lowered = text.lower()
    if any(hint in lowered for hint in _OAUTH_HINTS):
        return OAuth2Required(_oauth_message(where))
    if any(hint in lowered for hint in _APP_PASSWORD_HINTS):
        return MailAuthError(
            f"{where} wants an app password for {username}: make one in the account's "
            "security settings and use it instead of the usual password"
        )
    reason = text.strip().strip("b'\"") or "no reason given"
    return MailAuthError(f"{where} refused the sign-in of {username}: {reason}")


def _capabilities(client: IMAPClient) -> tuple[bytes, ...]:
    caps: tuple[bytes, ...] = tuple(client.capabilities())
    return caps


def _where(account: MailAccount) -> str:
    return f"the IMAP server {account.imap_host}:{account.imap_port}"


def connect(
    account: MailAccount, *, ssl_context: ssl.SSLContext | None = None, timeout: float = TIMEOUT
) -> IMAPClient:
    """An encrypted, not yet signed-in connection to ``account``'s IMAP server.

    Raises:
        MailTlsError: no encrypted connection (no STARTTLS, a failed handshake, a
            certificate that cannot be verified).
        MailConnectionError: the server cannot be reached.
    """
    where = _where(account)
    context = ssl_context or ssl.create_default_context()
    client: IMAPClient | None = None
    try:
        if account.imap_security == "tls":
            client = IMAPClient(
                account.imap_host, account.imap_port, ssl=True, ssl_context=context,
                timeout=timeout,
            )  # fmt: skip
        else:
            client = IMAPClient(account.imap_host, account.imap_port, ssl=False, timeout=timeout)
            if not client.has_capability("STARTTLS"):
                raise MailTlsError(
                    f"{where} offers no STARTTLS, so the connection cannot be encrypted; "
                    "CMR Desktop never signs in unencrypted (try TLS on port 993)"
                )
            client.starttls(context)
        return client
    except MailError:
        _shutdown(client)
        raise
    except ssl.SSLCertVerificationError as exc:
        _shutdown(client)
        raise MailTlsError(
            f"the certificate of {where} cannot be verified: {exc.verify_message}"
        ) from None
    except ssl.SSLError as exc:
        _shutdown(client)
        raise MailTlsError(
            f"no TLS connection could be made with {where} ({exc.reason or exc}); "
            "check the port and the security setting"
        ) from None
    except TimeoutError:
        _shutdown(client)
        raise MailConnectionError(f"{where} did not answer within {timeout:g} s") from None
    except OSError as exc:
        _shutdown(client)
        raise MailConnectionError(f"cannot reach {where}: {exc.strerror or exc}") from None
    except IMAPClientError as exc:
        _shutdown(client)
        raise MailConnectionError(f"{where} answered unexpectedly: {exc}") from None


def _shutdown(client: IMAPClient | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            client.shutdown()


def choose_folders(client: IMAPClient, account: MailAccount) -> list[str]:
    """The folders to scan: ``account.folders``; else Gmail's All Mail alone (the ``\\All``
    special-use folder, or its usual name on a server that says X-GM-EXT-1); else INBOX and
    the junk folder (flagged ``\\Junk``, else by its usual name)."""
    if account.folders:
        return list(account.folders)
    listed: list[tuple[tuple[bytes, ...], str]] = [
        (tuple(f.lower() for f in flags), str(name))
        for flags, _delim, name in client.list_folders()
    ]
    selectable = [(flags, name) for flags, name in listed if b"\\noselect" not in flags]
    for flags, name in selectable:
        if b"\\all" in flags or b"\\allmail" in flags:
            return [name]
    if client.has_capability("X-GM-EXT-1"):
        for _flags, name in selectable:
            if name.lower() in _GMAIL_ALL_NAMES:
                return [name]
    folders = ["INBOX"]
    junk = [name for flags, name in selectable if b"\\junk" in flags or b"\\spam" in flags]
    if not junk:
        junk = [name for _flags, name in selectable if name.lower() in _JUNK_NAMES]
    folders.extend(name for name in junk[:1] if name.upper() != "INBOX")
    return folders


_UID = re.compile(rb"\bUID (\d+)")
_IMAPLIB_LOG = logging.getLogger("imapclient.imaplib")


def _fetch_headers(client: IMAPClient, uids: Sequence[int]) -> dict[int, bytes]:
    """UID -> header block of ``uids`` (ascending) in the selected folder; a UID missing
    from the answer was expunged.

    The answer is read through IMAPClient's imaplib connection and picked apart here:
    IMAPClient's general response parser walks every byte outside the literals token by
    token (the echoed field list of each message too), which was 60% of a scan's CPU
    (cProfile, bench/bench_imap.py). Whatever this does not recognise is fetched again
    through IMAPClient's own ``fetch``.
    """
    found: dict[int, bytes] = {}
    imap = getattr(client, "_imap", None)
    if imap is not None and hasattr(imap, "uid"):
        debug = imap.debug
        if not _IMAPLIB_LOG.isEnabledFor(logging.DEBUG):
            imap.debug = 0  # IMAPClient logs every line at DEBUG: skip the calls when unseen
        try:
            typ, data = imap.uid("FETCH", uid_ranges(uids), "(" + FETCH_ITEM.decode() + ")")
        finally:
            imap.debug = debug
        if typ != "OK":
            raise IMAPClientError(f"UID FETCH failed: {data!r}")
        for i, part in enumerate(data):
            if not (isinstance(part, tuple) and len(part) == 2):
                continue
            head, literal = part
            if b"BODY[HEADER" not in head.upper():
                continue
            match = _UID.search(head)
            if match is None and i + 1 < len(data) and isinstance(data[i + 1], bytes):
                match = _UID.search(data[i + 1])  # "... {n}<literal> UID 7)"
            if match is not None:
                found[int(match.group(1))] = literal
    missing = [uid for uid in uids if uid not in found]
    if missing:
        for uid, item in client.fetch(missing, [FETCH_ITEM]).items():
            raw = _header_block(item)
            if raw is not None:
                found[uid] = raw
    return found


def _uid_plan(client: IMAPClient, folder: str, since: int) -> list[int]:
    """The UIDs above ``since`` in the selected folder, ascending."""
    # "n:*" always matches the last message, even when its UID is below n: filter.
    found = client.search(["UID", f"{since + 1}:*"])
    return sorted(uid for uid in found if uid > since)


class ImapSource:
    """An IMAP account (see the module's docstring).

    Args:
        account: where the server is and which folders to read.
        password: the account's password or app password (from the keyring); not needed
            when ``login`` is given.
        ssl_context: verifies the server's certificate (default: the system's CAs).
        login: how to sign in (default: the one ``account.auth`` names).
        chunk_size: UIDs per ``UID FETCH``.
        timeout: seconds to wait for the server.
    """

    def __init__(
        self,
        account: MailAccount,
        password: str = "",
        *,
        ssl_context: ssl.SSLContext | None = None,
        login: Login | None = None,
        chunk_size: int = CHUNK_SIZE,
        timeout: float = TIMEOUT,
    ) -> None:
        self.account = account
        self._login = login or login_for(account, password)
        self._ssl_context = ssl_context
        self._chunk_size = max(1, chunk_size)
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"ImapSource({self.key!r})"

    @property
    def key(self) -> str:
        return f"imap:{self.account.username}@{self.account.imap_host}"

    def describe(self) -> str:
        return f"the IMAP account {self.account.username} on {self.account.imap_host}"

    def open(self) -> IMAPClient:
        """A signed-in connection (the caller logs out)."""
        client = connect(self.account, ssl_context=self._ssl_context, timeout=self._timeout)
        try:
            self._login.sign_in(client, _where(self.account))
        except BaseException:
            _shutdown(client)
            raise
        return client

    def folders(self) -> list[str]:
        """Sign in and list every folder's name (for a connection check)."""
        client = self.open()
        try:
            return [str(name) for _flags, _delim, name in _guard(client.list_folders, self)]
        finally:
            _logout(client)

    def scan(self, resume: Mapping[str, object] | None = None) -> ImapScanRun:
        """Sign in, choose the folders and find the new UIDs in each (so ``total`` is
        known); the headers are fetched while the run is iterated."""
        client = self.open()
        try:
            return ImapScanRun(self, client, resume or {}, self._chunk_size)
        except BaseException:
            _logout(client)
            raise


def _guard(fn: Any, source: ImapSource, *args: Any, **kwargs: Any) -> Any:
    """Call an IMAPClient method, turning its failures into one-line mail errors."""
    where = _where(source.account)
    try:
        return fn(*args, **kwargs)
    except IMAPClientAbortError as exc:
        raise MailConnectionError(f"{where} closed the connection: {exc}") from None
    except IMAPClientError as exc:
        raise MailError(f"{where} refused a request: {exc}") from None
    except TimeoutError:
        raise MailConnectionError(f"{where} stopped answering") from None
    except (OSError, EOFError) as exc:
        raise MailConnectionError(f"the connection to {where} broke: {exc}") from None


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        _shutdown(client)


def _examine(client: IMAPClient, folder: str, source: ImapSource) -> int:
    """Select ``folder`` read-only (EXAMINE); its UIDVALIDITY."""
    try:
        info = client.select_folder(folder, readonly=True)
    except IMAPClientAbortError as exc:
        raise MailConnectionError(
            f"{_where(source.account)} closed the connection: {exc}"
        ) from None
    except IMAPClientError:
        raise MailError(
            f"the folder {folder!r} cannot be opened on {_where(source.account)} (does it exist?)"
        ) from None
    return int(info.get(b"UIDVALIDITY", 0))


def _folder_resume(resume: Mapping[str, object]) -> dict[str, dict[str, int]]:
    """The per-folder part of a resume point, ignoring anything malformed."""
    folders = resume.get("folders", {})
    out: dict[str, dict[str, int]] = {}
    if isinstance(folders, Mapping):
        for name, state in folders.items():
            if isinstance(state, Mapping):
                uv, last = state.get("uidvalidity"), state.get("last_uid")
                if isinstance(uv, int) and isinstance(last, int):
                    out[str(name)] = {"uidvalidity": uv, "last_uid": last}
    return out


def _header_block(item: Mapping[bytes, Any]) -> bytes | None:
    """The header block of one FETCH answer: servers echo the field list differently
    (order, case, quoting), so match the key by its start."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.upper().startswith(b"BODY[HEADER"):
            return value if isinstance(value, bytes) else b""
    return None


class ImapScanRun:
    """One pass over an account's folders (made by :meth:`ImapSource.scan`)."""

    def __init__(
        self,
        source: ImapSource,
        client: IMAPClient,
        resume: Mapping[str, object],
        chunk_size: int,
    ) -> None:
        self._source = source
        self._client = client
        self._chunk = chunk_size
        self._closed = False
        account = source.account
        self._prefix = f"imap://{account.username}@{account.imap_host}/"
        self._state = _folder_resume(resume)
        self._plan: list[tuple[str, int, list[int]]] = []
        folders = _guard(choose_folders, source, client, account)
        for folder in folders:
            uidvalidity = _examine(client, folder, source)
            known = self._state.get(folder)
            since = known["last_uid"] if known and known["uidvalidity"] == uidvalidity else 0
            self._state[folder] = {"uidvalidity": uidvalidity, "last_uid": since}
            self._plan.append(
                (folder, uidvalidity, _guard(_uid_plan, source, client, folder, since))
            )
        self._dedupe = len(self._plan) > 1
        self.total: int | None = sum(len(uids) for _f, _v, uids in self._plan)

    @property
    def folders(self) -> list[str]:
        """The folders this run reads, in order."""
        return [folder for folder, _v, _u in self._plan]

    def __iter__(self) -> Iterator[MailHeaders | Skipped]:
        seen: set[str] = set()
        client, source = self._client, self._source
        for folder, uidvalidity, uids in self._plan:
            if not uids:
                continue
            if _examine(client, folder, source) != uidvalidity:
                # Renumbered since the plan was made: the next scan reads it afresh.
                self._state[folder] = {"uidvalidity": 0, "last_uid": 0}
                continue
            state = self._state[folder]
            where = self._prefix + folder + " uid "
            for start in range(0, len(uids), self._chunk):
                chunk = uids[start : start + self._chunk]
                answer = _guard(_fetch_headers, source, client, chunk)
                for uid in chunk:
                    raw = answer.get(uid)
                    state["last_uid"] = uid  # before the yield: covers what was handed out
                    if raw is None:
                        continue  # expunged since the search
                    parsed = parse_headers(raw, where + str(uid))
                    if self._dedupe and isinstance(parsed, MailHeaders) and parsed.message_id:
                        if parsed.message_id in seen:
                            continue
                        seen.add(parsed.message_id)
                    yield parsed

    def resume_point(self) -> dict[str, object]:
        return {"folders": {name: dict(state) for name, state in self._state.items()}}

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _logout(self._client)


def uid_ranges(uids: Sequence[int]) -> str:
    """``1:3,7,9:10`` for [1, 2, 3, 7, 9, 10] (ascending)."""
    parts: list[str] = []
    i = 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        parts.append(str(uids[i]) if i == j else f"{uids[i]}:{uids[j]}")
        i = j + 1
    return ",".join(parts)
