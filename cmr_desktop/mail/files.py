"""A path the customer gave -> the mail source it is: an mbox file or a Maildir folder."""

from __future__ import annotations

from pathlib import Path

from cmr_desktop.mail.errors import MailError
from cmr_desktop.mail.headers import MailSource
from cmr_desktop.mail.maildir import MaildirSource
from cmr_desktop.mail.mbox import MboxSource

__all__ = ["source_for_path"]


def source_for_path(path: Path) -> MailSource:
    """An :class:`MboxSource` for a file that starts with a "From " line (or is empty), a
    :class:`MaildirSource` for a folder with ``cur/`` or ``new/``; else :class:`MailError`
    with one line saying what is wrong with which path."""
    path = Path(path).expanduser()
    try:
        if path.is_dir():
            if (path / "cur").is_dir() or (path / "new").is_dir():
                return MaildirSource(path)
            raise MailError(f"not a Maildir folder: {path} (it has no cur/ or new/ folder inside)")
        if not path.exists():
            raise MailError(f"no such file or folder: {path}")
        with open(path, "rb") as f:
            first = f.read(5)
    except PermissionError:
        raise MailError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise MailError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if first and first != b"From ":
        raise MailError(f"not an mbox file: {path} (first line is not 'From ')")
    return MboxSource(path)
