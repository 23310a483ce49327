"""The ``/admin`` mount: Piccolo Admin (its own login) plus staff reports.

* Piccolo Admin (a FastAPI app) authenticates with its own user table (``piccolo_user``)
  and session table (``sessions``, cookie ``id``), admin users only. A portal contact's
  session (the identity plugin's cookie) or any portal sign-in means nothing here: the
  mount never consults the portal's principal hooks, and Litestar does not run the
  kernel's ``before_request`` for ASGI mounts, so the admin answers on any host the
  process serves (put it behind the reverse proxy's staff-only host or network in
  production).
* ``/admin/reports/`` serves the reports other plugins contribute
  (``portalis_admin_reports``) behind the same staff session.
* Writes to portal tables (``contact``, ``account``) are answered by
  :mod:`portalis.plugins.admin.portal_writes` through ``records``.
* Picking changes up: after every successful state-changing call to the admin's table
  API (``POST/PUT/PATCH/DELETE /admin/api/tables/...``) the mount bumps
  ``portalis_website.config_version`` of every website (admin writes are rare; bumping
  all is always correct) and clears this process's site cache. Every other process
  reloads within its ``policy_ttl``. No database triggers are needed, and writes made
  outside the admin and the kernel (raw SQL) are the operator's to signal
  (``portalis admin touch``).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any

from litestar import asgi
from litestar.middleware.csrf import generate_csrf_token
from litestar.types import Message, Receive, Scope, Send
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.session_auth.middleware import SessionsAuthBackend
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from portalis.core.plugins import combined
from portalis.core.web.flow import gate_mount
from portalis.plugins.admin.portal_writes import portal_write
from portalis.plugins.admin.tables import AUTH_TABLES, admin_tables

__all__ = ["ADMIN_CSP", "WRITE_METHODS", "bump_all", "make_admin_handler", "reports_of"]

PREFIX = "/admin"
HTTPS_ENV = "PORTALIS_ADMIN_HTTPS"  # "true": Secure cookies (serve the admin over HTTPS)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Piccolo Admin's single-page app needs inline styles and data: fonts/images; nothing
# from other origins, and it may not be framed.
ADMIN_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
             "font-src 'self' data:; script-src 'self' 'unsafe-inline'; object-src 'none'; "
             "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


async def bump_all(services: Any) -> None:
    """Mark every website's configuration changed (the admin may have changed any)."""
    await services.db.execute(
        'UPDATE "portalis_website" SET "config_version" = "config_version" + 1')
    services.sites.invalidate()


def _table_configs(plugins: list[str]) -> list[TableConfig]:
    configs = []
    for table in admin_tables(plugins):
        names = [c._meta.name for c in table._meta.columns]
        visible = [table._meta.get_column_by_name(n) for n in names
                   if n in ("id", "key", "name", "title", "email", "table_name", "scope",
                            "website", "partial_url", "state", "hosts", "value")]
        configs.append(TableConfig(table, visible_columns=visible or None))
    return configs


def reports_of(services: Any) -> list[dict[str, Any]]:
    """The reports the enabled plugins contribute (``portalis_admin_reports``)."""
    if not hasattr(services.pm.hook, "portalis_admin_reports"):
        return []
    return combined(services.pm, "portalis_admin_reports")


def _reports_app(services_of: Callable[[Request], Any]) -> Any:
    async def index(request: Request) -> Response:
        services = services_of(request)
        sites = await services.db.fetch('SELECT "id", "key", "title" FROM "portalis_website" '
                                        'ORDER BY "key"')
        items = "".join(
            f'<li>{html.escape(r["title"])}: <a href="{PREFIX}/reports/{html.escape(r["key"])}'
            f'?website={html.escape(s["key"])}">{html.escape(s["title"])}</a></li>'
            for r in reports_of(services) for s in sites)
        return HTMLResponse(f"<!doctype html><title>Reports</title><h1>Reports</h1>"
                            f"<ul>{items or '<li>no reports</li>'}</ul>")

    async def report(request: Request) -> Response:
        services = services_of(request)
        key = request.path_params["key"]
        found = next((r for r in reports_of(services) if r["key"] == key), None)
        if found is None:
            return JSONResponse({"error": "no such report"}, status_code=404)
        site_key = request.query_params.get("website", "")
        website_id = await services.sites.website_for_key(site_key)
        if website_id is None:
            return JSONResponse({"error": "no such website"}, status_code=404)
        try:
            limit = max(1, min(200, int(request.query_params.get("limit", "20"))))
        except ValueError:
            limit = 20
        rows = await found["run"](services, website_id, limit)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"report": key, "website": site_key, "value": rows})
        cols = list(rows[0]) if rows else []
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols)
                       + "</tr>" for r in rows)
        return HTMLResponse(f"<!doctype html><title>{html.escape(found['title'])}</title>"
                            f"<h1>{html.escape(found['title'])}</h1>"
                            f"<table><tr>{head}</tr>{body}</table>")

    app = Starlette(routes=[Route("/", index), Route("/{key}", report),
                            Route("/{key}/", report)])
    user, sessions = AUTH_TABLES
    return AuthenticationMiddleware(
        app, backend=SessionsAuthBackend(auth_table=user, session_table=sessions,
                                         admin_only=True, increase_expiry=None),
        on_error=lambda _request, _exc: JSONResponse({"error": "Auth failed"},
                                                     status_code=401))


def _shared_csrf_cookie(name: bytes, value: bytes, secret: str) -> tuple[bytes, bytes]:
    """Piccolo Admin's CSRF cookie has the portal's name (``csrftoken``, path ``/``).

    Piccolo only checks that the header equals the cookie, so the portal's signed token
    serves both; when Piccolo mints a cookie of its own (a first visit), it is replaced
    by a portal-valid token so the portal's CSRF check keeps working in that browser.
    """
    if bytes(name).lower() != b"set-cookie" or not bytes(value).startswith(b"csrftoken="):
        return name, value
    _, _, attributes = bytes(value).partition(b";")
    token = generate_csrf_token(secret).encode()
    return name, b"csrftoken=" + token + (b";" + attributes if attributes else b"")


def make_admin_handler(plugins: list[str], site_name: str = "Portalis admin") -> Any:
    """The Litestar ASGI handler mounted at ``/admin``."""
    user, sessions = AUTH_TABLES
    piccolo_admin = create_admin(
        tables=_table_configs(plugins), auth_table=user, session_table=sessions,
        production=os.environ.get(HTTPS_ENV, "").strip().lower() in ("1", "true", "yes"),
        site_name=site_name, sidebar_links={"Reports": f"{PREFIX}/reports/"},
        auto_include_related=False)

    def services_of(request: Request) -> Any:
        return request.scope["portalis_services"]

    reports_app = _reports_app(services_of)

    @asgi(PREFIX, is_mount=True, copy_scope=True, opt={"exclude_from_csrf": True},
          include_in_schema=False)
    async def admin_mount(scope: Scope, receive: Receive, send: Send) -> None:
        # host validation, IP filter and domain redirects apply to the admin as well
        if await gate_mount(scope, receive, send):
            return
        services = scope["app"].state.services
        rest = scope["path"] or "/"
        raw = bytes(scope.get("raw_path") or b"")
        if scope["type"] == "http" and raw.rstrip(b"?") == PREFIX.encode():
            await RedirectResponse(f"{PREFIX}/", status_code=307)(
                dict(scope), receive, send)  # type: ignore[arg-type]
            return
        root = scope.get("root_path", "") + PREFIX
        inner: dict[str, Any] = {**scope, "root_path": root, "path": root + rest,
                                 "portalis_services": services}
        status: list[int] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = [_shared_csrf_cookie(k, v, services.config.secret_key)
                           for k, v in message.get("headers", [])]
                if not any(bytes(k).lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", ADMIN_CSP.encode()))
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if scope["type"] == "http" and scope.get("method") in WRITE_METHODS:
            answer = await portal_write(inner, receive, rest, services)
            if answer is not None:
                await answer(inner, receive, send_wrapper)  # type: ignore[arg-type]
                if status and status[0] < 400:
                    await bump_all(services)
                return
        target = reports_app if rest.startswith("/reports/") or rest == "/reports" \
            else piccolo_admin
        if rest.startswith("/reports"):
            inner["root_path"] = root + "/reports"
            inner["path"] = root + rest
        await target(inner, receive, send_wrapper)
        if (scope.get("method") in WRITE_METHODS and rest.startswith("/api/tables/")
                and status and status[0] < 400):
            await bump_all(services)

    return admin_mount
