"""Sending one message through the customer's own SMTP account (a mailto unsubscribe).

TLS from the first byte (``tls``, port 465) or STARTTLS before anything else (``starttls``,
port 587); a server that does not offer STARTTLS is refused, never used in the clear. The
certificate is checked against the server's name. The message is sent as the exact bytes
given (:func:`cmr_desktop.mail.unsubscribe.message_text`), so what the customer confirmed is
what the server receives.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from cmr_desktop.mail.accounts import MailAccount

TIMEOUT = 30.0


class SmtpError(Exception):
    """Sending failed; one line naming the server and why (never the password)."""


def _context(ssl_context: ssl.SSLContext | None) -> ssl.SSLContext:
    context = ssl_context or ssl.create_default_context()
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise SmtpError("refused: certificate verification is off for the SMTP connection")
    return context


def send(
    account: MailAccount,
    password: str,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = TIMEOUT,
) -> str:
    """Send ``data`` (a whole message, CRLF line ends) from ``sender`` to ``recipients``.

    Args:
        account: the customer's account (its SMTP server, security and user name).
        password: its password (from the keyring).
        sender, recipients: the envelope.
        data: the message bytes, sent as they are.
        ssl_context: the TLS settings (default: the system's trusted certificates).
        timeout: seconds for the connection and each reply.

    Returns:
        The server's answer to the message ("250 2.0.0 Ok: queued as ...").

    Raises:
        SmtpError: no SMTP server, plain text asked for, STARTTLS not offered, TLS, sign-in
            or delivery refused, or the server could not be reached.
    """
    where = f"{account.smtp_host}:{account.smtp_port}"
    if not account.smtp_host:
        raise SmtpError(f"the account {account.id} has no SMTP server")
    if account.smtp_security not in ("tls", "starttls"):
        raise SmtpError(f"{where}: refused: only TLS or STARTTLS is used, never plain text")
    context = _context(ssl_context)
    client: smtplib.SMTP | None = None
    try:
        if account.smtp_security == "tls":
            client = smtplib.SMTP_SSL(
                account.smtp_host, account.smtp_port, timeout=timeout, context=context
            )
            client.ehlo()
        else:
            client = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=timeout)
            client.ehlo()
            if not client.has_extn("starttls"):
                raise SmtpError(f"{where}: refused: the server does not offer STARTTLS")
            client.starttls(context=context)
            client.ehlo()
        client.login(account.username, password)
        code, said = client.mail(sender)
        if code != 250:
            raise SmtpError(f"{where}: the sender {sender} was refused ({code} {_text(said)})")
        for to in recipients:
            code, said = client.rcpt(to)
            if code not in (250, 251):
                raise SmtpError(f"{where}: the recipient {to} was refused ({code} {_text(said)})")
        code, said = client.data(data)
        if code != 250:
            raise SmtpError(f"{where}: the message was refused ({code} {_text(said)})")
        return f"{code} {_text(said)}".strip()
    except SmtpError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpError(
            f"{where}: the user name or password was refused ({exc.smtp_code} "
            f"{_text(exc.smtp_error)})"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise SmtpError(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except ssl.SSLError as exc:
        raise SmtpError(f"{where}: the TLS connection failed: {exc.reason or exc}") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise SmtpError(
            f"{where}: cannot send: {' '.join(str(exc).split()) or type(exc).__name__}"
        ) from None
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _text(said: bytes | str) -> str:
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return " ".join(text.split())[:200]


__all__ = ["TIMEOUT", "SmtpError", "send"]
