"""Web helpers shared by the identity routes, and the list of all of them.

Every ``POST /_auth/...`` accepts form fields or a JSON object. JSON clients (a JSON
body, or ``Accept: application/json``) get JSON answers; browsers get redirects (303)
or the form again with a message. CSRF protection is the kernel's (cookie + header or
``_csrf_token`` form field).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.utils.scope.state import ScopeState

from portalis.core.web.bodies import form_fields, json_object
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.identity.sessions import session_cookie, session_id_of, timeouts
from portalis.plugins.identity.store import Store

__all__ = [
    "CHECK_EMAIL",
    "NOTICES",
    "SIGNIN_FAILED",
    "Input",
    "client_ip",
    "csrf_token",
    "fail",
    "notice_of",
    "page",
    "read_input",
    "redirect",
    "reply",
    "safe_return",
    "signed_in",
]


SIGNIN_FAILED = "Invalid sign-in attempt."
CHECK_EMAIL = ("Thank you. Check your email: we have sent a message to the address you "
               "gave with the next step.")
NOTICES = {
    "registered": CHECK_EMAIL,
    "confirmed": "Your email address is confirmed. You can sign in.",
    "reset": "Your password has been changed. Sign in with the new password.",
    "changed": "Your password has been changed.",
    "twofactor": "Your two-factor sign-in setting is saved.",
    "sent": ("If an account exists for that address, we have sent it a link to reset the "
             "password."),
}


def notice_of(request: Request[Any, Any, Any]) -> str:
    for key, text in NOTICES.items():
        if key in request.query_params:
            return text
    return ""


class Input:
    """A request's fields, from a form or a JSON object; ``json`` says which answer fits."""

    def __init__(self, data: dict[str, Any], json: bool) -> None:
        self.data = data
        self.json = json

    def text(self, name: str, limit: int = 1024) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            return ""
        return value[:limit]

    def flag(self, name: str) -> bool | None:
        value = self.data.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "on", "yes"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "0", "off", "no"):
            return False
        return None


async def read_input(request: Request[Any, Any, Any]) -> Input:
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        return Input(await json_object(request), True)
    return Input(form_fields(await request.form()), wants_json(request))


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address: the one a gate resolved through trusted proxies (ipfilter
    keeps it on ``request.state.client_address``), else the socket peer."""
    resolved = getattr(request.state, "client_address", None)
    if resolved:
        return str(resolved)
    return request.client.host if request.client else ""


def csrf_token(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def safe_return(url: str) -> str:
    """A local path to go back to after sign-in (never another site)."""
    if url.startswith("/") and not url.startswith(("//", "/\\")) and "\\" not in url:
        return url
    return "/"


def page(request: Request[Any, Any, Any], template: str, title: str, *, status: int = 200,
         background: BackgroundTask | None = None, **context: Any) -> Response[Any]:
    html = render_page(request, template, title=title, csrf_token=csrf_token(request),
                       **context)
    return Response(html, status_code=status, media_type=MediaType.HTML, background=background)


def reply(body: dict[str, Any], status: int = 200,
          background: BackgroundTask | None = None) -> Response[Any]:
    return Response(body, status_code=status, media_type=MediaType.JSON, background=background)


def redirect(url: str, background: BackgroundTask | None = None) -> Response[Any]:
    return Response(b"", status_code=303, headers={"location": url}, background=background)


def fail(request: Request[Any, Any, Any], form: Input, status: int, code: str, message: str,
         *, template: str, title: str, **context: Any) -> Response[Any]:
    """One error answer: JSON ``{"error": {...}}`` or the form again with the message."""
    if form.json:
        body: dict[str, Any] = {"code": code, "message": message}
        body.update({k: v for k, v in context.items() if k == "problems"})
        return reply({"error": body}, status)
    return page(request, template, title, status=status, error=message, **context)


async def signed_in(request: Request[Any, Any, Any], site: Any, services: Any, form: Input,
                    contact: dict[str, Any], return_url: str = "/", *,
                    extra: dict[str, Any] | None = None) -> Response[Any]:
    """Start a new session (a new id; the request's old session ends) and answer."""
    token = await Store(services).create_session(
        site.id, contact["id"], contact.get("email") or "", client_ip(request),
        replacing=session_id_of(request), timeouts=timeouts(site))
    if form.json:
        response = reply({"signed_in": True,
                          "contact": {"id": contact["id"], "email": contact.get("email")},
                          **(extra or {})})
    else:
        response = redirect(safe_return(return_url))
    response.set_cookie(session_cookie(request, site, token))
    return response


def all_routes() -> list[Any]:
    from portalis.plugins.identity.routes_email import EMAIL_ROUTES
    from portalis.plugins.identity.routes_local import LOCAL_ROUTES

    return [*LOCAL_ROUTES, *EMAIL_ROUTES]
