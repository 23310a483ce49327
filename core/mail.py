"""Outgoing mail: aiosmtplib to any SMTP server, every message also kept in the outbox.

With no SMTP server configured (the embedded default) messages land only in the
``portalis_outbox`` table, which ``portalis outbox`` shows.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

import aiosmtplib

from portalis.core.codec import encode, utcnow

__all__ = ["Mailer"]


class Mailer:
    def __init__(self, db: Any, smtp_url: str, sender: str) -> None:
        self.db = db
        self.smtp_url = smtp_url
        self.sender = sender

    async def send(self, to: str, subject: str, body: str, *, website_id: int | None = None,
                   html: str | None = None, headers: dict[str, str] | None = None) -> None:
        """Send one message (plain text, optional HTML alternative) and record it."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
        delivered = False
        if self.smtp_url:
            parsed = urlparse(self.smtp_url)
            await aiosmtplib.send(
                msg, hostname=parsed.hostname or "127.0.0.1", port=parsed.port or 25,
                username=parsed.username, password=parsed.password,
                start_tls=parsed.scheme == "smtp+starttls", use_tls=parsed.scheme == "smtps",
                timeout=30,
            )
            delivered = True
        await self.db.execute(
            'INSERT INTO "portalis_outbox" ("website", "recipient", "subject", "body", '
            '"delivered", "created") VALUES (?, ?, ?, ?, ?, ?)',
            website_id, to, subject, body, encode(delivered, self.db.dialect),
            encode(utcnow(), self.db.dialect),
        )
