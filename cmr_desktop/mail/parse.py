"""One message's header block -> :class:`MailHeaders` (or :class:`Skipped`), never an exception.

Used by every source (mbox, Maildir, IMAP). The raw block may hold any fields; only
:data:`WANTED_FIELDS` are read. The work is done in two steps:

1. **Cut** the block down to the wanted fields with one compiled bytes regex (a field line
   and its folded continuation lines), unfold them (RFC 5322 2.2.3: drop the CRLF before
   white space). This is what the standard library's ``BytesHeaderParser`` does for the
   fields, at a fraction of the cost: measured on the generated mail of
   :mod:`cmr_desktop.testing.mailgen`, ``BytesHeaderParser(policy=compat32)`` took 150 µs per
   whole block and 89 µs per block already cut to the wanted fields, while the scan's budget
   is 20 µs per message (50,000 messages/s). :func:`fields_stdlib` is the same cut done by
   ``BytesHeaderParser``; the tests check that both agree (``tests/unit/test_mail_parse.py``).
2. **Normalise** each field with the standard library's own readers:
   ``email.utils.getaddresses`` (addresses), ``email.header.decode_header`` (RFC 2047
   names), ``email.utils.parsedate_to_datetime`` (dates: a fast path reads the common RFC
   5322 form and falls back to it, and the tests check both agree). Values that repeat
   across a mailbox (a brand's From and List-Id) are remembered in a bounded cache.

Hostile input (NULs, 8-bit bytes, unbalanced ``<>``, bad encodings, duplicated or
thousands of fields, megabytes of header) never raises: what cannot be read is left empty,
and a message that cannot be used at all is :class:`Skipped` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime

from cmr_desktop.mail.headers import WANTED_FIELDS, MailHeaders, Skipped

__all__ = [
    "MAX_BLOCK_BYTES",
    "MAX_FIELDS_BYTES",
    "Fields",
    "cut_fields",
    "fields_fast",
    "fields_stdlib",
    "header_end",
    "parse_headers",
    "read_fields",
    "unfold",
]

#: The most header-field text (of the wanted fields) a message may have.
MAX_FIELDS_BYTES = 256 * 1024
#: Of a repeated field, only the first ones count (a DKIM-Signature flood reads as 20).
_MAX_REPEATS = 20
#: The most header a message may have at all (its other fields are skipped, not read).
MAX_BLOCK_BYTES = 8 << 20
_MAX_URIS = 10
_CACHE_MAX = 20_000

_WANTED = tuple(f.lower().encode() for f in WANTED_FIELDS)
_FIELD = re.compile(  # possessive: no backtracking into a long value
    rb"\n("
    + b"|".join(re.escape(f) for f in _WANTED)
    + rb")[ \t]*+:[ \t]*+([^\n]*+(?:\n[ \t][^\n]*+)*+)",
    re.IGNORECASE,
)
#: The usual spellings, to skip a lower() per field.
_KEYS = {
    **{f.encode(): f.lower().encode() for f in WANTED_FIELDS},
    **{f.lower().encode(): f.lower().encode() for f in WANTED_FIELDS},
    b"Message-Id": b"message-id",
    b"List-ID": b"list-id",
}
_WS = b" \t\r\n"
_FOLD = re.compile(rb"\r?\n(?=[ \t])")

Fields = dict[bytes, list[bytes]]


def fields_fast(raw: bytes, *, cut: bool = True) -> Fields | None:
    """The wanted fields of a header block by lower-case name, in order (at most
    :data:`_MAX_REPEATS` of each), values still folded (:func:`unfold`). ``None`` if they
    exceed :data:`MAX_FIELDS_BYTES`. ``cut=False``: the caller already cut ``raw`` at the
    first empty line."""
    end = header_end(raw) if cut else -1
    if end >= 0:  # a whole message was passed: its header ends at the first blank line
        raw = raw[:end]
    found = _FIELD.findall(b"\n" + raw)
    if len(raw) > MAX_FIELDS_BYTES and sum(len(v) for _, v in found) > MAX_FIELDS_BYTES:
        return None
    fields: Fields = {}
    for name, value in found:  # values keep a CRLF file's trailing "\r": the readers allow it
        key = _KEYS.get(name) or name.lower()
        got = fields.get(key)
        if got is None:
            fields[key] = [value]
        elif len(got) < _MAX_REPEATS:
            got.append(value)
    return fields


def header_end(buf: bytes | bytearray, pos: int = 0, end: int | None = None) -> int:
    """Where a header block ends: just after the line break of its last line (the empty
    line follows), looking in ``buf[pos:end]`` (``pos`` at a line break or 0); -1 if the
    empty line is not there."""
    if pos == 0 and (buf[:1] == b"\n" or buf[:2] == b"\r\n"):
        return 0  # an empty header
    stop = len(buf) if end is None else end
    lf = buf.find(b"\n\n", pos, stop)
    crlf = buf.find(b"\n\r\n", pos, lf + 2 if lf >= 0 else stop)
    if crlf >= 0:
        return crlf + 1
    return lf + 1 if lf >= 0 else -1


def unfold(value: bytes) -> bytes:
    """RFC 5322 2.2.3: a folded value without the line breaks before white space."""
    return _FOLD.sub(b"", value) if b"\n" in value else value


class _RawValues(Compat32):
    """compat32, but a field's value is returned as read (not wrapped in a ``Header`` when
    it holds 8-bit bytes), so it can be turned back into the original bytes."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_PARSER = BytesHeaderParser(policy=_RawValues())


def fields_stdlib(raw: bytes) -> Fields | None:
    """:func:`fields_fast` done by the standard library's ``BytesHeaderParser`` (the
    reference the fast cut is tested against; too slow for a scan)."""
    msg = _PARSER.parsebytes(raw)
    fields: Fields = {}
    total = 0
    for name, value in msg.items():
        key = name.strip().lower().encode("ascii", "surrogateescape")
        if key not in _WANTED:
            continue
        data = value.encode("ascii", "surrogateescape")
        total += len(data)
        if total > MAX_FIELDS_BYTES:
            return None
        data = data.lstrip(b" \t")
        fields.setdefault(key, [])
        if len(fields[key]) < _MAX_REPEATS:
            fields[key].append(data)
    return fields


def parse_headers(raw: bytes, where: str, *, cut: bool = True) -> MailHeaders | Skipped:
    """Read one message's header block (or a whole message: read up to its first empty
    line). Never raises. ``cut=False``: ``raw`` is already only the header block (the
    mbox and Maildir readers cut it while looking for the next message)."""
    return read_fields(cut_fields(raw, cut=cut), where)


def cut_fields(raw: bytes, *, cut: bool = True) -> Fields | str:
    """The first step of :func:`parse_headers`: the wanted fields, or why the message is
    skipped. Only built-in types, so the mbox reader's worker process can hand it over
    (:mod:`cmr_desktop.mail.mbox`). Never raises."""
    try:
        if len(raw) > MAX_BLOCK_BYTES:
            return f"header block too large (over {MAX_BLOCK_BYTES >> 20} MiB)"
        fields = fields_fast(raw, cut=cut)
        if fields is None:
            return f"header block too large (over {MAX_FIELDS_BYTES // 1024} KiB)"
        if not fields and b":" not in raw:
            return "no header fields (not an e-mail message?)"
        return fields
    except Exception as exc:  # the promise: a message is read or skipped, never a crash
        return f"unreadable header block ({type(exc).__name__})"


def read_fields(fields: Fields | str, where: str) -> MailHeaders | Skipped:
    """The second step of :func:`parse_headers`: :func:`cut_fields`'s result read into
    :class:`MailHeaders`, or skipped with its reason. Never raises."""
    if isinstance(fields, str):
        return Skipped(where, fields)
    try:
        return _headers(fields, where)
    except Exception as exc:  # the promise: a message is read or skipped, never a crash
        return Skipped(where, f"unreadable header block ({type(exc).__name__})")


def _headers(fields: Fields, where: str) -> MailHeaders | Skipped:
    froms = fields.get(b"from")
    if not froms:
        return Skipped(where, "no From field")
    from_name, from_address = _mailbox(froms[0])
    if not from_address:
        return Skipped(where, f"unreadable From: {_show(froms[0])}")
    get = fields.get
    sender = get(b"sender")
    reply_to = get(b"reply-to")
    date = get(b"date")
    msgid = get(b"message-id")
    list_id = get(b"list-id")
    unsub = get(b"list-unsubscribe")
    post = get(b"list-unsubscribe-post")
    dkim = get(b"dkim-signature")
    auth = get(b"authentication-results")
    return MailHeaders(
        where=where,
        message_id=_message_id(msgid[0]) if msgid else "",
        date=_date(date[0]) if date else None,
        from_address=from_address,
        from_name=from_name,
        sender=_mailbox(sender[0])[1] if sender else "",
        reply_to=_mailbox(reply_to[0])[1] if reply_to else "",
        list_id=_list_id(list_id[0]) if list_id else "",
        list_unsubscribe=_uris(unsub[0]) if unsub else (),
        one_click=any(_is_one_click(v) for v in post) if post else False,
        dkim_domains=_dkim_domains(dkim) if dkim else (),
        # Only the topmost Authentication-Results: the one the customer's own provider added
        # last. Fields further down may have been written by the sender (RFC 8601 7.2).
        dkim_pass_domains=_dkim_pass(auth[0]) if auth else (),
    )


def _show(value: bytes) -> str:
    """A field value quoted for a one-line message."""
    text = value[:60].decode("utf-8", "replace")
    return repr(text + ("…" if len(value) > 60 else ""))


_CONTROLS = dict.fromkeys([*range(32), 127])
_CONTROL_BYTES = bytes([*range(32), 127])  # includes the white space of folding
_ADDR_SPEC = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.?")
_mailbox_cache: dict[bytes, tuple[str, str]] = {}


def _mailbox(value: bytes) -> tuple[str, str]:
    """(display name, addr-spec lower-case) of the first mailbox; "" where unreadable."""
    hit = _mailbox_cache.get(value)
    if hit is not None:
        return hit
    text = unfold(value).decode("utf-8", "replace").translate(_CONTROLS)
    name, addr = "", ""
    pairs = getaddresses([text])
    if pairs:
        name, addr = pairs[0]
        addr = addr.strip().lower()
        if not _ADDR_SPEC.fullmatch(addr):
            addr = ""
        if "=?" in name:
            with contextlib.suppress(Exception):  # a bad encoded word: keep it as written
                name = str(make_header(decode_header(name))).strip() or name
        name = " ".join(name.translate(_CONTROLS).split())
    if len(_mailbox_cache) >= _CACHE_MAX:
        _mailbox_cache.clear()
    _mailbox_cache[value] = hit = (name, addr)
    return hit


_MONTHS = {
    m.encode(): i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_DATE = re.compile(
    rb"(?:[A-Z][a-z]{2}, ?)?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) "
    rb"(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"
    rb"(?: \([^()]*\))?[ \t\r]*"
)


_day_cache: dict[tuple[bytes, bytes, bytes, bytes, bytes, bytes], dt.datetime] = {}


def _date(value: bytes) -> dt.datetime | None:
    """The Date as an aware UTC datetime; ``None`` if unreadable. The common RFC 5322 form
    is read here (the midnight of each day and zone remembered); anything else by
    ``parsedate_to_datetime``."""
    m = _DATE.fullmatch(value)
    if m is not None:
        day, month, year, hour, minute, second, sign, oh, om = m.groups()
        key = (day, month, year, sign, oh, om)
        base = _day_cache.get(key)
        if base is None:
            base = _midnight(key)
        if base is not None and hour < b"24" and minute < b"60" and second < b"60":
            return base + dt.timedelta(seconds=int(hour) * 3600 + int(minute) * 60 + int(second))
    return _date_stdlib(value)


def _midnight(key: tuple[bytes, bytes, bytes, bytes, bytes, bytes]) -> dt.datetime | None:
    day, month, year, sign, oh, om = key
    number = _MONTHS.get(month)
    if number is None:
        return None
    try:
        when = dt.datetime(int(year), number, int(day), tzinfo=dt.UTC)
        offset = dt.timedelta(hours=int(oh), minutes=int(om))
        base = when - offset if sign == b"+" else when + offset
    except (ValueError, OverflowError):
        return None  # out of range: the standard library decides
    if len(_day_cache) >= _CACHE_MAX:
        _day_cache.clear()
    _day_cache[key] = base
    return base


def _date_stdlib(value: bytes) -> dt.datetime | None:
    try:
        when = parsedate_to_datetime(value.decode("ascii", "replace"))
        if when.tzinfo is None:  # "-0000": the zone is unknown; RFC 5322 says read as UTC
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _inside_angles(value: bytes) -> bytes | None:
    start = value.find(b"<")
    if start < 0:
        return None
    end = value.find(b">", start + 1)
    return value[start + 1 : end] if end > 0 else None


def _message_id(value: bytes) -> str:
    inner = _inside_angles(value)
    if inner is None:
        parts = value.split()
        inner = parts[0] if parts else b""
    return inner.translate(None, _CONTROL_BYTES + b" ")[:998].decode("utf-8", "replace")


_list_id_cache: dict[bytes, str] = {}


def _list_id(value: bytes) -> str:
    hit = _list_id_cache.get(value)
    if hit is not None:
        return hit
    inner = _inside_angles(value)
    if inner is None:
        inner = value if value and not any(c in value for c in _WS) else b""
    text = inner.translate(None, _CONTROL_BYTES).strip().lower()[:255].decode("utf-8", "replace")
    if len(_list_id_cache) >= _CACHE_MAX:
        _list_id_cache.clear()
    _list_id_cache[value] = text
    return text


_URI = re.compile(rb"<([^<>]*)>")


def _uris(value: bytes) -> tuple[str, ...]:
    out: list[str] = []
    # RFC 2369: white space in a URI is ignored
    for uri in _URI.findall(value.translate(None, _CONTROL_BYTES + b" ")):
        if uri:
            out.append(uri.decode("utf-8", "replace"))
            if len(out) >= _MAX_URIS:
                break
    return tuple(out)


def _is_one_click(value: bytes) -> bool:
    return value.translate(None, _WS).lower() == b"list-unsubscribe=one-click"


_DOMAIN = re.compile(rb"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_DKIM_D = re.compile(rb"(?:^|;)[ \t\r\n]*d[ \t\r\n]*=[ \t\r\n]*([^; \t\r\n]+)", re.IGNORECASE)


_domain_cache: dict[bytes, str] = {}


def _domain(value: bytes) -> str:
    hit = _domain_cache.get(value)
    if hit is None:
        low = value.strip(b"\"'").lower().rstrip(b".")
        hit = low.decode() if _DOMAIN.fullmatch(low) else ""
        if len(_domain_cache) >= _CACHE_MAX:
            _domain_cache.clear()
        _domain_cache[value] = hit
    return hit


def _dkim_domains(values: list[bytes]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        m = _DKIM_D.search(value)
        if m is not None:
            d = _domain(m.group(1))
            if d and d not in out:
                out.append(d)
    return tuple(out)


_COMMENT = re.compile(rb"\([^()]*\)")
# A resinfo (after a ";": the first part is the authserv-id) saying dkim=pass, and its
# header.d, else header.i: one domain per result.
_DKIM_PASS = re.compile(
    rb";[ \t\r\n]*dkim[ \t\r\n]*=[ \t\r\n]*pass\b[^;]*?\bheader\.[di][ \t\r\n]*=[ \t\r\n]*\"?"
    rb"(?:[^\s;\"@]*@)?([^\s;\"@]+)",
    re.IGNORECASE,
)


def _dkim_pass(value: bytes) -> tuple[str, ...]:
    for _ in range(4):  # nested comments, a few levels
        if b"(" not in value:
            break
        value = _COMMENT.sub(b"", value)
    out: list[str] = []
    for ident in _DKIM_PASS.findall(value):
        d = _domain(ident)
        if d and d not in out:
            out.append(d)
    return tuple(out)
