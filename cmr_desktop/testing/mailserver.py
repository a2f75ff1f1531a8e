"""Real IMAP servers on loopback for tests and benchmarks: pymap and Dovecot.

Both get a certificate from a throw-away ``trustme`` CA (:class:`TlsFiles`; clients trust it
through :meth:`TlsFiles.client_context`) and serve the same users:

- :class:`PymapServer` runs pymap (pure Python, its in-memory ``dict`` backend) in a child
  process started by this module's ``__main__``: one process listens on four ports that
  share one set of mailboxes: implicit TLS, STARTTLS, plain text only (no STARTTLS: the
  server a client must refuse), and one that answers every sign-in with
  "Basic authentication is disabled" (as Outlook.com does). It prints one line with the
  ports once they listen; the launcher waits for that line.
- :class:`DovecotServer` runs the Debian package's ``dovecot`` in the foreground, without
  systemd, from a minimal generated configuration: passwd-file users, Maildir under a
  temporary folder, 127.0.0.1 on free ports (implicit TLS and STARTTLS), the trustme
  certificate, the current user (as root, which Dovecot refuses for mail and login
  processes: ``nobody`` and ``dovenull``), logging to a file. It waits until the ports
  accept connections.

Messages are put in with ``APPEND`` (``MULTIAPPEND`` in batches) through an ordinary
signed-in client, as a mail program would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import grp
import os
import pwd
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmr_desktop.mail.accounts import MailAccount, Security

__all__ = [
    "PASSWORD",
    "USER",
    "DovecotServer",
    "ImapServer",
    "PymapServer",
    "TlsFiles",
    "dovecot_binary",
    "sample_message",
    "sample_messages",
]

USER = "me@example.org"
PASSWORD = "correct horse battery staple"
READY = "cmr-mailserver ready"
HOST = "127.0.0.1"
START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> TlsFiles:
        import trustme

        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        issued = ca.issue_cert(HOST, "localhost")
        files = cls(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
        ca.cert_pem.write_to_path(str(files.ca))
        issued.private_key_pem.write_to_path(str(files.key))
        # The whole chain, leaf first.
        files.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        return files

    def client_context(self) -> ssl.SSLContext:
        """What a client passes to trust this CA (and only it)."""
        return ssl.create_default_context(cafile=str(self.ca))


# --- a small generated mailbox ------------------------------------------------------------

_BRANDS = (
    ("news@shop.example", "Shop", "news.shop.example"),
    ("deals@travel.example", "Travel Deals", "deals.travel.example"),
    ("hello@bank.example", "Bank", ""),
    ("letters@paper.example", "The Paper", "daily.paper.example"),
)


def sample_message(i: int, *, sender: int | None = None, message_id: str = "") -> bytes:
    """One realistic marketing message (headers a brand sends, a short body)."""
    address, name, list_id = _BRANDS[i % len(_BRANDS) if sender is None else sender]
    domain = address.split("@", 1)[1]
    date = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=17 * i)
    mid = message_id or f"m{i}.{random.Random(i).randrange(10**9)}@{domain}"
    lines = [
        f"Return-Path: <bounce@{domain}>",
        "Received: from mx.example (mx.example [192.0.2.1]) by mail.example.org; "
        + date.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        f"Authentication-Results: mail.example.org; dkim=pass header.d={domain}",
        f"DKIM-Signature: v=1; a=rsa-sha256; d={domain}; s=s1; h=from:date; bh=abc=; b=def=",
        f"From: {name} <{address}>",
        "To: me@example.org",
        f"Subject: Offer number {i}",
        "Date: " + date.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        f"Message-ID: <{mid}>",
    ]
    if list_id:
        lines += [
            f"List-Id: {name} <{list_id}>",
            f"List-Unsubscribe: <https://{domain}/u/{i}>, <mailto:unsub@{domain}?subject=u{i}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", ""]
    body = f"Hello,\r\n\r\nThis is offer {i}. " + "Lorem ipsum dolor sit amet. " * 20 + "\r\n"
    return ("\r\n".join(lines) + "\r\n").encode() + body.encode()


def sample_messages(n: int, start: int = 0) -> list[bytes]:
    return [sample_message(i) for i in range(start, start + n)]


# --- the common handle ----------------------------------------------------------------------


@dataclass
class ImapServer:
    """A running IMAP server: its ports, and a few things tests do through a mail client."""

    name: str
    tls: TlsFiles
    tls_port: int
    starttls_port: int
    #: Ports of servers that must be refused: no encryption at all / no password sign-in.
    plain_port: int | None = None
    no_basic_port: int | None = None
    users: dict[str, str] = field(default_factory=lambda: {USER: PASSWORD})

    def account(
        self,
        security: Security = "tls",
        *,
        user: str = USER,
        folders: Sequence[str] = (),
        port: int | None = None,
        host: str = HOST,
    ) -> MailAccount:
        default = self.tls_port if security == "tls" else self.starttls_port
        return MailAccount(
            id=user.replace("@", "-").replace(".", "-"),
            address=user,
            username=user,
            imap_host=host,
            imap_port=port or default,
            imap_security=security,
            folders=tuple(folders),
        )

    def password(self, user: str = USER) -> str:
        return self.users[user]

    @contextlib.contextmanager
    def client(self, user: str = USER) -> Iterator[Any]:
        """A signed-in IMAPClient over TLS (for putting mail in, reading flags)."""
        from imapclient import IMAPClient

        client = IMAPClient(
            HOST, self.tls_port, ssl=True, ssl_context=self.tls.client_context(), timeout=30
        )
        try:
            client.login(user, self.users[user])
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(
        self, folder: str, messages: Iterable[bytes], *, user: str = USER, batch: int = 500
    ) -> None:
        """Put ``messages`` into ``folder`` (created if missing), in order."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            pending: list[bytes] = []
            for message in messages:
                pending.append(message)
                if len(pending) >= batch:
                    client.multiappend(folder, pending)
                    pending = []
            if pending:
                client.multiappend(folder, pending)

    def recreate(self, folder: str, messages: Iterable[bytes], *, user: str = USER) -> None:
        """Delete ``folder`` and make it again with ``messages``: a new UIDVALIDITY."""
        with self.client(user) as client:
            if client.folder_exists(folder):
                client.delete_folder(folder)
        self.append(folder, messages, user=user)

    def uidvalidity(self, folder: str, *, user: str = USER) -> int:
        with self.client(user) as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def flags(self, folder: str, *, user: str = USER) -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of every message in ``folder`` (read-only)."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return {
                uid: tuple(item[b"FLAGS"]) for uid, item in client.fetch(uids, [b"FLAGS"]).items()
            }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --- pymap ----------------------------------------------------------------------------------


class PymapServer:
    """pymap in a child process (see the module's docstring). Use as a context manager."""

    def __init__(self, directory: Path, users: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.users = dict(users if users is not None else {USER: PASSWORD})
        self._proc: subprocess.Popen[str] | None = None
        self.server: ImapServer | None = None

    def start(self) -> ImapServer:
        tls = TlsFiles.make(self.directory / "tls")
        users_file = self.directory / "users"
        users_file.write_text("".join(f"{u}\t{p}\n" for u, p in self.users.items()))
        env = {**os.environ, "FQDN": "localhost", "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "cmr_desktop.testing.mailserver", "--cert", str(tls.cert),
             "--key", str(tls.key), "--users", str(users_file)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        ports = _wait_for_line(self._proc, READY)
        self.server = ImapServer(
            "pymap", tls, ports["tls"], ports["starttls"], ports["plain"], ports["nobasic"],
            dict(self.users),
        )  # fmt: skip
        return self.server

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()

    def __enter__(self) -> ImapServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_for_line(proc: subprocess.Popen[str], marker: str) -> dict[str, int]:
    """Read the child's output until its ready line; fail with what it said otherwise."""
    assert proc.stdout is not None
    said: list[str] = []
    found: dict[str, int] = {}
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(marker):
                found.update(
                    {k: int(v) for k, v in (p.split("=") for p in line.split()[2:])}
                )  # fmt: skip
                done.set()
                return
            said.append(line)
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not done.wait(START_TIMEOUT) or not found:
        proc.kill()
        proc.wait()
        raise RuntimeError("the test mail server did not start:\n" + "".join(said[-30:]))
    return found


def _pymap_main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m cmr_desktop.testing.mailserver")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--users", required=True, help="a file of user<TAB>password lines")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_pymap_serve(args))


async def _pymap_serve(cli: argparse.Namespace) -> None:
    from proxyprotocol.reader import ProxyProtocolReader
    from pymap.backend.dict import Config, Identity, Login
    from pymap.exceptions import InvalidAuth
    from pymap.imap import IMAPServer
    from pymap.user import Passwords, UserMetadata
    from pysasl.hashing import Cleartext

    users = [
        tuple(line.split("\t", 1))
        for line in Path(cli.users).read_text().splitlines()
        if line
    ]  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cli.cert, cli.key)

    def namespace(tls_enabled: bool) -> argparse.Namespace:
        return argparse.Namespace(
            host=HOST, port=0, debug=False, cert=None, key=None, tls=tls_enabled,
            passlib_cfg=None,
            proxy_protocol=None, inherited_sockets=None, demo_data=False,
            demo_user=users[0][0], demo_password=users[0][1],
        )  # fmt: skip

    def config(tls_enabled: bool) -> Config:
        return Config.from_args(
            namespace(tls_enabled), ssl_context=server_ctx, invalid_user_sleep=0,
            hash_context=Cleartext(),  # a test server: no key stretching at every sign-in
            reject_dnsbl=False, bad_command_limit=None,
        )  # fmt: skip

    class NoBasicLogin(Login):
        async def authenticate(self, credentials: Any) -> Identity:
            raise InvalidAuth("Basic authentication is disabled.")

    # STARTTLS (the one holding the users and mailboxes); the others share them.
    main = config(True)
    main.apply_context()
    login = Login(main)
    for name, password in users:
        hashed = await Passwords(main).hash_password(password)
        await Identity(name, login, None, frozenset()).set(
            UserMetadata(main, name, password=hashed)
        )

    def sharing(cfg: Config, cls: type[Login] = Login) -> Login:
        cfg.set_cache = main.set_cache
        other = cls(cfg)
        other.users_dict = login.users_dict
        return other

    listeners: dict[str, tuple[Login, Config, ssl.SSLContext | None]] = {
        "tls": (sharing(config(False)), main, server_ctx),
        "starttls": (login, main, None),
        "plain": (sharing(config(False)), main, None),
        "nobasic": (sharing(config(False), NoBasicLogin), main, server_ctx),
    }
    ports: dict[str, int] = {}
    servers = []
    for name, (who, _cfg, tls_ctx) in listeners.items():
        handler = ProxyProtocolReader(who.config.proxy_protocol).get_callback(
            IMAPServer(who, who.config)
        )
        server = await asyncio.start_server(handler, host=HOST, port=0, ssl=tls_ctx)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(READY, " ".join(f"{k}={v}" for k, v in ports.items()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


# --- Dovecot --------------------------------------------------------------------------------


def dovecot_binary() -> str | None:
    """The ``dovecot`` program (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


_DOVECOT_CONF = """\
# Generated by cmr_desktop.testing.mailserver for one test run.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = cmr-test-{tls_port}
protocols = imap
listen = {host}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
last_valid_uid = 0
auth_mechanisms = plain login
auth_failure_delay = 0
imap_capability = {capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
{extra_mailboxes}}}
service imap-login {{
{login_chroot}  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
# No growing delay for sign-ins after the wrong-password tests (Dovecot's auth penalty).
service anvil {{
{anvil_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{service_overrides}
"""


class DovecotServer:
    """Dovecot in the foreground from a generated configuration (see the module's
    docstring). Use as a context manager.

    Args:
        gmail: also make "[Gmail]/All Mail" and say X-GM-EXT-1, as Gmail does (to test the
            folder choice): ``"flagged"`` with the ``\\All`` special-use flag, ``"named"``
            without it (only its name tells).
    """

    def __init__(self, users: dict[str, str] | None = None, *, gmail: str = "") -> None:
        self.users = dict(users or {USER: PASSWORD})
        self.gmail = gmail
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.server: ImapServer | None = None

    def start(self) -> ImapServer:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
        # Its own folder, reachable by the mail user when that is not us (root's pytest
        # folders are private), and short (Unix socket paths have a small limit).
        root = Path(tempfile.mkdtemp(prefix="cmr-dovecot-"))
        self.root = root
        root.chmod(0o711)
        tls = TlsFiles.make(root / "tls")
        (root / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items())
        )
        (root / "passwd").chmod(0o600)
        (root / "mail").mkdir()
        as_root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid())
        if as_root:  # Dovecot refuses root for its login and mail processes.
            mail = pwd.getpwnam("nobody")
            mail_uid, mail_gid = mail.pw_uid, mail.pw_gid
            os.chown(root / "mail", mail_uid, mail_gid)
            internal, login_user = (
                _first_user("dovecot", "nobody"),
                _first_user("dovenull", "nobody"),
            )
            internal_group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
            login_chroot = anvil_chroot = ""
            overrides = "service auth {\n  user = root\n}\n"
        else:
            mail_uid, mail_gid = me.pw_uid, me.pw_gid
            internal = login_user = me.pw_name
            internal_group = grp.getgrgid(me.pw_gid).gr_name
            login_chroot = anvil_chroot = "  chroot =\n"
            overrides = ""
        extra = ""
        capability = "+ID"
        if self.gmail:
            flag = "    special_use = \\All\n" if self.gmail == "flagged" else ""
            extra = f'  mailbox "[Gmail]/All Mail" {{\n{flag}    auto = create\n  }}\n'
            capability = "+X-GM-EXT-1"
        settings = {
            "root": root, "host": HOST, "cert": tls.cert, "key": tls.key,
            "internal_user": internal, "internal_group": internal_group, "login_user": login_user,
            "mail_uid": mail_uid, "mail_gid": mail_gid, "login_chroot": login_chroot,
            "service_overrides": overrides, "anvil_chroot": anvil_chroot,
            "extra_mailboxes": extra, "capability": capability,
        }  # fmt: skip
        for attempt in range(3):
            # Free ports, unless someone else takes one before Dovecot binds it: then again.
            tls_port, starttls_port = _free_port(), _free_port()
            conf = root / "dovecot.conf"
            conf.write_text(
                _DOVECOT_CONF.format(tls_port=tls_port, starttls_port=starttls_port, **settings)
            )
            self._proc = subprocess.Popen(
                [binary, "-F", "-c", str(conf)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            self.server = ImapServer(
                "dovecot", tls, tls_port, starttls_port, users=dict(self.users)
            )
            try:
                self._wait_listening((tls_port, starttls_port))
                break
            except RuntimeError as exc:
                self._kill()
                if "Address already in use" not in str(exc) or attempt == 2:
                    self.stop()
                    raise
            except BaseException:
                self.stop()
                raise
        assert self.server is not None
        return self.server

    def log(self) -> str:
        if self.root is None or not (self.root / "dovecot.log").exists():
            return ""
        return (self.root / "dovecot.log").read_text(errors="replace")

    def _wait_listening(self, ports: Sequence[int]) -> None:
        """Until every port accepts a connection (or Dovecot exits, or 30 s pass)."""
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(ports)
        waiter = threading.Event()
        while pending:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RuntimeError(f"dovecot exited at start:\n{err}\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not listen within 30 s:\n{self.log()[-3000:]}")
            try:
                with socket.create_connection((HOST, pending[0]), timeout=1):
                    pending.pop(0)
            except OSError:
                waiter.wait(0.02)  # the port is not bound yet: try again at once, briefly

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()

    def stop(self) -> None:
        self._kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> ImapServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _first_user(*names: str) -> str:
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    return names[-1]


if __name__ == "__main__":
    _pymap_main(sys.argv[1:])
