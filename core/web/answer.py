"""A finished 200 answer for the hot read routes: the body and two headers, sent as is.

Litestar's ``ASGIResponse`` keeps its headers in a ``MutableScopeHeaders``, looks them
up with ``setdefault`` on creation and goes through ``start_response``, ``send_body``
and ``after_response`` when sent (~6 µs a list page). :class:`Answer` sends the same
two messages with the same headers (``content-type``, then ``content-length``); it is
an ``ASGIResponse`` to Litestar (return type, OpenAPI), without its machinery. Only
for a complete body on a GET: no cookies, no background tasks, no HEAD.
"""

from __future__ import annotations

from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

__all__ = ["HTML", "JSON", "Answer"]

HTML = b"text/html; charset=utf-8"
JSON = b"application/json"


class Answer(ASGIResponse):
    __slots__ = ("_raw_headers",)

    def __init__(self, body: bytes, content_type: bytes) -> None:
        # ASGIResponse.__init__ is not called: only body and the raw headers are used
        self.body = body
        self.status_code = 200
        self._raw_headers = [(b"content-type", content_type),
                             (b"content-length", str(len(body)).encode())]

    def encode_headers(self) -> list[tuple[bytes, bytes]]:
        return list(self._raw_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": self._raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
