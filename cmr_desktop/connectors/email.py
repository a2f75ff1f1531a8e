"""The built-in ``email`` connector: "stop e-mailing me", acted on through the brand's own mail.

A brand found in the customer's mailbox (``services.discovery.add_found``) has no API the
customer can use, but its mail says how to unsubscribe: an RFC 8058 one-click URL, a
``mailto:`` address, a web page. Its settings (``connector_config``, written by the
discovery) are ``sender_domain``, ``one_click_url``, ``mailto``, ``web_url``,
``dkim_verified`` (``"yes"``/``"no"``) and ``seen_at``.

How it fits the sync engine, honestly:

- **What it can act on**: the e-mail channel only. Its catalog offers the channel
  ``email`` and nothing else (no frequencies, topics, data uses or quiet hours), so the
  engine sends nothing else to it; other channels and data uses are the customer's to carry
  out by hand, and :meth:`EmailConnector.check` says so.
- **When it is "remote"**: only when one-click is allowed (an https ``one_click_url`` from
  mail that passed DKIM for the sender's domain). Otherwise the instance says
  ``remote = False`` and the engine treats the brand like a ``manual`` one: the sync reports
  it as *do by hand* (status ``manual``) and sends nothing; the customer sends the mailto
  message or opens the page (``services.unsubscribe``), which records it.
- **read()**: the brand's real preference state cannot be read. The connector never invents
  one: the only vendor-side fact it holds is the mailbox's evidence that the brand was
  e-mailing the customer when its mail was last seen (``seen_at``), reported as e-mail *on*
  (version ``mailbox:<seen_at>``); with no such evidence it reports nothing at all (every
  field absent, the vendor's unknown default).
- **write()**: e-mail *off* sends the one-click ``POST`` through the SSRF guard
  (:mod:`cmr_desktop.mail.netguard`), once per write. A 2xx is the sender accepting the
  unsubscribe: the answer is e-mail *off*, version ``one-click:<time>``. Anything else is
  raised as it is (a refused address, a 3xx that is not followed, a 4xx: permanent; no
  answer or a 5xx: transient), so the brand stays pending and the app never claims a
  success it did not get. E-mail *on* cannot be sent (there is no way to subscribe someone
  by mail): it is refused with a sentence saying so.
- **What is recorded**: the engine journals the ``push`` (``channels.email: false``) and
  the ``answer`` (the version says one-click and when) or the ``error`` (the reason). Each
  request is also kept in :attr:`EmailConnector.performed` as a journal-ready ``unsubscribe``
  entry (``{"method", "target", "result", "at", "done"}``) for the host to append
  (:meth:`EmailConnector.take_performed`): the discovery reads the newest one per brand
  for the 48-hour deadline.

Whether the brand then stops writing is read from the mailbox by the discovery
(``services.discovery.measured``), not by this connector.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cmr_desktop import __version__
from cmr_desktop.connectors.api import (
    API_VERSION,
    Catalog,
    Channel,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorInfo,
    PermanentError,
    PreferenceSet,
    RemoteState,
    TransientError,
)
from cmr_desktop.mail.unsubscribe import Targets, one_click

CATALOG = Catalog(channels=frozenset({Channel.EMAIL}))


#: The version of the state a one-click unsubscribe the sender accepted gives.
ONE_CLICK_VERSION = "one-click:"


class EmailConnector(Connector):
    """A brand that writes to the customer, unsubscribed from through its own mail."""

    info = ConnectorInfo(
        id="email",
        name="E-mail unsubscribe",
        version=__version__,
        api_version=API_VERSION,
        description=(
            "A brand found in your mailbox: turning e-mail off sends its one-click "
            "unsubscribe, or tells you how to unsubscribe."
        ),
    )
    config_fields = (
        ConfigField(
            "sender_domain", "Sender's domain", help="The domain the brand's mail comes from."
        ),
        ConfigField(
            "one_click_url",
            "One-click unsubscribe address",
            help="The https address of the mail's List-Unsubscribe (RFC 8058).",
            required=False,
            default="",
        ),
        ConfigField(
            "mailto",
            "Unsubscribe e-mail address",
            help="The mailto: address of the mail's List-Unsubscribe.",
            required=False,
            default="",
        ),
        ConfigField(
            "web_url",
            "Unsubscribe page",
            help="A web page where you unsubscribe yourself.",
            required=False,
            default="",
        ),
        ConfigField(
            "dkim_verified",
            "DKIM verified",
            help='"yes" when the mail carrying these passed DKIM for the sender\'s domain.',
            required=False,
            default="no",
        ),
        ConfigField(
            "seen_at",
            "Last seen",
            help="When the brand's mail was last seen (ISO-8601).",
            required=False,
            default="",
        ),
    )

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self.targets = Targets.from_config(context.config)
        #: The unsubscribe requests this instance made, as journal entries (kind
        #: "unsubscribe"); the host takes them with :meth:`take_performed`.
        self.performed: list[dict[str, Any]] = []

    @property
    def remote(self) -> bool:  # type: ignore[override]
        """True only when one-click is allowed: otherwise the customer must act."""
        return not self.targets.one_click_problem()

    @classmethod
    def config_problems(cls, config: Mapping[str, str]) -> list[str]:
        out = []
        url = str(config.get("one_click_url") or "").strip()
        if url and not url.lower().startswith("https://"):
            out.append("one_click_url must be an https address")
        mailto = str(config.get("mailto") or "").strip()
        if mailto and not mailto.lower().startswith("mailto:"):
            out.append("mailto must be a mailto: address")
        web = str(config.get("web_url") or "").strip()
        if web and not web.lower().startswith(("https://", "http://")):
            out.append("web_url must be a web address")
        dkim = str(config.get("dkim_verified") or "no").strip().lower()
        if dkim not in ("yes", "no"):
            out.append('dkim_verified must be "yes" or "no"')
        return out

    def catalog(self) -> Catalog:
        return CATALOG

    def read(self) -> RemoteState:
        last = self.last_version or ""
        if last.startswith(ONE_CLICK_VERSION):
            # The sender accepted the unsubscribe: the last fact about its state. Mail seen
            # before it is no evidence that e-mail is on again; mail after its deadline is
            # the mailbox's to show (services.discovery: "still writing after unsubscribe").
            return RemoteState(PreferenceSet(channels={Channel.EMAIL: False}), last)
        seen = self.targets.seen_at
        if not seen:
            return RemoteState(PreferenceSet(), "mailbox:nothing seen")
        return RemoteState(PreferenceSet(channels={Channel.EMAIL: True}), f"mailbox:{seen}"[:200])

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        wanted = desired.channels.get(Channel.EMAIL)
        if wanted is None:
            return self.read()
        if wanted:
            raise PermanentError(
                "e-mail cannot be turned on from here: no one can be subscribed by mail; "
                "sign up on the brand's own site if you want its mail again"
            )
        problem = self.targets.one_click_problem()
        if problem:
            raise PermanentError(f"{problem}: {self.targets.what_to_do()}")
        url = self.targets.one_click_url
        at = self.context.clock.now()
        outcome = one_click(url)
        self.performed.append(
            {
                "method": "one-click",
                "target": url,
                "result": outcome.result,
                "at": at.astimezone(dt.UTC).isoformat(),
                "done": outcome.done,
            }
        )
        if outcome.done:
            stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return RemoteState(
                PreferenceSet(channels={Channel.EMAIL: False}), f"{ONE_CLICK_VERSION}{stamp}"
            )
        if outcome.refused:
            raise PermanentError(f"one-click unsubscribe not sent: {outcome.result}")
        if outcome.status is None or outcome.status >= 500 or outcome.status == 429:
            raise TransientError(f"one-click unsubscribe not confirmed: {outcome.result}")
        raise PermanentError(f"one-click unsubscribe not confirmed: {outcome.result}")

    def take_performed(self) -> list[dict[str, Any]]:
        """The unsubscribe requests made since the last call (journal-ready), emptied."""
        out, self.performed = self.performed, []
        return out

    def manual_hint(self) -> str:
        """What the customer must do themselves when one-click cannot be used (one line,
        for the sync's "do by hand" report)."""
        return self.targets.what_to_do()

    def check(self) -> str:
        method = self.targets.preferred
        others = "other channels and data uses are yours to handle by hand"
        if method == "one-click":
            return f"one-click unsubscribe available (checked when sent); {others}"
        return f"no one-click unsubscribe: {self.targets.what_to_do()}; {others}"
