"""Realistic, reproducible mailboxes for tests and benchmarks (headers *and* bodies).

Brands send newsletters the way real bulk senders do: ``List-Id``, ``List-Unsubscribe``
(https and mailto), RFC 8058 ``List-Unsubscribe-Post``, a folded ``DKIM-Signature`` (``d=``
the brand's domain or its e-mail service provider's), the receiving server's
``Authentication-Results`` (``dkim=pass`` or ``dkim=fail``), RFC 2047 encoded display names,
``Received`` chains and the other fields a reader must skip. Personal mail has no list
headers. Everything follows from the seed.

Each :class:`GenMessage` carries the message bytes and what a correct header parser must
read from them (:attr:`GenMessage.expected`, a :class:`MailHeaders` whose ``where`` is
empty), so tests compare a source's output with the truth.

    msgs = list(messages(seed=1, n=200))
    write_mbox(tmp_path / "inbox.mbox", msgs)          # mboxrd, "From " lines escaped
    write_maildir(tmp_path / "Maildir", msgs)          # cur/ and new/
    write_mbox(path, msgs, takeout=True)               # Google Takeout style (CRLF, X-GM-*)
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

from cmr_desktop.mail.headers import MailHeaders

__all__ = [
    "BRANDS",
    "GenBrand",
    "GenMessage",
    "mbox_entry",
    "messages",
    "write_maildir",
    "write_mbox",
]


@dataclass(frozen=True, slots=True)
class GenBrand:
    """A sender of bulk mail. ``slug`` is the company directory's slug ("" if none)."""

    slug: str
    name: str  # display name in From (may be non-ASCII: RFC 2047 encoded on the wire)
    domain: str  # registrable domain
    from_address: str
    list_id: str
    https: bool  # List-Unsubscribe has an https URI
    mailto: bool  # ... and/or a mailto URI
    one_click: bool  # List-Unsubscribe-Post: List-Unsubscribe=One-Click
    dkim_d: tuple[str, ...]  # d= of each DKIM-Signature
    dkim_pass: bool  # the receiving server says the signature passed
    per_week: float


#: The senders, with a realistic mix of what their mail carries.
BRANDS: tuple[GenBrand, ...] = (
    GenBrand(
        "zalando",
        "Zalando",
        "zalando.de",
        "info@service-mail.zalando.de",
        "newsletter.zalando.de",
        True,
        True,
        True,
        ("zalando.de",),
        True,
        5.0,
    ),
    GenBrand(
        "spotify",
        "Spotify",
        "spotify.com",
        "no-reply@spotify.com",
        "marketing.spotify.com",
        True,
        False,
        True,
        ("spotify.com", "sendgrid.net"),
        True,
        2.0,
    ),
    GenBrand(
        "ikea",
        "IKEA Family",
        "ikea.com",
        "ikea@news.email.ikea.com",
        "family.news.ikea.com",
        True,
        True,
        True,
        ("email.ikea.com",),
        True,
        3.0,
    ),
    GenBrand(
        "booking-com",
        "Booking.com",
        "booking.com",
        "email.campaign@sg.booking.com",
        "deals.booking.com",
        True,
        True,
        True,
        ("booking.com",),
        True,
        4.0,
    ),
    GenBrand(
        "decathlon-de",
        "DECATHLON Deutschland",
        "decathlon.com",
        "newsletter@decathlon.com",
        "newsletter.decathlon.de",
        True,
        False,
        False,
        ("decathlon.com",),
        True,
        2.5,
    ),
    GenBrand(
        "otto-handel",
        "OTTO – Trends für dich",
        "otto.de",
        "newsletter@info.otto.de",
        "trends.otto.de",
        False,
        True,
        False,
        ("info.otto.de",),
        True,
        7.0,
    ),
    GenBrand(
        "mediamarkt",
        "MediaMarkt",
        "mediamarkt.de",
        "newsletter@news.mediamarkt.de",
        "",
        True,
        True,
        True,
        ("mcsv.net",),
        False,
        3.5,
    ),
    GenBrand(
        "ryanair",
        "Ryanair",
        "ryanair.com",
        "ryanair@e.ryanair.com",
        "offers.ryanair.com",
        True,
        True,
        True,
        ("e.ryanair.com",),
        True,
        6.0,
    ),
    GenBrand(
        "etsy",
        "Etsy",
        "etsy.com",
        "email@mail.etsy.com",
        "weekly.etsy.com",
        True,
        True,
        True,
        ("mail.etsy.com",),
        True,
        1.0,
    ),
    GenBrand(
        "netflix",
        "Netflix",
        "netflix.com",
        "info@mailer.netflix.com",
        "",
        False,
        False,
        False,
        ("netflix.com",),
        True,
        1.0,
    ),
    GenBrand(
        "",
        "Kaffeerösterei Müller",
        "kaffee-mueller.de",
        "post@kaffee-mueller.de",
        "rundbrief.kaffee-mueller.de",
        False,
        True,
        False,
        (),
        False,
        0.5,
    ),
    GenBrand(
        "",
        "Spam Deals",
        "cheap-deals.example",
        "win@cheap-deals.example",
        "",
        True,
        False,
        True,
        ("spoofed.example",),
        False,
        2.0,
    ),
)

_PEOPLE = (
    ("Jörg Müller", "joerg.mueller@gmail.com"),
    ("Ana Sofía Pérez", "anasofia@posteo.de"),
    ("Sam Lee", "sam.lee@example.org"),
    ("Zoë O'Brien", "zoe@obrien.ie"),
    ("", "bob@example.net"),
    ("Dr. K. Smith, PhD", "ksmith@uni-example.edu"),
)
_PERSONAL_WEIGHT = 6.0  # messages per week from people

_SUBJECTS = (
    "Nur heute: 20 % auf alles",
    "Your weekly picks are here",
    "Neue Trends für den Herbst ☕",
    "Last chance – prices drop at midnight",
    "Your order has shipped",
    "Wir vermissen dich!",
    "Re: Dinner on Friday?",
    "Fwd: photos",
)
_TEXT = (
    "the quick brown fox jumps over lazy dogs while offers last and prices drop "
    "neue angebote für dich jetzt entdecken kostenloser versand ab fünfzig euro "
    "unsubscribe at any time manage your preferences view this email in your browser"
)
_WORDS = _TEXT.split()
_RECEIVERS = ("mx.google.com", "mx01.posteo.de", "mail.example.org")


@dataclass(frozen=True, slots=True)
class GenMessage:
    """One generated message: ``raw`` is the whole message (headers, blank line, body)
    with ``\\n`` line ends; ``expected`` is what a correct parser reads (``where`` = "")."""

    raw: bytes
    expected: MailHeaders
    brand: GenBrand | None


def _fold(name: str, parts: Iterable[str]) -> str:
    """``Name: part1;\\n\\tpart2;...`` — a folded header as senders write them."""
    return f"{name}: " + ";\n\t".join(parts)


def _encoded(name: str, rng: random.Random) -> str:
    if name.isascii():
        return f'"{name}"' if ("," in name or "." in name) else name
    charset = rng.choice(("utf-8", "iso-8859-1"))  # base64 (B) or quoted-printable (Q)
    try:
        name.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    return Header(name, charset).encode()


class _Gen:
    def __init__(self, seed: int, body_bytes: int) -> None:
        self.rng = random.Random(seed)
        self.body_bytes = body_bytes
        # A pool of paragraphs: bodies are slices of it (fast even for a 1 GB mailbox).
        rng = random.Random(seed ^ 0x5EED)
        paras = []
        for _ in range(64):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(40, 120))]
            lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
            paras.append("\n".join(lines))
        paras[3] = "From the team at our shop: thank you!\n" + paras[3]  # must be escaped
        paras[7] = ">From a quoted line\n" + paras[7]
        self.paras = paras

    def body(self) -> str:
        rng = self.rng
        target = max(0, int(rng.gauss(self.body_bytes, self.body_bytes / 4)))
        out: list[str] = []
        size = 0
        while size < target:
            p = self.paras[rng.randrange(len(self.paras))]
            out.append(p)
            size += len(p) + 2
        return "\n\n".join(out) + "\n"

    def dkim(self, d: str) -> str:
        b = base64.b64encode(self.rng.randbytes(128)).decode()
        bh = base64.b64encode(self.rng.randbytes(32)).decode()
        return _fold(
            "DKIM-Signature",
            (
                "v=1",
                "a=rsa-sha256",
                "c=relaxed/relaxed",
                f"d={d}",
                f"s=s{self.rng.randint(1, 9)}",
                "t=1700000000",
                "h=from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post",
                f"bh={bh}",
                f"b={b[:60]}\n\t {b[60:]}",
            ),
        )


def messages(
    seed: int = 0,
    n: int = 100,
    *,
    start: dt.datetime = dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    days: float = 90.0,
    body_bytes: int = 800,
    brands: tuple[GenBrand, ...] = BRANDS,
    personal: bool = True,
) -> Iterator[GenMessage]:
    """``n`` messages in date order over ``days`` days from ``start``, senders drawn by
    their ``per_week`` rate. ``body_bytes`` is the mean body size."""
    g = _Gen(seed, body_bytes)
    rng = g.rng
    senders: list[GenBrand | None] = [*brands]
    weights = [b.per_week for b in brands]
    if personal:
        senders.append(None)
        weights.append(_PERSONAL_WEIGHT)
    step = days * 86400.0 / max(n, 1)
    for i in range(n):
        sender = rng.choices(senders, weights)[0]
        when = start + dt.timedelta(seconds=int(i * step + rng.random() * step * 0.9))
        yield _message(g, i, sender, when)


def _message(g: _Gen, i: int, brand: GenBrand | None, when: dt.datetime) -> GenMessage:
    rng = g.rng
    tz = dt.timezone(dt.timedelta(hours=rng.choice((0, 1, 2, -5, -8, 9)), minutes=0))
    local = when.astimezone(tz)
    receiver = rng.choice(_RECEIVERS)
    h: list[str] = [
        f"Return-Path: <bounce-{i}@{brand.domain if brand else 'example.net'}>",
        f"Received: from out{rng.randint(1, 99)}.mta.example ([203.0.113.{rng.randint(1, 254)}])"
        f"\n\tby {receiver} with ESMTPS id {rng.randbytes(6).hex()}\n\tfor <me@example.com>;"
        f" {format_datetime(local)}",
        f"Received: by 2002:a05:6a10:{rng.randint(1000, 9999)} with SMTP id x{i};"
        f" {format_datetime(local)}",
    ]
    subject = rng.choice(_SUBJECTS)
    if brand is None:
        name, addr = rng.choice(_PEOPLE)
        dom = addr.split("@")[1]
        dkim_d: tuple[str, ...] = (dom,) if dom in ("gmail.com", "posteo.de") else ()
        passed = dkim_d
        list_id = ""
        unsub: tuple[str, ...] = ()
        one_click = False
        msgid_dom = dom
    else:
        name, addr = brand.name, brand.from_address
        dkim_d = brand.dkim_d
        passed = brand.dkim_d if brand.dkim_pass else ()
        list_id = brand.list_id
        uris: list[str] = []
        token = rng.randbytes(8).hex()
        if brand.https:
            uris.append(f"https://unsubscribe.{brand.domain}/u/{token}?list={i % 7}")
        if brand.mailto:
            uris.append(f"mailto:unsubscribe-{token}@bounce.{brand.domain}?subject=unsubscribe")
        unsub = tuple(uris)
        one_click = brand.one_click and brand.https
        msgid_dom = addr.split("@")[1]
    for d in dkim_d:
        h.append(g.dkim(d))
    if dkim_d or rng.random() < 0.5:
        verdict = "pass" if passed else "fail"
        parts = [f"{receiver}"]
        for d in dkim_d or ("",):
            if d:
                parts.append(
                    f"dkim={verdict} header.i=@{d} header.s=s1 header.b={rng.randbytes(4).hex()}"
                )
        parts.append(f"spf=pass (domain of {addr} designates 203.0.113.5) smtp.mailfrom={addr}")
        parts.append(f"dmarc={'pass' if passed else 'fail'} (p=REJECT) header.from={addr}")
        h.append(_fold("Authentication-Results", parts))
    fld = rng.choice
    h.append(
        f"{fld(('From', 'FROM', 'from'))}: {_encoded(name, rng) + ' ' if name else ''}<{addr}>"
        if name or rng.random() < 0.5
        else f"From: {addr}"
    )
    h.append("To: me@example.com")
    h.append(f"Subject: {Header(subject, 'utf-8').encode() if not subject.isascii() else subject}")
    h.append(f"Date: {format_datetime(local)}")
    msgid = f"{when.strftime('%Y%m%d%H%M%S')}.{i}.{rng.randbytes(4).hex()}@{msgid_dom}"
    h.append(f"{fld(('Message-ID', 'Message-Id'))}: <{msgid}>")
    h.append("MIME-Version: 1.0")
    if list_id:
        h.append(f"{fld(('List-Id', 'List-ID'))}: {brand.name if brand else ''} <{list_id}>")
    if unsub:
        h.append("List-Unsubscribe: " + ",\n ".join(f"<{u}>" for u in unsub))
    if one_click:
        h.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    if brand is not None:
        h.append("Precedence: bulk")
        h.append(f"Feedback-ID: {i % 97}:{brand.slug or 'x'}:esp")
        h.append(f"X-Campaign: {rng.randbytes(5).hex()}")
    h.append("Content-Type: text/plain; charset=utf-8")
    h.append("Content-Transfer-Encoding: 8bit")
    raw = ("\n".join(h) + "\n\n" + g.body()).encode("utf-8")
    expected = MailHeaders(
        where="",
        message_id=msgid,
        date=when.replace(microsecond=0),
        from_address=addr.lower(),
        from_name=name,
        list_id=list_id.lower(),
        list_unsubscribe=unsub,
        one_click=one_click,
        dkim_domains=dkim_d,
        dkim_pass_domains=passed,
    )
    return GenMessage(raw, expected, brand)


_FROM_LINE = re.compile(rb"^(>*From )", re.M)


def mbox_entry(msg: GenMessage, *, takeout: bool = False) -> bytes:
    """The message as an mboxrd entry: the "From " line, the message with body lines
    starting ``>*From `` escaped by one more ``>``, and a blank line. Google Takeout style
    (``takeout=True``): its "From " line, X-GM-THRID / X-Gmail-Labels, CRLF line ends."""
    date = msg.expected.date or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    head, sep, body = msg.raw.partition(b"\n\n")
    body = _FROM_LINE.sub(rb">\1", body)
    if takeout:
        thrid = 10**18 + zlib.crc32(msg.expected.message_id.encode()) * 7919  # stable
        head = (
            f"X-GM-THRID: {thrid}\nX-Gmail-Labels: Inbox,Category Promotions,Opened\n".encode()
            + head
        )
        from_line = f"From {thrid}@xxx {date.strftime('%a %b %d %H:%M:%S +0000 %Y')}\n"
        text = from_line.encode() + head + sep + body + b"\n"
        return text.replace(b"\n", b"\r\n")
    sender = msg.expected.from_address or "MAILER-DAEMON"
    from_line = f"From {sender} {date.strftime('%a %b %d %H:%M:%S %Y')}\n"
    return from_line.encode() + head + sep + body + b"\n"


def write_mbox(
    path: Path, msgs: Iterable[GenMessage], *, takeout: bool = False, append: bool = False
) -> int:
    """Write (or append) the messages as an mbox file; returns how many."""
    count = 0
    with open(path, "ab" if append else "wb", buffering=1 << 20) as f:
        for m in msgs:
            f.write(mbox_entry(m, takeout=takeout))
            count += 1
    return count


def write_maildir(
    path: Path, msgs: Iterable[GenMessage], *, new_every: int = 5, start: int = 0
) -> list[Path]:
    """Write the messages as a Maildir (``tmp/``, ``cur/`` with ``:2,S`` flags, and every
    ``new_every``-th in ``new/``); file names sort in message order. Returns the files."""
    for sub in ("tmp", "cur", "new"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for i, m in enumerate(msgs, start=start):
        stamp = 1_780_000_000 + i
        name = f"{stamp}.M{i}P1.mailgen"
        file = (
            path / "new" / name
            if new_every and i % new_every == 0
            else (path / "cur" / f"{name}:2,S")
        )
        file.write_bytes(m.raw)
        out.append(file)
    return out
