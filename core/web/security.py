"""Response hardening in one place: security headers on every response.

An ASGI layer around the whole app (``create_app`` wraps the Litestar app's handler
with it, outside routing, so error pages of unmatched paths and wrong methods, answers
of the request gates, static files, mounts and plugin routes all get the same headers):
a Content-Security-Policy with ``frame-ancestors``, ``X-Content-Type-Options:
nosniff``, ``Referrer-Policy``, ``Cross-Origin-Opener-Policy``, ``X-Frame-Options``, and
HSTS when the request arrived over HTTPS. Headers a handler set itself are kept.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "security_headers_middleware"]

CSP = ("default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'self'")
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "x-frame-options": "SAMEORIGIN",
}
HSTS = "max-age=31536000; includeSubDomains"
_ENCODED = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_HSTS = (b"strict-transport-security", HSTS.encode())


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {bytes(k).lower() for k, _ in headers}
                headers.extend([h for h in _ENCODED if h[0] not in present])
                if https and _HSTS[0] not in present:
                    headers.append(_HSTS)
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware
