"""A Maildir folder (``cur/`` and ``new/``, one file per message): headers only.

Of each file only the header part is read (in :data:`READ` byte steps, up to the first empty
line), never the body. The messages are read in the order of their files' modification
times (then names), which is the order they were delivered in; the resume point is that
watermark: the newest modification time read, and the unique names (the part before
``:2,``, which stays when a mail client moves a file from ``new/`` to ``cur/`` or changes its
flags) read at exactly that time. A second scan reads only files delivered since.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from cmr_desktop.mail.errors import MailError
from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.mail.parse import MAX_BLOCK_BYTES, header_end, parse_headers

__all__ = ["READ", "MaildirRun", "MaildirSource"]

#: How much of a file is read at a time while looking for the end of its header.
READ = 16 * 1024


class MaildirSource:
    """A Maildir folder; ``key`` is ``maildir:<absolute path>``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.abspath(path))

    @property
    def key(self) -> str:
        return f"maildir:{self.path}"

    def describe(self) -> str:
        return f"the Maildir folder {self.path}"

    def scan(self, resume: Mapping[str, object] | None = None) -> MaildirRun:
        if not (self.path / "cur").is_dir() and not (self.path / "new").is_dir():
            raise MailError(f"not a Maildir folder (any more): {self.path} has no cur/ or new/")
        return MaildirRun(self.path, resume)


def _unique(name: str) -> str:
    """A Maildir file name without its flags (``123.M4P5.host:2,S`` -> ``123.M4P5.host``)."""
    return name.partition(":")[0].partition("!")[0]  # "!" is the flag separator on Windows


class MaildirRun:
    """One pass over the files delivered since the resume point; ``total`` is their count."""

    def __init__(self, path: Path, resume: Mapping[str, object] | None) -> None:
        self.path = path
        mark = resume.get("mtime_ns") if resume else None
        at = resume.get("names_at_mark") if resume else None
        self._mark = mark if isinstance(mark, int) and not isinstance(mark, bool) else -1
        self._at_mark: set[str] = (
            {n for n in at if isinstance(n, str)} if isinstance(at, list) else set()
        )
        files: list[tuple[int, str, str]] = []  # (mtime_ns, unique name, path)
        for sub in ("cur", "new"):
            try:
                entries = os.scandir(path / sub)
            except OSError:
                continue
            with entries:
                for e in entries:
                    if e.name.startswith("."):
                        continue
                    try:
                        st = e.stat()
                    except OSError:  # moved or deleted meanwhile: the next scan sees it
                        continue
                    unique = _unique(e.name)
                    if st.st_mtime_ns < self._mark or (
                        st.st_mtime_ns == self._mark and unique in self._at_mark
                    ):
                        continue
                    files.append((st.st_mtime_ns, unique, e.path))
        files.sort()
        self._files = files
        self.total: int | None = len(files)

    def __iter__(self) -> Iterator[MailHeaders | Skipped]:
        base = len(str(self.path)) + 1
        for mtime, unique, file in self._files:
            where = file[base:]
            item = _read(file, where)
            if mtime != self._mark:
                self._mark = mtime
                self._at_mark = set()
            self._at_mark.add(unique)
            yield item

    def resume_point(self) -> dict[str, object]:
        return {"mtime_ns": self._mark, "names_at_mark": sorted(self._at_mark)}

    def close(self) -> None:
        self._files = []

    def __enter__(self) -> MaildirRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(file: str, where: str) -> MailHeaders | Skipped:
    """The header part of one message file, parsed."""
    try:
        with open(file, "rb", buffering=0) as f:
            block = f.read(READ)
            end = header_end(block)
            while end < 0:
                more = f.read(READ)
                if not more:
                    end = len(block)
                    break
                if len(block) > MAX_BLOCK_BYTES:
                    return Skipped(
                        where, f"header block too large (over {MAX_BLOCK_BYTES >> 20} MiB)"
                    )
                block += more
                end = header_end(block, max(0, len(block) - len(more) - 2))
    except FileNotFoundError:
        return Skipped(where, "the file went away while reading (moved by a mail client?)")
    except OSError as exc:
        return Skipped(where, f"cannot read the file ({exc.strerror or type(exc).__name__})")
    return parse_headers(block[:end], where, cut=False)
