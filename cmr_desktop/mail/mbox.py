"""An mbox file (a Google Takeout export, Thunderbird's folders, ``mutt``'s): headers only.

The file is read in chunks (:data:`CHUNK` bytes; never the whole file in memory, and no
``mmap``, whose pages would count in the app's resident memory). A message starts at a
"From " line (mboxo and mboxrd alike: a body line that starts "From " was escaped as ">From "
by the writer); to be safe with writers that did not escape, a "From " line counts as a
separator only if it looks like one (a sender and a time, ``From x Mon Jan 1 10:00:00
2024``). A message's header block ends at its first empty line; the body is skipped
unread, and never parsed.

Resume point: the byte offset where the next message starts, with the file's size and
modification time and a checksum of the bytes before the offset. A second scan of a file
that only grew reads only what was appended; a file that shrank or was rewritten is read
again from the start.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator, Mapping
from io import BufferedReader
from pathlib import Path

from cmr_desktop.mail.errors import MailError
from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.mail.parse import MAX_BLOCK_BYTES, header_end, parse_headers

__all__ = ["CHUNK", "MboxRun", "MboxSource"]

#: How much is read at a time.
CHUNK = 1 << 20
_CHECK = 4096  # bytes before the resume offset that must be unchanged
_SEP = b"\nFrom "
# A real "From " line: a sender, then somewhere a time ("From - Tue Nov 02 10:00:00 2021",
# "From 17893@xxx Wed Mar 06 10:11:12 +0000 2024", "From a@b.c Mon Jun  1 00:49:25 2026").
_FROM_LINE = re.compile(rb"From \S+[ \t]+[^\n]*?\d:\d\d")


class MboxSource:
    """An mbox file; ``key`` is ``mbox:<absolute path>``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.abspath(path))

    @property
    def key(self) -> str:
        return f"mbox:{self.path}"

    def describe(self) -> str:
        return f"the mbox file {self.path}"

    def scan(self, resume: Mapping[str, object] | None = None) -> MboxRun:
        try:
            return MboxRun(self.path, resume)
        except OSError as exc:
            raise MailError(
                f"cannot read the mbox file {self.path}: {exc.strerror or type(exc).__name__}"
            ) from None


def _int(resume: Mapping[str, object] | None, key: str) -> int:
    value = resume.get(key) if resume else None
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


class MboxRun:
    """One pass: iterate for :class:`MailHeaders` / :class:`Skipped` in file order."""

    total: int | None = None  # not known without reading the file

    def __init__(self, path: Path, resume: Mapping[str, object] | None) -> None:
        self.path = path
        self._file: BufferedReader | None = open(path, "rb")  # noqa: SIM115 (closed by close())
        st = os.fstat(self._file.fileno())
        self._size = st.st_size
        self._mtime_ns = st.st_mtime_ns
        self.start = self._resume_offset(resume)
        self._next = self.start  # where the message after the last one yielded starts

    def _check(self, offset: int) -> int:
        """A checksum of the file's first bytes and of the bytes just before ``offset``."""
        assert self._file is not None
        # pread: the scan reads this same file sequentially, and the resume point is asked
        # for between its messages (after each stored batch); a seek here would move it.
        fd = self._file.fileno()
        head = os.pread(fd, min(offset, _CHECK), 0)
        tail = os.pread(fd, min(offset, _CHECK), max(0, offset - _CHECK))
        return zlib.crc32(tail, zlib.crc32(head))

    def _resume_offset(self, resume: Mapping[str, object] | None) -> int:
        offset, size, mtime = (_int(resume, k) for k in ("offset", "size", "mtime_ns"))
        if offset <= 0 or size < offset or self._size < size:
            return 0  # no resume point, or the file shrank: from the start
        if self._size == size and self._mtime_ns != mtime:
            return 0  # rewritten in place
        if _int(resume, "check") != self._check(offset):
            return 0  # the mail before the offset is not what was read
        if offset < self._size:
            assert self._file is not None
            self._file.seek(offset)
            if not _FROM_LINE.match(self._file.read(256)):
                return 0  # the offset is no longer where a message starts
        return offset

    def resume_point(self) -> dict[str, object]:
        if self._file is None:  # closed: the figures were kept
            return dict(self._closed_point)
        return {
            "offset": self._next,
            "size": self._size,
            "mtime_ns": self._mtime_ns,
            "check": self._check(self._next),
        }

    def close(self) -> None:
        if self._file is not None:
            self._closed_point = self.resume_point()
            self._file.close()
            self._file = None

    def __enter__(self) -> MboxRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[MailHeaders | Skipped]:
        f = self._file
        if f is None:
            return
        name = self.path.name
        limit = self._size  # what was there when the run began: appends wait for the next
        # One buffer and one read area for the whole run (a new megabyte per read cost
        # more than the reading: page faults).
        buf, base, eof, end = bytearray(), self.start, False, 0
        area = memoryview(bytearray(CHUNK))

        def fill(keep_from: int) -> None:
            """Drop ``buf[:keep_from]`` and read on. ``end``: separators are looked for
            only up to the last line break, so a "From " line cut by the chunk's end is
            judged when it is whole."""
            nonlocal base, eof, end
            base += keep_from
            del buf[:keep_from]
            want = min(CHUNK, limit - base - len(buf))
            got = f.readinto(area[:want]) if want > 0 else 0
            buf.extend(area[:got])
            eof = got < want or base + len(buf) >= limit
            end = len(buf) if eof else buf.rfind(b"\n") + len(_SEP) - 1

        f.seek(self.start)
        fill(0)
        i = 0
        if not _FROM_LINE.match(buf):  # junk before the first message: skip to a separator
            s = _find_sep(buf, 0, end)
            while s < 0 and not eof:
                fill(max(0, end - len(_SEP) + 1))
                s = _find_sep(buf, 0, end)
            if s < 0:
                return
            i = s + 1
        while True:  # buf[i:] starts with a "From " line
            while True:
                le = buf.find(b"\n", i)  # the end of the "From " line
                s = _find_sep(buf, le, end) if le >= 0 else -1  # the next message
                h = header_end(buf, le, len(buf) if s < 0 else s + 1) if le >= 0 else -1
                if s >= 0 or h >= 0 or eof or len(buf) - i > MAX_BLOCK_BYTES:
                    break
                fill(i)
                i = 0
            where = f"{name} at byte {base + i}"
            # The header block: up to the first empty line (or the next message, for one
            # without a body); never a byte of the body.
            if le < 0:
                h = len(buf)
            elif h < 0:
                h = s + 1 if s >= 0 else len(buf) if eof else -1
            if h < 0:
                item: MailHeaders | Skipped = Skipped(
                    where, f"header block too large (over {MAX_BLOCK_BYTES >> 20} MiB)"
                )
            else:
                item = parse_headers(bytes(buf[le + 1 : h]) if le >= 0 else b"", where, cut=False)
            while s < 0 and not eof:  # skip the body, unread
                fill(max(i, end - len(_SEP) + 1))
                i = 0
                s = _find_sep(buf, 0, end)
            if s < 0:
                self._next = base + len(buf)
                yield item
                return
            i = s + 1
            self._next = base + i
            yield item


def _find_sep(buf: bytearray, pos: int, end: int) -> int:
    """The ``\\n`` before the next real "From " line in ``buf[pos:end]``, or -1."""
    while True:
        p = buf.find(_SEP, pos, end)
        if p < 0 or _FROM_LINE.match(buf, p + 1):
            return p
        pos = p + 1
