"""Which brand a message comes from: its *brand key*, from the headers alone.

The rule (each step is tested in ``tests/unit/test_discovery_grouping.py``):

1. **Registrable domains.** Every domain is cut to its registrable domain (the public suffix
   plus one label: ``news.brand.co.uk`` -> ``brand.co.uk``) with ``publicsuffixlist``, which
   ships the Public Suffix List inside the package: nothing is downloaded at run time. A
   domain that has none (``localhost``, a bare suffix such as ``co.uk``) has no brand.
2. **The candidates.** ``F``: the From address's registrable domain (the Sender's when From
   has none). ``D``: the registrable domain of a DKIM signature the receiving server says
   *passed* (Authentication-Results), preferring one equal to ``F``, then one that is not a
   sending service's; a signature that was not checked is never used. ``L``: the List-Id's
   registrable domain (RFC 2919: the id is a domain name).
3. **Personal mail is not a brand.** No List-Id and no List-Unsubscribe, and either ``F``
   is an ordinary mailbox provider's (gmail.com, outlook.com, ...) or no DKIM signature of
   ``F``'s own passed: a person wrote, not a brand (people on their own domain rarely sign;
   a brand's mail without list headers, a receipt say, is signed by its domain: the large
   mailbox providers require it of bulk senders). Such messages are counted as read and
   never stored.
4. **A sending service's domain names no brand.** When ``F`` belongs to a known e-mail
   service provider or list platform (:data:`ESP_DOMAINS`: mailchimpapp.net, sendgrid.net,
   substack.com, googlegroups.com ...) or to a mailbox provider (a newsletter sent from a
   gmail.com address), the brand is ``D`` when it is not such a domain either, else ``L``
   when it is not, else the whole List-Id (key ``list:<list-id>``), so two lists sent
   through one service never merge into one brand; with no List-Id either, the From
   address itself (key ``from:<address>``).
5. **A verified signer that differs.** When ``F`` is a brand's own domain but the passing
   DKIM domain ``D`` differs and is not a sending service's, the signer is the brand
   (``brandmail.com`` signed ``d=brand.co.uk`` groups under ``brand.co.uk``), unless the
   List-Id says the list belongs to ``F`` (``L == F``): then ``F`` stays.
6. Otherwise the brand is ``F``: ``news.brand.co.uk`` and ``brand.co.uk`` are one brand,
   and so are two lists under one brand's own domain (the customer deals with brands, not
   lists).

The key is the brand's registrable domain (or the ``list:``/``from:`` refinement of step 4);
:attr:`Observation.domain` is the registrable domain the key stands for ("" for the
refinements).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from cmr_desktop.mail.headers import MailHeaders

#: E-mail service providers and list platforms: their domain in From (or in a DKIM d= or a
#: List-Id) says who sent the mail for the brand, not which brand it is.
ESP_DOMAINS: frozenset[str] = frozenset(
    {
        "amazonses.com", "aweber.com", "beehiiv.com", "bfi0.com", "blueshiftmail.com",
        "brevo.com", "bsftransmit.com", "ccsend.com", "cmail19.com", "cmail20.com",
        "constantcontact.com", "convertkit-mail.com", "createsend.com",
        "customeriomail.com", "emarsys.net", "exacttarget.com", "exct.net", "getresponse.com",
        "googlegroups.com", "groups.io", "hubspotemail.net", "hs-email.net", "klaviyomail.com",
        "list-manage.com", "mailchimpapp.net", "mailerlite.com", "mailgun.net", "mailgun.org",
        "mailjet.com", "mandrillapp.com", "mcdlv.net", "mcsv.net", "mktomail.com",
        "mtasv.net", "postmarkapp.com", "rsgsv.net", "rsys1.net", "rsys2.net", "rsys5.net",
        "sailthru.com", "sendgrid.info", "sendgrid.net", "sendibm1.com", "sendibt2.com",
        "sendinblue.com", "sparkpostmail.com", "substack.com", "zcsend.net",
    }
)  # fmt: skip

#: Ordinary mailbox providers: a person's address, not a brand's.
MAILBOX_DOMAINS: frozenset[str] = frozenset(
    {
        "163.com", "aol.com", "fastmail.com", "fastmail.fm", "free.fr", "gmail.com",
        "gmx.com", "gmx.de", "gmx.net", "googlemail.com", "hey.com", "hotmail.co.uk",
        "hotmail.com", "hotmail.de", "hotmail.fr", "icloud.com", "laposte.net", "libero.it",
        "live.com", "mac.com", "mail.com", "mail.ru", "mailbox.org", "me.com", "msn.com",
        "orange.fr", "outlook.com", "pm.me", "posteo.de", "proton.me", "protonmail.com",
        "qq.com", "t-online.de", "tuta.io", "tutanota.com", "web.de", "yahoo.co.uk",
        "yahoo.com", "yahoo.de", "yahoo.fr", "yandex.com", "yandex.ru", "ymail.com",
        "zoho.com",
    }
)  # fmt: skip


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package (no download)


@functools.lru_cache(maxsize=65536)
def registrable(domain: str) -> str:
    """The registrable domain of ``domain`` (lower-case, no trailing dot), "" if it has none.

    >>> registrable("News.Brand.co.uk.")
    'brand.co.uk'
    """
    host = domain.strip().rstrip(".").lower()
    if not host or any(c in host for c in " /@:[]") or ".." in host:
        return ""
    try:
        return _psl().privatesuffix(host) or ""
    except (ValueError, UnicodeError):
        return ""


def domain_of(address: str) -> str:
    """The domain of an e-mail address ("" if it has none)."""
    _, at, domain = address.rpartition("@")
    return domain.strip().strip(">").lower() if at else ""


def _is_service(domain: str) -> bool:
    return domain in ESP_DOMAINS or domain in MAILBOX_DOMAINS


@dataclass(frozen=True, slots=True)
class Observation:
    """One message as discovery stores it: headers only, never a body.

    Attributes:
        brand_key: the brand it groups under (see the module's rule).
        domain: the registrable domain the key stands for ("" for ``list:``/``from:`` keys).
        name: the From display name ("" if none).
        message_id: the Message-ID ("" if none).
        date: when it was sent (UTC), None if unknown.
        from_address: the From address.
        list_id: the List-Id ("" if none).
        unsubscribe: the List-Unsubscribe URIs in order.
        one_click: RFC 8058 one-click was offered (List-Unsubscribe-Post).
        dkim_pass_domain: the DKIM domain the receiving server said passed ("" if none).
        where: where the message is (for evidence).
    """

    brand_key: str
    domain: str
    name: str
    message_id: str
    date: dt.datetime | None
    from_address: str
    list_id: str
    unsubscribe: tuple[str, ...]
    one_click: bool
    dkim_pass_domain: str
    where: str

    @property
    def ident(self) -> str:
        """What makes the message unique: its Message-ID, else where it is (so two
        messages without an id are never taken for one)."""
        return self.message_id or f"where:{self.where}"


def _pass_domain(headers: MailHeaders, from_reg: str) -> str:
    """The passing DKIM domain that says most about the brand: the From domain's own, else
    one that is no sending service's (for mail sent through one: the brand's), else any."""
    passed = [d for d in headers.dkim_pass_domains if registrable(d)]
    if not _is_service(from_reg):
        for d in passed:
            if registrable(d) == from_reg:
                return d
    for d in passed:
        if not _is_service(registrable(d)):
            return d
    return passed[0] if passed else ""


def observe(headers: MailHeaders) -> Observation | None:
    """The :class:`Observation` of one message, or None when it comes from no brand
    (personal mail, or no usable sender domain)."""
    address = headers.from_address or headers.sender
    f = registrable(domain_of(address))
    if not f:
        return None
    bulk = bool(headers.list_id or headers.list_unsubscribe)
    if not bulk and f in MAILBOX_DOMAINS:
        return None  # a person wrote
    dkim = _pass_domain(headers, f)
    if not bulk and registrable(dkim) != f:
        return None  # no list headers and not signed by its own domain: a person wrote
    d = registrable(dkim)
    lst = registrable(headers.list_id)
    if _is_service(f):
        if d and not _is_service(d):
            key = domain = d
        elif lst and not _is_service(lst):
            key = domain = lst
        elif headers.list_id:
            key, domain = f"list:{headers.list_id}", ""
        else:
            key, domain = f"from:{address}", ""
    elif d and d != f and not _is_service(d) and lst != f:
        key = domain = d
    else:
        key = domain = f
    return Observation(
        brand_key=key,
        domain=domain,
        name=headers.from_name,
        message_id=headers.message_id,
        date=headers.date,
        from_address=headers.from_address,
        list_id=headers.list_id,
        unsubscribe=headers.list_unsubscribe,
        one_click=headers.one_click,
        dkim_pass_domain=dkim,
        where=headers.where,
    )
