"""Acting on "stop e-mailing me": the unsubscribe targets a brand's mail gave, and the two
requests the app itself can send.

- **One-click** (RFC 8058): a ``POST`` with the form body ``List-Unsubscribe=One-Click`` to
  the https URI of ``List-Unsubscribe``, allowed only when the mail that carried it passed
  DKIM for the sender's domain and carried ``List-Unsubscribe-Post`` (the discovery writes
  ``one_click_url`` only then, and ``dkim_verified``). Sent through :mod:`.netguard`. A 2xx
  is done; anything else is reported as it is: the app never claims a success it did not
  get.
- **mailto** (RFC 6068): :func:`parse_mailto` reads the address, subject and body;
  :func:`build_mailto` makes the message (``email.message.EmailMessage``) the customer's
  own account sends (:mod:`.smtp`).
- **web**: a page only the customer can use (the browser); nothing is sent from here.

The settings come from a brand's ``connector_config`` (strings): ``sender_domain``,
``one_click_url``, ``mailto``, ``web_url``, ``dkim_verified`` (``"yes"``/``"no"``),
``seen_at``.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import unquote

from cmr_desktop.mail import netguard

#: The only body an RFC 8058 one-click request carries.
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"

#: How a message is written for SMTP (CRLF line ends, lines folded at 78).
SMTP_POLICY = email.policy.SMTP


@dataclass(frozen=True, slots=True)
class Targets:
    """A brand's unsubscribe targets, from its connector settings.

    Attributes:
        sender_domain: the domain the brand's mail comes from.
        one_click_url: the https URI for RFC 8058 ("" if the mail offered none).
        mailto: a ``mailto:`` URI ("").
        web_url: a web page ("").
        dkim_verified: the mail that carried them passed DKIM for the sender's domain.
        seen_at: when that mail was seen (ISO-8601, "").
    """

    sender_domain: str = ""
    one_click_url: str = ""
    mailto: str = ""
    web_url: str = ""
    dkim_verified: bool = False
    seen_at: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> Targets:
        def get(key: str) -> str:
            return str(config.get(key) or "").strip()

        return cls(
            sender_domain=get("sender_domain"),
            one_click_url=get("one_click_url"),
            mailto=get("mailto"),
            web_url=get("web_url"),
            dkim_verified=get("dkim_verified").lower() == "yes",
            seen_at=get("seen_at"),
        )

    def one_click_problem(self) -> str:
        """Why the one-click request may not be sent ("" when it may)."""
        if not self.one_click_url:
            return "the brand's mail offers no one-click unsubscribe"
        if not self.dkim_verified:
            return (
                "the mail offering one-click unsubscribe did not pass DKIM for the sender's "
                "domain, so its link is not trusted"
            )
        if not self.one_click_url.lower().startswith("https://"):
            return "the one-click address is not https"
        return ""

    @property
    def preferred(self) -> str:
        """The best method available: "one-click", "mailto", "web" or "" (none)."""
        if not self.one_click_problem():
            return "one-click"
        if self.mailto:
            return "mailto"
        if self.web_url:
            return "web"
        return ""

    def what_to_do(self) -> str:
        """One line telling the customer how to unsubscribe by their own action."""
        if self.mailto:
            return f"send the unsubscribe e-mail to {mailto_address(self.mailto)}"
        if self.web_url:
            return f"open the unsubscribe page {netguard._shown(self.web_url)}"
        return "no unsubscribe link was found in the brand's mail: write to the brand"


@dataclass(frozen=True, slots=True)
class OneClickResult:
    """What a one-click request gave.

    Attributes:
        done: the sender answered 2xx (it accepted the unsubscribe).
        result: one line saying what happened (journaled and shown as it is).
        status: the HTTP status (None when nothing was answered).
        refused: the guard refused the address (nothing was sent; retrying cannot help).
    """

    done: bool
    result: str
    status: int | None = None
    refused: bool = False


def one_click(
    url: str,
    *,
    resolver: netguard.Resolver | None = None,
    ca_file: str | None = None,
) -> OneClickResult:
    """Send the RFC 8058 one-click request to ``url`` (never raises for what the server or
    the guard says: it is reported as the result).

    Call only on the customer's explicit action, and only with a target for which
    :meth:`Targets.one_click_problem` is "".
    """
    try:
        answer = netguard.guarded_post(
            url,
            ONE_CLICK_BODY,
            headers={"Content-Type": FORM},
            resolver=resolver,
            ca_file=ca_file,
        )
    except netguard.Refused as exc:
        return OneClickResult(False, str(exc), refused=True)
    except netguard.GuardError as exc:
        return OneClickResult(False, str(exc))
    said = f"HTTP {answer.status}" + (f" {answer.reason}" if answer.reason else "")
    if answer.ok:
        return OneClickResult(True, f"{said}: the sender accepted the unsubscribe", answer.status)
    if answer.location:
        return OneClickResult(
            False,
            f"{said}: a redirect to {answer.location}, not followed; not confirmed",
            answer.status,
        )
    return OneClickResult(False, f"{said}: not confirmed", answer.status)


# --- mailto (RFC 6068) ----------------------------------------------------------------------


class MailtoProblem(ValueError):
    """A mailto URI that cannot be used (one line)."""


@dataclass(frozen=True, slots=True)
class Mailto:
    """What a mailto URI asks for (only what an unsubscribe needs)."""

    to: tuple[str, ...]
    subject: str
    body: str


def _no_line_break(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise MailtoProblem(f"the mailto {name} holds a line break: refused")
    return value


def parse_mailto(uri: str) -> Mailto:
    """The recipients, subject and body of ``uri`` (RFC 6068).

    Other header fields it may carry (``cc``, ``bcc``, ``from`` ...) are ignored: the message
    goes to the brand's address only, from the customer's own. The subject and body default
    to "unsubscribe".

    Raises:
        MailtoProblem: not a mailto URI, no address, an address that is not one, or a line
            break in the address or subject (header injection).
    """
    text = uri.strip()
    if not text.lower().startswith("mailto:"):
        raise MailtoProblem(f"{netguard._shown(text)!r} is not a mailto address")
    rest = text[len("mailto:") :]
    path, _, query = rest.partition("?")
    to = [unquote(a).strip() for a in path.split(",") if a.strip()]
    subject = body = ""
    for pair in query.split("&") if query else ():
        name, _, value = pair.partition("=")
        key = unquote(name).strip().lower()
        if key == "to":
            to += [unquote(a).strip() for a in value.split(",") if a.strip()]
        elif key == "subject":
            subject = unquote(value)
        elif key == "body":
            body = unquote(value)
    if not to:
        raise MailtoProblem("the mailto address names no recipient")
    out = []
    for address in to:
        _no_line_break("address", address)
        name, spec = email.utils.parseaddr(address)
        if not spec or "@" not in spec or name or spec != address:
            raise MailtoProblem(f"{address!r} is not an e-mail address")
        out.append(spec)
    _no_line_break("subject", subject)
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return Mailto(tuple(out), subject.strip() or "unsubscribe", body or "unsubscribe")


def mailto_address(uri: str) -> str:
    """The first recipient of ``uri`` (or the URI itself, shortened, when unreadable)."""
    try:
        return parse_mailto(uri).to[0]
    except MailtoProblem:
        return netguard._shown(uri)


def build_mailto(
    uri: str,
    sender: str,
    *,
    date: dt.datetime,
    message_id: str | None = None,
) -> EmailMessage:
    """The unsubscribe message for ``uri``, from ``sender`` (the customer's address).

    Args:
        uri: the mailto URI from the brand's mail.
        sender: the From address (the customer's account).
        date: its Date.
        message_id: its Message-ID (default: a new one at the sender's domain).

    Raises:
        MailtoProblem: see :func:`parse_mailto`; or ``sender`` is not an address.
    """
    wanted = parse_mailto(uri)
    _no_line_break("sender", sender)
    try:
        local, domain = sender.rsplit("@", 1)
        from_address = Address(addr_spec=sender)
        to = [Address(addr_spec=a) for a in wanted.to]
    except (ValueError, IndexError) as exc:
        raise MailtoProblem(f"cannot write the message: {exc}") from None
    if not local or not domain:
        raise MailtoProblem(f"{sender!r} is not an e-mail address")
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = wanted.subject
    message["Date"] = email.utils.format_datetime(date.astimezone(dt.UTC))
    message["Message-ID"] = message_id or email.utils.make_msgid(domain=domain)
    message.set_content(wanted.body)
    return message


def message_text(message: EmailMessage) -> str:
    """The exact text that is sent (CRLF line ends, as on the wire)."""
    return message.as_bytes(policy=SMTP_POLICY).decode("utf-8", "surrogateescape")


__all__ = [
    "FORM",
    "ONE_CLICK_BODY",
    "Mailto",
    "MailtoProblem",
    "OneClickResult",
    "Targets",
    "build_mailto",
    "mailto_address",
    "message_text",
    "one_click",
    "parse_mailto",
]
