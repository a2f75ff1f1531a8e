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

import gc
import logging
import marshal
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping
from io import BufferedReader
from pathlib import Path
from typing import Protocol

from cmr_desktop.mail.errors import MailError
from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.mail.parse import MAX_BLOCK_BYTES, Fields, cut_fields, header_end, read_fields

__all__ = ["CHUNK", "SPLIT_IN_WORKER_FROM", "MboxRun", "MboxSource"]

_log = logging.getLogger(__name__)

#: How much is read at a time.
CHUNK = 1 << 20
#: From how many bytes to read on is the file split into messages by a second process
#: (:func:`_worker_cuts`), so that reading and parsing run on two cores.
SPLIT_IN_WORKER_FROM = 32 << 20
_BATCH = 400  # messages per frame from the worker
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
    _cuts: Iterator[Cut] | None = None

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
        cuts, self._cuts = self._cuts, None
        close = getattr(cuts, "close", None)
        if close is not None:
            close()  # a worker process of a scan stopped half way ends now
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
        cuts: Iterator[Cut] | None = None
        if limit - self.start >= SPLIT_IN_WORKER_FROM:
            cuts = _worker_cuts(f, self.start, limit)
        if cuts is None:
            cuts = _cuts(f, self.start, limit)
        self._cuts = cuts
        try:
            for at, fields, after in cuts:
                item = read_fields(fields, f"{name} at byte {at}")
                self._next = after
                yield item
        finally:
            close = getattr(cuts, "close", None)
            if close is not None:
                close()


#: One message as the splitter found it: where it starts, its header block (``None``: over
#: :data:`MAX_BLOCK_BYTES`), and where the message after it starts (or the end of the file).
Block = tuple[int, bytes | None, int]
#: A :data:`Block` with its header block cut to the wanted fields (or why it is skipped).
Cut = tuple[int, Fields | str, int]
_TOO_LARGE = f"header block too large (over {MAX_BLOCK_BYTES >> 20} MiB)"


def _cuts(f: _Reader, start: int, limit: int) -> Iterator[Cut]:
    for at, raw, after in _blocks(f, start, limit):
        yield at, _TOO_LARGE if raw is None else cut_fields(raw, cut=False), after


class _Reader(Protocol):
    def seek(self, pos: int, /) -> int: ...
    def readinto(self, into: memoryview, /) -> int: ...


def _blocks(f: _Reader, start: int, limit: int) -> Iterator[Block]:
    """Split ``f`` from ``start`` (a message's start, or 0) to ``limit`` into messages."""
    # One buffer and one read area for the whole run (a new megabyte per read cost more
    # than the reading: page faults).
    buf, base, eof, end = bytearray(), start, False, 0
    area = memoryview(bytearray(CHUNK))

    def fill(keep_from: int) -> None:
        """Drop ``buf[:keep_from]`` and read on. ``end``: separators are looked for only up
        to the last line break, so a "From " line cut by the chunk's end is judged when it
        is whole."""
        nonlocal base, eof, end
        base += keep_from
        del buf[:keep_from]
        want = min(CHUNK, limit - base - len(buf))
        got = f.readinto(area[:want]) if want > 0 else 0
        buf.extend(area[:got])
        eof = got < want or base + len(buf) >= limit
        end = len(buf) if eof else buf.rfind(b"\n") + len(_SEP) - 1

    f.seek(start)
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
        at = base + i
        # The header block: up to the first empty line (or the next message, for one
        # without a body); never a byte of the body.
        if le < 0:
            h = len(buf)
        elif h < 0:
            h = s + 1 if s >= 0 else len(buf) if eof else -1
        raw = None if h < 0 else bytes(buf[le + 1 : h]) if le >= 0 else b""
        while s < 0 and not eof:  # skip the body, unread
            fill(max(i, end - len(_SEP) + 1))
            i = 0
            s = _find_sep(buf, 0, end)
        if s < 0:
            yield at, raw, base + len(buf)
            return
        i = s + 1
        yield at, raw, base + i


def _find_sep(buf: bytearray, pos: int, end: int) -> int:
    """The ``\\n`` before the next real "From " line in ``buf[pos:end]``, or -1."""
    while True:
        p = buf.find(_SEP, pos, end)
        if p < 0 or _FROM_LINE.match(buf, p + 1):
            return p
        pos = p + 1


# --- splitting in a second process ---------------------------------------------------------
#
# Profiled on the 100,000-message bench mbox (bench/bench_discovery.py), one process spends
# about a third of its time finding where messages and header blocks end (``bytes.find``
# over every body byte: ~7 us of a 10 KB message) and two thirds parsing header blocks. The
# worker below does the first part and the field cut (``cut_fields``: ~7 us) on the other
# core and hands over only the wanted fields, so both cores share the work. It is a plain
# ``python -c`` child reading the same open file (its descriptor is passed, read with
# ``pread``, so no offset is shared and no second open can find another file at the path);
# frames on its stdout: a little-endian length, then a
# ``marshal``-ed list of :data:`Cut` (only built-in types: nothing is unpickled). A
# length of 0 ends the run. If the worker cannot start or fails half way, the scan carries
# on in this process from the last message it handed over: the result is the same.

_FRAME = struct.Struct("<I")
_WORKER = "from cmr_desktop.mail.mbox import _serve; _serve()"


_PREADV: Callable[[int, list[memoryview], int], int] | None = getattr(os, "preadv", None)


class _PRead:
    """``seek``/``readinto`` over a descriptor with ``pread``: a position of its own."""

    def __init__(self, fd: int) -> None:
        self._fd, self._pos = fd, 0

    def seek(self, pos: int) -> int:
        self._pos = pos
        return pos

    def readinto(self, into: memoryview) -> int:
        if _PREADV is not None:
            got = _PREADV(self._fd, [into], self._pos)
        else:  # macOS before 11: one more copy
            data = os.pread(self._fd, len(into), self._pos)
            got = len(data)
            into[:got] = data
        self._pos += got
        return got


def _serve() -> None:
    """The worker: ``argv`` is ``FD START LIMIT``; frames to stdout."""
    fd, start, limit = (int(a) for a in sys.argv[1:4])
    # Nothing here makes a reference cycle, and the collector's passes over the batches being
    # built cost 7% of the worker's time (measured on the bench mbox): reference counting
    # frees everything.
    gc.disable()
    out = sys.stdout.buffer
    batch: list[Cut] = []
    for block in _cuts(_PRead(fd), start, limit):
        batch.append(block)
        if len(batch) >= _BATCH:
            data = marshal.dumps(batch)
            out.write(_FRAME.pack(len(data)) + data)
            batch = []
    if batch:
        data = marshal.dumps(batch)
        out.write(_FRAME.pack(len(data)) + data)
    out.write(_FRAME.pack(0))
    out.flush()


def _worker_cuts(f: BufferedReader, start: int, limit: int) -> Iterator[Cut] | None:
    """The cuts of ``f`` from a worker process; None if no worker can run here."""
    if getattr(sys, "frozen", False) or not sys.executable or os.name != "posix":
        return None  # a bundled app has no interpreter to start with -c; no pass_fds
    fd = f.fileno()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(fd), str(start), str(limit)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            pass_fds=(fd,),
        )
    except OSError as exc:
        _log.warning("mbox: no worker process (%s); splitting here", exc)
        return None
    return _from_worker(proc, f, start, limit)


def _valid(batch: object, at: int, limit: int) -> bool:
    """A frame is a list of (start, fields or a reason, next start), in order within the
    run. The fields' insides are not checked here: :func:`read_fields` never raises."""
    if not isinstance(batch, list):
        return False
    for item in batch:
        if not (isinstance(item, tuple) and len(item) == 3):
            return False
        begin, raw, after = item
        if not (isinstance(begin, int) and isinstance(after, int)):
            return False
        if not (at <= begin < after <= limit) or not isinstance(raw, dict | str):
            return False
        at = after
    return True


def _from_worker(
    proc: subprocess.Popen[bytes], f: BufferedReader, start: int, limit: int
) -> Iterator[Cut]:
    assert proc.stdout is not None
    read = proc.stdout.read
    done = start  # where the next message starts: what was handed over ends here
    finished = False
    try:
        while True:
            head = read(_FRAME.size)
            if len(head) != _FRAME.size:
                break
            (size,) = _FRAME.unpack(head)
            if size == 0:
                finished = True
                break
            data = read(size)
            try:
                batch = marshal.loads(data) if len(data) == size else None
            except (EOFError, ValueError, TypeError):
                batch = None
            if not _valid(batch, done, limit):
                break
            assert isinstance(batch, list)
            for block in batch:
                done = block[2]
                yield block
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        code = proc.wait()
    if not finished:
        _log.warning("mbox: the worker process stopped (exit %s); splitting here", code)
        if done < limit:
            yield from _cuts(f, done, limit)
