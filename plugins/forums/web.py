"""What the forums' route modules share: reading request bodies (JSON, forms,
multipart with files), answering HTML or JSON, and the thread listings."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response
from litestar.datastructures import UploadFile
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from portalis.core import InvalidInput, Principal
from portalis.core.conditions import And, Condition
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.bodies import form_fields, json_object
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.forums import service
from portalis.plugins.forums.attachments import MAX_SIZE, Upload, check_file

__all__ = ["Req", "body_of", "done", "flag", "integer", "page_size", "parts_of", "respond",
           "text", "thread_view", "threads_page", "uploads_of"]

Req = Request[Any, Any, Any]


def plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def csrf(request: Req) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def respond(request: Req, template: str, title: str, data: dict[str, Any],
            status: int = 200) -> Response[Any]:
    if wants_json(request):
        return Response(plain(data), status_code=status, media_type=MediaType.JSON)
    html = render_page(request, template, title=title, csrf_token=csrf(request), **data)
    return Response(html, status_code=status, media_type=MediaType.HTML)


def done(request: Req, data: dict[str, Any], back: str, status: int = 200) -> Response[Any]:
    """After a change: JSON, or a redirect for an HTML form."""
    if "json" in request.headers.get("content-type", "") or wants_json(request):
        return Response(plain(data), status_code=status, media_type=MediaType.JSON)
    return Response(b"", status_code=303, headers={"location": back})


async def parts_of(request: Req) -> tuple[dict[str, Any], list[UploadFile]]:
    """The body's fields, and the files sent in multipart fields named ``file``
    (an empty file input of a browser form is not a file)."""
    if "json" in request.headers.get("content-type", ""):
        return await json_object(request), []
    form = await request.form()
    fields = form_fields(form)
    files = [v for k, v in form.multi_items()
             if k == "file" and isinstance(v, UploadFile) and v.filename]
    return fields, files


async def body_of(request: Req) -> dict[str, Any]:
    return (await parts_of(request))[0]


async def uploads_of(site: Site, files: list[UploadFile]) -> list[Upload]:
    """Every file checked with the kernel's upload rules (before anything is stored)."""
    limit = int(site.number(MAX_SIZE, 2_097_152))
    return [check_file(site, f.filename, f.content_type, await f.read(limit + 1))
            for f in files]


def text(data: dict[str, Any], name: str, limit: int = 100_000) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


def flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "on", "yes")


def integer(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number", code="invalid_value",
                           column=name) from None


def page_size(site: Site) -> int:
    return max(1, min(100, int(site.number("Forums/PageSize", 20))))


def thread_view(row: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    return {**row, "url": f"/forums/threads/{row['id']}",
            "author_name": names.get(row.get("author") or -1, "")}


async def threads_page(services: Services, principal: Principal, site: Site, *,
                       where: Condition | None, cursor: str | None, base: str,
                       sticky_first: bool = False) -> dict[str, Any]:
    """One page of threads the principal may read (and see), newest activity first."""
    order = [("sticky", True)] if sticky_first else []
    order.append(("last_post_at", True))
    # Threads waiting for approval: for their authors and the moderators of their forum
    # (row-level Write), nobody else.
    may_moderate = await services.records.can(principal, "forum_thread", "write")
    conds = [c for c in (where, None if may_moderate else service.visible_threads(principal))
             if c is not None]
    page = await services.records.list(principal, "forum_thread",
                                       where=And(tuple(conds)) if conds else None,
                                       order_by=order, limit=page_size(site), cursor=cursor,
                                       row_privileges=("write",))
    rows = [r for r in page.rows if not r["pending"] or r["_can_write"]
            or (principal.contact_id is not None and r["author"] == principal.contact_id)]
    names = await service.author_names(services, principal, {r["author"] for r in rows})
    sep = "&" if "?" in base else "?"

    def link(cur: str | None) -> str | None:
        return None if cur is None else f"{base}{sep}{urlencode({'cursor': cur})}"

    return {"threads": [thread_view(r, names) for r in rows],
            "next": link(page.next_cursor), "previous": link(page.prev_cursor)}
