"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives.

``Controller(port=0)`` fails aiosmtpd's own self-check, so a free port is picked first.
Subjects arrive RFC 2047-encoded; the default email policy decodes them.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

from tests.support.server import free_port

__all__ = ["Mailbox", "smtp_server"]

M = TypeVar("M", bound="Mailbox")


class Mailbox:
    """aiosmtpd handler that keeps every message; helpers read the latest one."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def last(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no mail to {address}; got {[str(m['To']) for m in self.messages]}"
        return found[-1]

    @staticmethod
    def subject(msg: EmailMessage) -> str:
        return str(msg["Subject"])

    @staticmethod
    def body(msg: EmailMessage) -> str:
        part = msg.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    def link(self, address: str) -> str:
        """The first link of the latest mail to ``address``."""
        urls = re.findall(r"https?://\S+", self.body(self.last(address)))
        assert urls, "the last mail has no link"
        return str(urls[0])


@contextmanager
def smtp_server(mailbox: M) -> Iterator[tuple[M, int]]:
    """Run ``mailbox`` as an SMTP server on a free port of 127.0.0.1."""
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
