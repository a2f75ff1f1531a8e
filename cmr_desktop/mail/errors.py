"""What goes wrong when reading or sending mail: one line for the customer, never a traceback.

Every mail source and the SMTP sender raise these; the services, the CLI and the window catch
:class:`MailError` and show ``str(exc)``.
"""

from __future__ import annotations

__all__ = [
    "MailAuthError",
    "MailConnectionError",
    "MailError",
    "MailTlsError",
    "OAuth2Required",
]


class MailError(Exception):
    """A mail problem, with a one-line message saying what is wrong and where."""

    def __init__(self, message: str) -> None:
        # One line, whatever a server put in its answer.
        super().__init__(" ".join(str(message).split()))


class MailAuthError(MailError):
    """The server refused the sign-in (wrong user name or password, say)."""


class OAuth2Required(MailAuthError):
    """The server refuses passwords ("Basic authentication is disabled"): only an OAuth2
    sign-in would work, which CMR Desktop does not offer yet."""


class MailConnectionError(MailError):
    """The server could not be reached, or the connection broke."""


class MailTlsError(MailError):
    """No encrypted connection could be made (the server offers no TLS or STARTTLS, or its
    certificate cannot be verified): CMR Desktop never signs in unencrypted."""
