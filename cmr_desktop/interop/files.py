"""Writing an export file whole or not at all (used by the CLI and the desktop app)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(
    path: Path, writer: Callable[[IO[str]], int], newline: str | None = None
) -> int:
    """Write through ``writer(stream)`` into a temporary file beside ``path``, then rename it
    over ``path``: a failure never leaves half a file. Returns what ``writer`` returns.

    A symbolic link is written through (its target is replaced), not replaced itself; an
    existing file keeps its permissions, a new one gets the usual ``0o644`` minus the umask.

    Raises:
        ValueError: ``path`` is empty or a folder.
        OSError: the file cannot be written (the message names why).
    """
    if not str(path).strip():
        raise ValueError("give a file name")
    path = path.resolve()
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        # backslashreplace: a lone surrogate stored before imports refused it is written as
        # "\\ud800" (its JSON escape) instead of failing the whole export.
        with os.fdopen(
            fd, "w", encoding="utf-8", errors="backslashreplace", newline=newline
        ) as out:
            count = writer(out)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _umask() -> int:
    """The process umask, read without changing it where the system allows (setting it, even
    briefly, would race with other threads creating files, as in the desktop app)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
