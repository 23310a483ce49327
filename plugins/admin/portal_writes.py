"""Admin writes to PORTAL tables (``contact``, ``account``) go through ``records``.

Portal data has one door (``records``): validation, e-mail normalisation, the
duplicate-contact hook, record events. Piccolo Admin would write those rows with
Piccolo's query API, so the mount answers its table-API writes for registered portal
tables here instead: staff session and CSRF are checked the way Piccolo Admin checks
them, then the write runs through ``records`` with the website's system principal.
Configuration tables (roles, permissions, lists, settings, pages…) are the kernel's and
the pages plugin's own configuration and are written by Piccolo Admin directly.
"""

from __future__ import annotations

import json
import re
from hmac import compare_digest
from typing import Any

from piccolo_api.session_auth.middleware import SessionsAuthBackend
from starlette.authentication import AuthenticationError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from portalis.core import PortalisError, Principal
from portalis.core.registry import READONLY
from portalis.plugins.admin.tables import AUTH_TABLES

__all__ = ["portal_write"]

_PATH = re.compile(r"^/api/tables/(?P<table>[a-z_][a-z0-9_]*)/(?:(?P<id>\d+)/)?$")


def _portal_table(services: Any, sql_name: str) -> Any:
    for table in services.registry.tables.values():
        if table.sql_name == sql_name:
            return table
    return None


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def portal_write(scope: dict[str, Any], receive: Any, rest: str,
                       services: Any) -> Response | None:
    """Handle the write if it targets a portal table; ``None`` lets Piccolo Admin answer."""
    match = _PATH.match(rest)
    if match is None:
        return None
    table = _portal_table(services, match["table"])
    if table is None:
        return None
    conn = HTTPConnection(scope)
    user, sessions = AUTH_TABLES
    backend = SessionsAuthBackend(auth_table=user, session_table=sessions, admin_only=True,
                                  increase_expiry=None)
    try:
        if await backend.authenticate(conn) is None:
            raise AuthenticationError("no staff session")
    except AuthenticationError:
        return JSONResponse({"error": "Auth failed"}, status_code=401)
    cookie, header = conn.cookies.get("csrftoken", ""), conn.headers.get("x-csrftoken", "")
    if not cookie or not header or not compare_digest(cookie, header):
        return JSONResponse({"detail": "CSRF token missing or incorrect"}, status_code=403)
    method, record_id = scope["method"], match["id"]
    values: dict[str, Any] = {}
    if method in ("POST", "PUT", "PATCH"):
        try:
            values = json.loads(await _body(receive) or b"{}")
        except ValueError:
            return JSONResponse({"detail": "the body must be JSON"}, status_code=400)
        if not isinstance(values, dict):
            return JSONResponse({"detail": "the body must be a JSON object"}, status_code=400)
    try:
        if method == "POST" and record_id is None:
            website = values.get("website")
            if not isinstance(website, int) or not await services.db.fetchval(
                    'SELECT 1 FROM "portalis_website" WHERE "id" = ?', website):
                return JSONResponse({"detail": "website: choose a website"}, status_code=422)
            clean = {k: v for k, v in values.items() if k not in READONLY}
            row = await services.records.create(Principal.for_system(website), table.name,
                                                clean)
            return JSONResponse([{"id": row["id"]}], status_code=201)
        if record_id is None or method not in ("PUT", "PATCH", "DELETE"):
            return None
        rid = int(record_id)
        website = await services.db.fetchval(
            f'SELECT "website" FROM {services.db.quote(table.sql_name)} WHERE "id" = ?', rid)
        if website is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        system = Principal.for_system(website)
        if method == "DELETE":
            await services.records.delete(system, table.name, rid)
            return Response(status_code=204)
        if values.get("website", website) != website:
            return JSONResponse({"detail": "a record cannot move to another website"},
                                status_code=422)
        clean = {k: v for k, v in values.items() if k not in READONLY}
        row = await services.records.update(system, table.name, rid, clean)
        return JSONResponse(json.loads(json.dumps(row, default=str)))
    except PortalisError as exc:
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=exc.status)
