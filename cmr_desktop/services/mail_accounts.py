"""The customer's mail accounts (``services.mail_accounts``): where their IMAP and SMTP
servers are, kept as one JSON document in the settings table (key ``mail_accounts``), and
their passwords, kept only in the OS keyring (never in the database, a log or an export)."""

from __future__ import annotations

import dataclasses
import json
import re
import ssl
from typing import Any, get_args

from cmr_desktop.mail.accounts import Auth, MailAccount, Security
from cmr_desktop.mail.imap import ImapSource
from cmr_desktop.services.base import Context
from cmr_desktop.services.errors import InputError
from cmr_desktop.storage import UnitOfWork
from cmr_desktop.storage.models import SettingRow

__all__ = ["SETTINGS_KEY", "MailAccountService"]

#: The settings document holding every account (a JSON list, in the order they were added).
SETTINGS_KEY = "mail_accounts"
#: The account's secret field in the keyring (user name ``mail:<id>/password``).
PASSWORD_FIELD = "password"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}\Z")
_FIELDS = {f.name for f in dataclasses.fields(MailAccount)}


def _to_json(account: MailAccount) -> dict[str, Any]:
    data = dataclasses.asdict(account)
    data["folders"] = list(account.folders)
    return data


def _from_json(data: Any) -> MailAccount | None:
    """An account from its stored document (None for one this build cannot read)."""
    if not isinstance(data, dict):
        return None
    try:
        values = {k: v for k, v in data.items() if k in _FIELDS}
        values["folders"] = tuple(str(f) for f in values.get("folders", ()))
        return MailAccount(**values)
    except (TypeError, ValueError):
        return None


# The settings repository offers only the My Terms document so far; these two read and
# write another settings document in the same unit of work (see the report: a
# SettingsRepository.document(key) / set_document(key, value) pair would replace them).
def _load(uow: UnitOfWork) -> list[MailAccount]:
    row = uow.settings.session.get(SettingRow, SETTINGS_KEY)
    if row is None:
        return []
    try:
        stored = json.loads(row.value)
    except ValueError:
        return []
    accounts = [_from_json(item) for item in stored] if isinstance(stored, list) else []
    return [a for a in accounts if a is not None]


def _save(uow: UnitOfWork, accounts: list[MailAccount]) -> None:
    value = json.dumps([_to_json(a) for a in accounts], ensure_ascii=False, sort_keys=True)
    row = uow.settings.session.get(SettingRow, SETTINGS_KEY)
    if row is None:
        uow.settings.session.add(SettingRow(key=SETTINGS_KEY, value=value))
    else:
        row.value = value
    uow.settings.session.flush()


def _problem(account: MailAccount) -> str | None:
    """What is wrong with an account to be added, in words (None when nothing)."""
    if not _ID.match(account.id):
        return (
            f"mail account id {account.id!r} must be lower-case letters, digits, '.', '-' "
            "or '_' (at most 63)"
        )
    if not account.username.strip():
        return f"mail account {account.id!r} needs a user name"
    if "@" not in account.address:
        return f"mail account {account.id!r}: {account.address!r} is not an e-mail address"
    for what, host, port, security in (
        ("IMAP", account.imap_host, account.imap_port, account.imap_security),
        ("SMTP", account.smtp_host, account.smtp_port, account.smtp_security),
    ):
        if what == "IMAP" and not host.strip():
            return f"mail account {account.id!r} needs an IMAP server"
        if host and not 0 < port < 65536:
            return f"mail account {account.id!r}: {what} port {port} is not a port number"
        if security not in get_args(Security):
            return (
                f"mail account {account.id!r}: {what} security must be 'tls' or 'starttls' "
                f"(never unencrypted), not {security!r}"
            )
    if account.auth not in get_args(Auth):
        return f"mail account {account.id!r}: sign-in method {account.auth!r} is not supported"
    return None


class MailAccountService:
    """Adds, lists and removes mail accounts; signs in to check one; makes its
    :class:`~cmr_desktop.mail.imap.ImapSource`.

    Args:
        ctx: the shared plumbing (the home's database, the keyring).
        ssl_context: verifies the mail servers' certificates (default: the system's CAs;
            tests pass their own CA's).
    """

    def __init__(self, ctx: Context, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ctx = ctx
        self._ssl_context = ssl_context

    def add(self, account: MailAccount, password: str) -> None:
        """Keep ``account``, its password in the keyring (both, or neither).

        Raises:
            InputError: the account is incomplete, or one with its id exists.
            SecretsUnavailable: no keyring can keep the password.
        """
        problem = _problem(account)
        if problem:
            raise InputError(problem)
        if not password:
            raise InputError(f"mail account {account.id!r} needs a password (or app password)")
        with self._ctx.store.read() as uow:
            if any(a.id == account.id for a in _load(uow)):
                raise InputError(f"a mail account {account.id!r} exists already")
        self._ctx.secrets.set(account.secret_key, PASSWORD_FIELD, password)
        try:
            with self._ctx.store.write() as uow:
                accounts = _load(uow)
                if any(a.id == account.id for a in accounts):
                    raise InputError(f"a mail account {account.id!r} exists already")
                _save(uow, [*accounts, account])
        except BaseException:
            self._ctx.secrets.delete(account.secret_key, PASSWORD_FIELD)
            raise

    def list(self) -> list[MailAccount]:
        """Every account, in the order they were added."""
        with self._ctx.store.read() as uow:
            return _load(uow)

    def get(self, id: str) -> MailAccount:
        """The account ``id``.

        Raises:
            InputError: there is no such account.
        """
        accounts = self.list()
        for account in accounts:
            if account.id == id:
                return account
        known = ", ".join(a.id for a in accounts) or "none yet"
        raise InputError(f"unknown mail account {id!r} (known: {known})")

    def remove(self, id: str) -> None:
        """Forget the account ``id`` and its password.

        Raises:
            InputError: there is no such account.
        """
        with self._ctx.store.write() as uow:
            accounts = _load(uow)
            if not any(a.id == id for a in accounts):
                known = ", ".join(a.id for a in accounts) or "none yet"
                raise InputError(f"unknown mail account {id!r} (known: {known})")
            _save(uow, [a for a in accounts if a.id != id])
        self._ctx.secrets.delete(MailAccount(id, "", "", "").secret_key, PASSWORD_FIELD)

    def password(self, id: str) -> str:
        """The account's password, from the keyring.

        Raises:
            InputError: no such account, or the keyring has no password for it.
            SecretsUnavailable: no keyring is available.
        """
        account = self.get(id)
        value = self._ctx.secrets.get(account.secret_key, PASSWORD_FIELD)
        if not value:
            raise InputError(
                f"the keyring has no password for mail account {id!r}: remove the account "
                "and add it again"
            )
        return value

    def source(self, id: str) -> ImapSource:
        """The account ``id`` as a mail source (signs in when a scan starts)."""
        return ImapSource(self.get(id), self.password(id), ssl_context=self._ssl_context)

    def check(self, account: MailAccount, password: str) -> str:
        """Sign in to ``account`` (not yet added, say) and list its folders.

        Returns:
            "Signed in; 3 folders".

        Raises:
            InputError: the account is incomplete.
            MailError: the sign-in failed (its one-line message says why).
        """
        problem = _problem(account)
        if problem:
            raise InputError(problem)
        folders = ImapSource(account, password, ssl_context=self._ssl_context).folders()
        return f"Signed in; {len(folders)} folder{'' if len(folders) == 1 else 's'}"
