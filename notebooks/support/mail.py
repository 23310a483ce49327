"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the notebooks, and the mail it got.

:func:`start_smtp` starts one on a free port; point the portal at it with
``fresh_database(..., PORTALIS_SMTP_URL=mail.url)``. :meth:`Mailbox.wait_for` waits for
a message to an address (the portal sends some mail in the background, after it has
answered), :meth:`Mailbox.link` and :meth:`Mailbox.code` read the link or the 6-digit
code of the newest one.
"""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["Mailbox", "start_smtp"]

_RUNNING: list[Mailbox] = []


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15) -> EmailMessage:
        """The newest message to ``address`` once it has at least ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail #{count} to {address} within {timeout} s; got "
                                     f"{[str(m['To']) for m in self.messages]}")
            time.sleep(0.05)
        return self.to(address)[-1]

    @staticmethod
    def body(msg: EmailMessage) -> str:
        part = msg.get_body(("plain",))
        assert part is not None, "the message has no text part"
        return str(part.get_content())  # type: ignore[attr-defined]

    def link(self, msg: EmailMessage) -> str:
        urls = re.findall(r"https?://\S+", self.body(msg))
        assert urls, "the message has no link"
        return str(urls[0])

    def code(self, msg: EmailMessage) -> str:
        found = re.search(r"\b(\d{6})\b", self.body(msg))
        assert found, "the message has no 6-digit code"
        return found.group(1)

    def stop(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
            self._controller.stop()


def start_smtp() -> Mailbox:
    """Start an SMTP server on a free port of 127.0.0.1 (stopped at exit at the latest)."""
    mailbox = Mailbox()
    mailbox._controller.start()
    _RUNNING.append(mailbox)
    return mailbox


@atexit.register
def _clean_up() -> None:
    for mailbox in list(_RUNNING):
        with contextlib.suppress(Exception):
            mailbox.stop()
