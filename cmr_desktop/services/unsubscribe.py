"""Unsubscribing from a brand's mail (``services.unsubscribe``), on the customer's action.

The methods act only when called, which the window and the CLI do only on the customer's
explicit action (a button, a confirmed dialog); nothing here runs from a scan or a read.
Every action is journaled as kind ``unsubscribe`` with ``{"method": "one-click" | "mailto" |
"web", "target", "result", "at"}`` (ISO-8601 UTC; a mailto entry adds the sent message's
``headers`` and ``text``); the discovery reads the newest one per brand for the deadline
(48 hours after one-click, 10 business days after the others).

When the customer's decision for the brand is "e-mail off" and the action is done (a 2xx
to one-click, the message accepted by their SMTP server, the page confirmed by them), the
brand's e-mail decision counts as carried out: it is no longer pending (like ``cmr brand
done``). The vendor's state is left as the vendor last reported it, except after a 2xx to
one-click, which is the sender's own answer (e-mail off).
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import email.utils
import ssl
from dataclasses import dataclass
from typing import Any, Protocol

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.mail import smtp
from cmr_desktop.mail.accounts import MailAccount
from cmr_desktop.mail.unsubscribe import (
    MailtoProblem,
    Targets,
    build_mailto,
    message_text,
    one_click,
)
from cmr_desktop.services.base import Context, resolve
from cmr_desktop.services.errors import ConnectionFailed, InputError
from cmr_desktop.storage import UnitOfWork

EMAIL_CONNECTOR = "email"


class MailAccounts(Protocol):
    """Where the customer's mail accounts are (``services.mail_accounts``)."""

    def get(self, id: str) -> MailAccount: ...

    def password(self, id: str) -> str: ...


@dataclass(frozen=True, slots=True)
class UnsubscribeOptions:
    """How a brand can be unsubscribed from.

    Attributes:
        one_click: the one-click URL, when it may be used ("" otherwise).
        mailto: the mailto URI ("").
        web: the unsubscribe page ("").
        preferred: "one-click", "mailto", "web" or "" (nothing found).
        one_click_problem: why one-click cannot be used ("" when it can, or none offered).
    """

    one_click: str
    mailto: str
    web: str
    preferred: str
    one_click_problem: str = ""


class UnsubscribeService:
    """Acting on "stop e-mailing me" (see the module docstring).

    Args:
        ctx: the shared plumbing.
        accounts: the customer's mail accounts (``services.mail_accounts``); without it, a
            mailto needs the account and its password given.
        smtp_ssl_context: the TLS settings for SMTP (default: the system's certificates).
    """

    def __init__(
        self,
        ctx: Context,
        accounts: MailAccounts | None = None,
        *,
        smtp_ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._ctx = ctx
        self.accounts = accounts
        self._smtp_ssl = smtp_ssl_context

    # --- reading ---------------------------------------------------------------------------

    def _targets(self, ref: str) -> tuple[Brand, Targets]:
        with self._ctx.store.read() as uow:
            brand = resolve(uow, ref)
        return brand, Targets.from_config(brand.connector_config)

    def options(self, ref: str) -> UnsubscribeOptions:
        """The unsubscribe methods the brand's mail offered."""
        _brand, t = self._targets(ref)
        problem = t.one_click_problem() if t.one_click_url else ""
        return UnsubscribeOptions(
            one_click=t.one_click_url if not problem and t.one_click_url else "",
            mailto=t.mailto,
            web=t.web_url,
            preferred=t.preferred,
            one_click_problem=problem,
        )

    # --- one-click --------------------------------------------------------------------------

    def one_click(self, ref: str) -> str:
        """Send the brand's RFC 8058 one-click unsubscribe now; the result, as it is.

        Raises:
            InputError: the brand's mail offers no usable one-click (the message says why
                and what to do instead).
            ConnectionFailed: it was sent (or refused by the guard) and not confirmed: the
                message is the result (journaled too).
        """
        brand, t = self._targets(ref)
        problem = t.one_click_problem()
        if problem:
            raise InputError(f"{brand.name}: {problem}; {t.what_to_do()}")
        at = self._ctx.now()
        outcome = one_click(t.one_click_url)
        detail = _entry("one-click", t.one_click_url, outcome.result, at)
        with self._ctx.store.write() as uow:
            uow.journal.append(at=at, brand=brand.slug, kind="unsubscribe", detail=detail)
            if outcome.done:
                stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                _carried_out(
                    uow,
                    brand.slug,
                    at,
                    "one-click unsubscribe accepted by the sender",
                    vendor=PreferenceSet(channels={Channel.EMAIL: False}),
                    version=f"one-click:{stamp}",
                )
        if not outcome.done:
            raise ConnectionFailed(f"{brand.name}: one-click unsubscribe: {outcome.result}")
        return outcome.result

    # --- mailto -----------------------------------------------------------------------------

    def _account(self, account: MailAccount | str) -> MailAccount:
        if isinstance(account, MailAccount):
            return account
        if self.accounts is None:
            raise InputError(f"no mail account {account!r} is known here")
        return self.accounts.get(account)

    def _message(
        self, ref: str, account: MailAccount | str, date: dt.datetime, message_id: str | None
    ) -> tuple[Brand, Targets, MailAccount, Any]:
        brand, t = self._targets(ref)
        if not t.mailto:
            raise InputError(f"{brand.name}: its mail offers no unsubscribe e-mail address")
        found = self._account(account)
        try:
            message = build_mailto(t.mailto, found.address, date=date, message_id=message_id)
        except MailtoProblem as exc:
            raise InputError(f"{brand.name}: {exc}") from None
        return brand, t, found, message

    def preview_mailto(self, ref: str, account: MailAccount | str) -> str:
        """The exact message that :meth:`send_mailto` sends from ``account`` (its text, as
        on the wire); show it to the customer and pass it back as ``confirmed``."""
        return message_text(self._message(ref, account, self._ctx.now(), None)[3])

    def send_mailto(
        self,
        ref: str,
        account: MailAccount | str,
        *,
        confirmed: str | None = None,
        password: str | None = None,
    ) -> str:
        """Send the brand's mailto unsubscribe through the customer's own SMTP account.

        Args:
            ref: the brand.
            account: the account (or its id in ``services.mail_accounts``).
            confirmed: the text :meth:`preview_mailto` gave and the customer confirmed: the
                very same message is sent (same Date and Message-ID), or nothing is.
            password: the account's password (default: from ``services.mail_accounts``,
                i.e. the keyring).

        Returns:
            What the SMTP server answered.

        Raises:
            InputError: no mailto, no such account, or the confirmed text is not the
                message that would be sent.
            ConnectionFailed: sending failed (journaled, with the reason).
        """
        date, message_id = self._ctx.now(), None
        if confirmed is not None:
            seen = email.parser.Parser(policy=email.policy.SMTP).parsestr(
                confirmed, headersonly=True
            )
            try:
                date = email.utils.parsedate_to_datetime(str(seen["Date"]))
            except (TypeError, ValueError):
                raise InputError("the confirmed message has no readable Date") from None
            message_id = str(seen["Message-ID"] or "") or None
        brand, t, found, message = self._message(ref, account, date, message_id)
        text = message_text(message)
        if confirmed is not None and text != confirmed:
            raise InputError(
                f"{brand.name}: the unsubscribe message changed since it was shown; show it "
                "again and confirm"
            )
        if password is None:
            if self.accounts is None:
                raise InputError(f"no password for the mail account {found.id} is known here")
            password = self.accounts.password(found.id)
        at = self._ctx.now()
        recipients = [a.addr_spec for a in message["To"].addresses]
        headers = {k: str(v) for k, v in message.items()}
        try:
            said = smtp.send(
                found,
                password,
                found.address,
                recipients,
                text.encode("utf-8", "surrogateescape"),
                ssl_context=self._smtp_ssl,
            )
            ok, result = True, f"accepted by {found.smtp_host}: {said}"
        except smtp.SmtpError as exc:
            ok, result = False, f"not sent: {exc}"
        detail = {**_entry("mailto", t.mailto, result, at), "headers": headers, "text": text}
        with self._ctx.store.write() as uow:
            uow.journal.append(at=at, brand=brand.slug, kind="unsubscribe", detail=detail)
            if ok:
                _carried_out(uow, brand.slug, at, "unsubscribe e-mail sent")
        if not ok:
            raise ConnectionFailed(f"{brand.name}: the unsubscribe e-mail was {result}")
        return result

    # --- web --------------------------------------------------------------------------------

    def confirm_web_done(self, ref: str) -> None:
        """The customer says they unsubscribed on the brand's page: record it (by hand).

        Raises:
            InputError: the brand's mail offers no unsubscribe page.
        """
        brand, t = self._targets(ref)
        if not t.web_url:
            raise InputError(f"{brand.name}: its mail offers no unsubscribe page")
        at = self._ctx.now()
        detail = _entry("web", t.web_url, "done by hand: the customer said they unsubscribed", at)
        with self._ctx.store.write() as uow:
            uow.journal.append(at=at, brand=brand.slug, kind="unsubscribe", detail=detail)
            _carried_out(uow, brand.slug, at, "unsubscribed by hand on the brand's page")


def _entry(method: str, target: str, result: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "method": method,
        "target": target,
        "result": result,
        "at": at.astimezone(dt.UTC).isoformat(),
    }


def _carried_out(
    uow: UnitOfWork,
    slug: str,
    at: dt.datetime,
    detail: str,
    *,
    vendor: PreferenceSet | None = None,
    version: str = "by hand",
) -> None:
    """The customer's "e-mail off" is carried out: nothing is left pending for it. Only when
    that is their decision and the brand is handled by the ``email`` connector."""
    brand = uow.brands.get(slug)
    if brand.connector != EMAIL_CONNECTOR:
        return
    if brand.preferences.channels.get(Channel.EMAIL) is not False:
        return
    inp = uow.sync.load(slug)
    held = vendor if vendor is not None else (uow.brands.vendor_state(slug) or PreferenceSet())
    uow.sync.confirmed(
        slug,
        revision=inp.revision,
        base=brand.preferences,
        vendor=held,
        remote_version=version,
        decisions=None,
        status="ok",
        detail=detail,
        now=at,
    )


__all__ = ["MailAccounts", "UnsubscribeOptions", "UnsubscribeService"]
