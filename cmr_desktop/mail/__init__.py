"""The mailbox: reading the headers of the mail brands send (never bodies), from an mbox
file, a Maildir folder or an IMAP account, and the customer's own SMTP account for
``mailto:`` unsubscribes. See :mod:`cmr_desktop.mail.headers` for the shared types."""
