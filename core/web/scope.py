"""Reading a request's headers straight off its ASGI scope.

Litestar's ``request.headers`` builds a ``Headers`` object from the scope on each
access (~2 µs); the per-request flow reads two or three single headers on every
request (Host, Accept), so it looks them up in the scope's raw list instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["header"]


def header(scope: Any, name: bytes, default: str = "") -> str:
    """The first value of header ``name`` (lower-case bytes, as ASGI servers send names)."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return default
