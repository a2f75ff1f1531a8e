"""The types every mail source yields and every consumer reads.

A source (:mod:`.mbox`, :mod:`.maildir`, :mod:`.imap`) reads only the header fields in
:data:`WANTED_FIELDS`, never a body, and yields one :class:`MailHeaders` per message it could
read and one :class:`Skipped` per message it could not (with the reason), in the order of
the mailbox. A scan is resumable: :meth:`ScanRun.resume_point` says where the next scan
starts so that it reads only new mail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

#: The only header fields a source reads (IMAP: ``BODY.PEEK[HEADER.FIELDS (...)]``).
WANTED_FIELDS: tuple[str, ...] = (
    "From",
    "Sender",
    "Reply-To",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "DKIM-Signature",
    "Authentication-Results",
)


@dataclass(frozen=True, slots=True)
class MailHeaders:
    """What one message's headers say, normalised. Untrusted text: show as plain text.

    Attributes:
        where: where the message is, for evidence and messages ("inbox.mbox at byte 1234",
            "imap://me@example.org/INBOX uid 42").
        message_id: the Message-ID without angle brackets ("" if none).
        date: when it was sent, UTC (``None`` if missing or unreadable).
        from_address: the From addr-spec, lower-case ("" if none or unreadable).
        from_name: the From display name, RFC 2047 decoded ("" if none).
        sender: the Sender addr-spec, lower-case ("").
        reply_to: the first Reply-To addr-spec, lower-case ("").
        list_id: the List-Id's id (inside ``<>``), lower-case ("").
        list_unsubscribe: the List-Unsubscribe URIs in order (``https:...``, ``mailto:...``).
        one_click: List-Unsubscribe-Post says ``List-Unsubscribe=One-Click`` (RFC 8058).
        dkim_domains: the ``d=`` domain of each DKIM-Signature, lower-case.
        dkim_pass_domains: domains the receiving server's Authentication-Results says passed
            DKIM (``dkim=pass header.d=...`` / ``header.i=...@domain``), lower-case.
    """

    where: str
    message_id: str = ""
    date: dt.datetime | None = None
    from_address: str = ""
    from_name: str = ""
    sender: str = ""
    reply_to: str = ""
    list_id: str = ""
    list_unsubscribe: tuple[str, ...] = ()
    one_click: bool = False
    dkim_domains: tuple[str, ...] = ()
    dkim_pass_domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """A message a source could not read: counted and skipped, never a crash."""

    where: str
    reason: str


class ScanRun(Protocol):
    """One pass over a source, from where the previous one ended."""

    #: How many messages this run will yield at most, when known up front (else ``None``).
    total: int | None

    def __iter__(self) -> Iterator[MailHeaders | Skipped]: ...

    def resume_point(self) -> dict[str, object]:
        """JSON-able: where the next scan starts. Covers exactly the messages yielded so
        far, so a run stopped between two items (cancel) resumes without loss or repeat."""
        ...

    def close(self) -> None:
        """Release files and connections (also after a cancel)."""
        ...


class MailSource(Protocol):
    """An mbox file, a Maildir folder or an IMAP account."""

    @property
    def key(self) -> str:
        """A stable identity for storing the resume point ("mbox:/abs/path", "imap:user@host")."""
        ...

    def describe(self) -> str:
        """For the customer: "the mbox file ~/Takeout/All mail.mbox"."""
        ...

    def scan(self, resume: Mapping[str, object] | None = None) -> ScanRun:
        """Start a pass; ``resume`` is a previous run's :meth:`ScanRun.resume_point`."""
        ...
