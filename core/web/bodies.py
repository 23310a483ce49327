"""Request bodies of write routes, for the kernel and plugins alike: a JSON object, or
the text fields of a form (without the CSRF token field)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict

from portalis.core.errors import InvalidInput

__all__ = ["form_fields", "json_object"]

CSRF_FIELD = "_csrf_token"


async def json_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The body as a JSON object; not JSON, or JSON but not an object: 400 ``invalid_body``."""
    try:
        data = await request.json()
    except Exception:
        raise InvalidInput("the body is not valid JSON", code="invalid_body") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_body")
    return data


def form_fields(form: FormMultiDict) -> dict[str, str]:
    """A form's text fields (files left out), without the CSRF token field."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
