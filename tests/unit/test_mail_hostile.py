"""Hostile headers never crash a scan: a bad message is counted and skipped with a reason
(issue 12, point 4, "Robustness").

The property test draws header blocks from the fields real and broken mail has (folded,
RFC 2047, duplicated, NULs and 8-bit bytes, unbalanced ``<>``) and from each drawing makes
:data:`BLOCKS_PER_EXAMPLE` blocks (the drawn ones, then seeded mutations of them: cut,
spliced, repeated, bytes flipped). Under the CI profile ("thorough", 300 examples) that is
12,000 hostile blocks; each goes through ``parse_headers`` and, written as one mbox file per
example, through ``MboxSource``.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.mail.mbox import MboxSource
from cmr_desktop.mail.parse import MAX_FIELDS_BYTES, parse_headers

BLOCKS_PER_EXAMPLE = 40

_NAME = st.sampled_from(
    [b"From", b"FROM", b"from ", b"Sender", b"Reply-To", b"Date", b"Message-ID", b"List-Id",
     b"List-Unsubscribe", b"List-Unsubscribe-Post", b"DKIM-Signature",
     b"Authentication-Results", b"Subject", b"Received", b"X-\xff\x00", b"", b" From"]
)  # fmt: skip
_PIECE = st.sampled_from(
    [b"<", b">", b"<<", b"a@b.example", b"=?utf-8?b?", b"=?utf-8?q?J=F6rg?=", b"?=", b"\x00",
     b"\xff\xfe", b"\xc3", b"\xe2\x82\xac", b'"', b"\\", b"(", b")", b";", b"d=", b"dkim=pass",
     b"header.i=@", b"header.d=", b",", b"@", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\n\t",
     b"\n ", b"\n\n", b"mailto:", b"https://", b"List-Unsubscribe=One-Click",
     b"Mon, 31 Dec 9999 23:59:60 +9999", b"Thu, 1 Jan 1970 00:00:00 -0000", b"From x 1:00",
     b"9" * 30, b"=?x-unknown?x?abc?=", b"=?utf-8?b?" + b"A" * 50 + b"?="]
)  # fmt: skip
_VALUE = st.one_of(
    st.lists(_PIECE, max_size=8).map(b"".join),
    st.binary(max_size=40),
)
_LINE = st.tuples(_NAME, st.sampled_from([b":", b": ", b" : ", b"", b":\n\t"]), _VALUE).map(
    b"".join
)
_BLOCK = st.lists(_LINE, max_size=10).map(b"\n".join)


def _mutants(blocks: list[bytes], seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    out = list(blocks)
    pool = blocks or [b"From: a@b.example"]
    while len(out) < n:
        a, b = rng.choice(pool), rng.choice(pool)
        kind = rng.randrange(5)
        if kind == 0 and a:  # cut anywhere
            new = a[: rng.randrange(len(a))]
        elif kind == 1:  # splice two
            new = a[: rng.randrange(len(a) + 1)] + b[rng.randrange(len(b) + 1) :]
        elif kind == 2:  # a field repeated many times
            new = (a + b"\n") * rng.randrange(2, 300)
        elif kind == 3 and a:  # bytes flipped
            data = bytearray(a)
            for _ in range(rng.randrange(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            new = bytes(data)
        else:  # folded at random
            new = a.replace(b" ", b"\n ", rng.randrange(1, 5))
        out.append(new)
    return out


def _escaped(block: bytes) -> bytes:
    """As an mboxrd writer stores it: no line may start with ">*From "; no empty line."""
    lines = [b">" + x if x.lstrip(b">").startswith(b"From ") else x for x in block.split(b"\n")]
    return b"\n".join(x for x in lines if x.strip(b"\r"))


def _check(item: object, where: str) -> Counter[str]:
    if isinstance(item, Skipped):
        assert item.where == where
        assert item.reason
        assert "\n" not in item.reason
        assert "\r" not in item.reason
        return Counter({f"skipped: {item.reason.split(':')[0]}": 1})
    assert isinstance(item, MailHeaders)
    assert item.where == where
    assert item.from_address == item.from_address.lower()
    assert "@" in item.from_address
    assert not any(c.isspace() for c in item.from_address)
    assert item.date is None or item.date.tzinfo is dt.UTC
    assert all(isinstance(u, str) and u for u in item.list_unsubscribe)
    return Counter({"read": 1})


@given(st.lists(_BLOCK, min_size=1, max_size=6), st.integers(0, 2**32))
def test_hostile_header_blocks_never_crash_and_bad_ones_are_skipped_with_a_reason(
    drawn: list[bytes], seed: int
) -> None:
    blocks = _mutants(drawn, seed, BLOCKS_PER_EXAMPLE)
    counts: Counter[str] = Counter()
    for i, block in enumerate(blocks):
        counts += _check(parse_headers(block, f"block {i}"), f"block {i}")
    assert counts.total() == len(blocks)

    # The same blocks as an mbox file: one message each, none lost, none crashing the scan.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.mbox"
        path.write_bytes(
            b"".join(
                b"From x@y.example Mon Jun  1 10:00:00 2026\n" + _escaped(b) + b"\n\nbody\n\n"
                for b in blocks
            )
        )
        run = MboxSource(path).scan()
        try:
            items = list(run)
        finally:
            run.close()
    assert len(items) == len(blocks)
    for item in items:
        _check(item, item.where)


def test_a_header_of_megabytes_of_other_fields_is_read() -> None:
    raw = b"Received: " + b"x" * 200 + b"\n"
    raw = raw * 8000 + b"From: a@b.example\nList-Id: <l.b.example>\n"
    assert len(raw) > 1_500_000
    got = parse_headers(raw, "big")
    assert isinstance(got, MailHeaders)
    assert got.list_id == "l.b.example"


def test_a_header_block_over_the_size_cap_of_wanted_fields_is_skipped_as_too_large() -> None:
    raw = b"From: a@b.example\n" + b"DKIM-Signature: d=x.example; b=" + b"A" * MAX_FIELDS_BYTES
    got = parse_headers(raw, "huge")
    assert got == Skipped("huge", "header block too large (over 256 KiB)")


def test_thousands_of_duplicated_fields_read_as_the_first_ones() -> None:
    raw = b"From: a@b.example\n" + b"DKIM-Signature: v=1; d=spam.example\n" * 5000
    got = parse_headers(raw, "dup")
    assert isinstance(got, MailHeaders)
    assert got.dkim_domains == ("spam.example",)


def test_nuls_8_bit_bytes_and_unbalanced_angles_leave_fields_empty_not_a_crash() -> None:
    raw = (
        b"From: \xff\xfe\x00 <a\x00@b.example\n"
        b"Message-ID: <<<\n"
        b"List-Id: >broken<\n"
        b"List-Unsubscribe: <https://x.example, <mailto:\n"
        b"Date: \x00\x00\n"
        b"DKIM-Signature: d=\xff.example\n"
    )
    got = parse_headers(raw, "nul")
    assert isinstance(got, MailHeaders | Skipped)
    if isinstance(got, MailHeaders):
        assert got.date is None
        assert got.dkim_domains == ()
