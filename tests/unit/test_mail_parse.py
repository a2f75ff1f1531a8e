"""parse_headers: what a header block says, normalised (issue 12, point 1)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.mail.parse import _date, fields_fast, fields_stdlib, parse_headers, unfold
from cmr_desktop.testing.mailgen import messages


def read(raw: bytes) -> MailHeaders:
    got = parse_headers(raw, "here")
    assert isinstance(got, MailHeaders), got
    return got


def test_every_generated_message_reads_as_the_generator_wrote_it() -> None:
    for m in messages(seed=11, n=400):
        assert parse_headers(m.raw, "here") == dataclasses.replace(m.expected, where="here")


def _norm(fields: dict[bytes, list[bytes]] | None) -> dict[bytes, list[bytes]] | None:
    if fields is None:
        return None
    return {k: [unfold(v).strip() for v in vs] for k, vs in fields.items()}


def test_the_fast_field_cut_agrees_with_the_standard_librarys_parser_on_generated_mail() -> None:
    for m in messages(seed=12, n=300):
        head = m.raw.partition(b"\n\n")[0] + b"\n"
        assert _norm(fields_fast(head)) == _norm(fields_stdlib(head))


_NAMES = st.sampled_from(
    ["From", "FROM", "date", "Message-Id", "List-ID", "List-Unsubscribe", "Subject",
     "List-Unsubscribe-Post", "DKIM-Signature", "Authentication-Results", "X-Other",
     "Received", "Reply-To", "Sender", "List-Id-Not"]
)  # fmt: skip
_VALUE = st.text(
    st.characters(min_codepoint=32, max_codepoint=126, exclude_characters=":"), max_size=30
).map(lambda s: s.strip().encode())
_FIELD = st.tuples(
    _NAMES, st.lists(_VALUE, min_size=1, max_size=3), st.sampled_from(["\n", "\r\n"])
)


@given(st.lists(_FIELD, max_size=12))
def test_the_fast_field_cut_agrees_with_the_standard_librarys_parser_on_well_formed_fields(
    fields: list[tuple[str, list[bytes], str]],
) -> None:
    lines = []
    for name, parts, nl in fields:
        lines.append(name.encode() + b": " + (nl.encode() + b"\t").join(parts) + nl.encode())
    block = b"".join(lines)
    assert _norm(fields_fast(block)) == _norm(fields_stdlib(block))


@given(
    st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 12, 31)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_the_fast_date_reading_agrees_with_parsedate_to_datetime(
    when: dt.datetime, offset_minutes: int
) -> None:
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    text = format_datetime(when.replace(microsecond=0, tzinfo=zone))
    assert _date(text.encode()) == parsedate_to_datetime(text).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"Mon, 01 Jun 2026 10:00:00 +0200", dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)),
        (b"1 Jun 2026 10:00:00 -0500 (EST)", dt.datetime(2026, 6, 1, 15, tzinfo=dt.UTC)),
        (b"Mon, 1 Jun 2026 10:00 GMT", dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)),
        (b"Mon, 01 Jun 2026 10:00:00 -0000", dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)),
        (b"Mon, 01 Jun 2026\r\n 10:00:00 +0000", dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)),
        (b"yesterday", None),
        (b"Mon, 31 Feb 2026 10:00:00 +0000", None),
        (b"Mon, 01 Jun 99999 10:00:00 +0000", None),
        (b"", None),
    ],
)
def test_the_date_is_aware_utc_or_none_when_unreadable(
    value: bytes, expected: dt.datetime | None
) -> None:
    got = read(b"From: a@b.example\nDate: " + value + b"\n").date
    assert got == expected
    assert got is None or got.tzinfo is dt.UTC


def test_rfc2047_display_names_are_decoded_and_addresses_lower_cased() -> None:
    got = read(b"From: =?iso-8859-1?q?J=F6rg_M=FCller?= <Joerg.Mueller@Example.ORG>\n")
    assert (got.from_name, got.from_address) == ("Jörg Müller", "joerg.mueller@example.org")
    got = read(b"From: =?utf-8?b?S2FmZmVlcsO2c3RlcmVp?= <post@kaffee.example>\n")
    assert got.from_name == "Kaffeerösterei"
    got = read(b'From: "Smith, K." <k@x.example>\nReply-To: A <R@X.example>, b@y.example\n')
    assert (got.from_name, got.reply_to) == ("Smith, K.", "r@x.example")


def test_a_bad_encoded_word_is_kept_as_written() -> None:
    got = read(b"From: =?utf-8?b?####?= <a@b.example>\n")
    assert got.from_address == "a@b.example"
    assert "=?utf-8?b?" in got.from_name


def test_folded_fields_are_read_whole() -> None:
    got = read(
        b"From: Very Long\r\n Name <a@b.example>\r\n"
        b"List-Unsubscribe: <https://u.example/very/\r\n long>,\r\n <mailto:u@b.example>\r\n"
        b"List-Id: News\r\n\t<News.B.Example>\r\n"
    )
    assert got.from_name == "Very Long Name"
    assert got.list_unsubscribe == ("https://u.example/very/long", "mailto:u@b.example")
    assert got.list_id == "news.b.example"


@pytest.mark.parametrize(
    ("value", "one_click"),
    [
        (b"List-Unsubscribe=One-Click", True),
        (b"list-unsubscribe=one-click", True),
        (b" List-Unsubscribe = One-Click ", True),
        (b"List-Unsubscribe=One-Click; x=y", False),
        (b"One-Click", False),
        (b"List-Unsubscribe=Two-Click", False),
        (b"", False),
    ],
)
def test_one_click_only_for_exactly_the_rfc8058_value(value: bytes, one_click: bool) -> None:
    raw = b"From: a@b.example\nList-Unsubscribe: <https://u.example/x>\n"
    assert read(raw + b"List-Unsubscribe-Post: " + value + b"\n").one_click is one_click


def test_message_id_and_list_id_lose_their_angle_brackets() -> None:
    got = read(b"From: a@b.example\nMessage-ID:  <abc.123@B.example> \nList-Id: <L.B.EXAMPLE>\n")
    assert (got.message_id, got.list_id) == ("abc.123@B.example", "l.b.example")


def test_dkim_d_per_signature_and_pass_domains_from_header_d_or_header_i() -> None:
    got = read(
        b"From: a@b.example\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=B.Example; s=s1;\n\tb=abc=;\n"
        b"DKIM-Signature: v=1; d=esp.example; s=x; bh=d=not.this;\n"
        b"Authentication-Results: mx.me.example;\n"
        b"\tdkim=pass (2048-bit key; secure) header.d=b.example header.s=s1;\n"
        b"\tdkim=pass header.i=@ESP.example;\n"
        b"\tdkim=fail header.d=bad.example;\n"
        b"\tspf=pass smtp.mailfrom=a@b.example\n"
        b"Authentication-Results: forged.example; dkim=pass header.d=forged.example\n"
    )
    assert got.dkim_domains == ("b.example", "esp.example")
    assert got.dkim_pass_domains == ("b.example", "esp.example")


def test_a_failed_dkim_result_passes_no_domain() -> None:
    raw = b"From: a@b.example\nAuthentication-Results: mx; dkim=fail header.d=b.example\n"
    assert read(raw).dkim_pass_domains == ()


def test_of_a_duplicated_field_the_first_counts() -> None:
    got = read(b"From: first@a.example\nFrom: second@b.example\nList-Id: <one>\nList-Id: <two>\n")
    assert (got.from_address, got.list_id) == ("first@a.example", "one")


def test_a_whole_message_is_read_only_up_to_its_first_empty_line() -> None:
    got = read(b"From: a@b.example\r\n\r\nList-Unsubscribe: <https://body.example>\r\n")
    assert got.list_unsubscribe == ()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "no header fields"),
        (b"Subject: hello\n", "no From field"),
        (b"From: nobody\n", "unreadable From: 'nobody'"),
        (b"From: <>\n", "unreadable From"),
    ],
)
def test_a_message_without_a_readable_from_is_skipped_with_a_reason(
    raw: bytes, reason: str
) -> None:
    got = parse_headers(raw, "inbox at byte 7")
    assert isinstance(got, Skipped)
    assert got.where == "inbox at byte 7"
    assert got.reason.startswith(reason)
