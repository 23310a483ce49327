"""Typed errors → HTTP, once. No stack trace or internal message ever reaches a client:
unexpected errors answer 500 with a request id that is logged with the detail."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from portalis.core.errors import PortalisError
from portalis.core.web.scope import header

__all__ = ["EXCEPTION_HANDLERS", "wants_json"]

log = logging.getLogger("portalis.errors")

HEADINGS = {400: "Bad request", 401: "Sign-in required", 403: "Access denied",
            404: "Not found", 405: "Method not allowed", 409: "Conflict",
            413: "Too large", 415: "Unsupported media type", 429: "Too many requests",
            500: "Something went wrong"}


def wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.scope["path"]
    if path.startswith(("/_api", "/_auth/api", "/schema")):
        return True
    accept = header(request.scope, b"accept")
    return "application/json" in accept and "text/html" not in accept


def _respond(request: Request[Any, Any, Any], status: int, code: str, message: str,
             request_id: str | None = None, extra: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Response[Any]:
    if wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if request_id:
            body["request_id"] = request_id
        body.update(extra or {})
        return Response({"error": body}, status_code=status, media_type=MediaType.JSON,
                        headers=headers)
    from portalis.core.web.pages import render_page

    html = render_page(request, "error.liquid", title=HEADINGS.get(status, "Error"),
                       status=status, heading=HEADINGS.get(status, "Error"), message=message,
                       request_id=request_id)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=headers)


def portalis_error(request: Request[Any, Any, Any], exc: PortalisError) -> Response[Any]:
    extra = {k: v for k, v in exc.detail.items() if isinstance(v, str | int | float | bool)}
    return _respond(request, exc.status, exc.code, exc.message, extra=extra)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        return server_error(request, exc)
    message = exc.detail or HEADINGS.get(status, "Error")
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        extra["problems"] = [
            {"key": str(p.get("key", "")), "message": str(p.get("message", ""))}
            for p in exc.extra if isinstance(p, dict)
        ]
    code = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 413: "too_large", 429: "too_many_requests"
            }.get(status, "error")
    if status == 403 and "csrf" in str(message).lower():
        code, message = "csrf_failed", "missing or wrong CSRF token"
    return _respond(request, status, code, str(message), extra=extra,
                    headers=getattr(exc, "headers", None))


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request_id = secrets.token_hex(8)
    log.error("request %s %s %s failed", request_id, request.method, request.scope["path"],
              exc_info=exc)
    return _respond(request, 500, "server_error",
                    "the server could not complete the request", request_id=request_id)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    PortalisError: portalis_error,
    HTTPException: http_error,
    Exception: server_error,
}
