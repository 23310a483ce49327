"""Typed errors of the kernel, mapped to HTTP once (see :mod:`portalis.core.http_errors`)."""

from __future__ import annotations

__all__ = ["Conflict", "InvalidInput", "NotFound", "PermissionDenied", "PortalisError"]


class PortalisError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` a stable machine-readable code."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        body.update({k: v for k, v in self.detail.items() if v is not None})
        return {"error": body}


class InvalidInput(PortalisError):
    """The request is malformed or names something that does not exist in the schema."""

    status = 400
    code = "invalid_input"


class PermissionDenied(PortalisError):
    """No table permission grants the privilege (default deny)."""

    status = 403
    code = "permission_denied"


class NotFound(PortalisError):
    """The thing does not exist, or the principal may not know that it exists."""

    status = 404
    code = "not_found"


class Conflict(PortalisError):
    """The write collides with existing data (duplicate contact, unique key...)."""

    status = 409
    code = "conflict"
