"""A mail account: where its IMAP and SMTP servers are and how to sign in.

The password (or app password) is never here: it is in the OS keyring through
:mod:`cmr_desktop.secrets`, under :attr:`MailAccount.secret_key`. ``auth`` names how to sign
in; only ``"password"`` exists today. OAuth2 (Gmail, Outlook.com) is added as another value
and another :class:`~cmr_desktop.mail.imap.Login` without changing callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``tls``: TLS from the first byte (IMAPS 993, SMTPS 465); ``starttls``: plain, then
#: STARTTLS before anything else (IMAP 143, submission 587). Nothing unencrypted exists.
Security = Literal["tls", "starttls"]
Auth = Literal["password"]


@dataclass(frozen=True, slots=True)
class MailAccount:
    """One of the customer's mail accounts.

    Attributes:
        id: a stable slug ("me-example-org"), the keyring entry's name.
        address: the customer's address ("me@example.org"), the From of a mailto unsubscribe.
        username: the sign-in name (often the address).
        imap_host, imap_port, imap_security: the IMAP server.
        smtp_host, smtp_port, smtp_security: the SMTP submission server ("" if none).
        auth: how to sign in.
        folders: the folders to scan (empty: the server's choice: All Mail on Gmail, else
            INBOX and the junk folder).
    """

    id: str
    address: str
    username: str
    imap_host: str
    imap_port: int = 993
    imap_security: Security = "tls"
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_security: Security = "tls"
    auth: Auth = "password"
    folders: tuple[str, ...] = ()

    @property
    def secret_key(self) -> str:
        """The keyring entry holding this account's password."""
        return f"mail:{self.id}"
