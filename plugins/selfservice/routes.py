"""HTTP routes of the self-service starter site (JSON).

| Route | What |
|---|---|
| ``POST /_cases`` | file a case (``records.create``: Create on ``case``) |
| ``GET /_cases/{id}`` | the case, its notes and its attachments' metadata (Read on the case) |
| ``POST /_cases/{id}/notes`` | add a note (Create + Append on notes, Append To on the case) |
| ``POST /_cases/{id}/attachments`` | multipart ``file`` (+ ``note``): Append To on the case |
| ``GET /_cases/attachments/{id}`` | download: Read on its case (and note), else 404 |
| ``POST /_cases/{id}/close`` | status → closed through ``records.update`` (Write on the case) |
| ``GET /_kb/search?q=`` | ranked, highlighted published articles the visitor may read |
| ``GET /_kb/articles/{id}`` | one published article (recorded as a view) |

State-changing routes need the CSRF token (kernel middleware). The case routes answer
JSON; the knowledge-base routes answer HTML (templates ``kb-search`` / ``kb-article``)
unless the client asks for JSON.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile

from portalis.core import Conflict, InvalidInput, NotFound, PortalisError, Principal
from portalis.core.conditions import Cmp
from portalis.core.records import Records
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.selfservice import search as fts
from portalis.plugins.selfservice.store import AttachmentStore, InteractionStore

__all__ = ["ROUTES", "SETTING_DEFAULTS"]

MAX_SIZE = "SelfService/Attachments/MaxSize"
TRACKING = "SelfService/Tracking/Enabled"
PAGE_SIZE = "SelfService/Search/PageSize"
SETTING_DEFAULTS = {MAX_SIZE: "5242880", TRACKING: "true", PAGE_SIZE: "10"}

INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain"}
_FILENAME = re.compile(r"[^\w.\- ]+")


class TooLarge(PortalisError):
    """An upload over ``SelfService/Attachments/MaxSize``."""

    status = 413


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _ok(value: Any, status: int = 200) -> Response[Any]:
    return Response(_json(value), status_code=status, media_type=MediaType.JSON)


def _text(data: Any, name: str, *, required: bool = False, limit: int = 20000) -> str | None:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{name} is required", code="required", column=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", code="invalid_value", column=name)
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", code="too_long",
                           column=name)
    return value.strip()


def _attachment_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "case": row["case"], "note": row["note"],
            "filename": row["filename"], "content_type": row["content_type"],
            "size": row["size"], "url": f"/_cases/attachments/{row['id']}"}


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _FILENAME.sub("_", name).strip(" .")[:200]
    return name or "attachment"


# -- cases ------------------------------------------------------------------------
@post("/_cases", name="selfservice_case_create")
async def create_case(data: dict[str, Any], records: Records,
                      principal: Principal) -> Response[Any]:
    values: dict[str, Any] = {"title": _text(data, "title", required=True, limit=200)}
    for name in ("description", "priority"):
        text = _text(data, name)
        if text is not None:
            values[name] = text
    if values.get("priority", "normal") not in ("low", "normal", "high"):
        raise InvalidInput("priority must be low, normal or high", code="invalid_value",
                           column="priority")
    values["status"] = "open"
    if principal.contact_id is not None:
        values["customer"] = principal.contact_id
        if principal.account_id is not None:
            values["account"] = principal.account_id
    row = await records.create(principal, "case", values)
    return _ok(row, 201)


@get("/_cases/{case_id:int}", name="selfservice_case_detail")
async def case_detail(case_id: int, records: Records, services: Services,
                      principal: Principal) -> Response[Any]:
    case = await records.get(principal, "case", case_id)
    notes = []
    if await records.can(principal, "case_note", "read"):
        page = await records.list(principal, "case_note", where=Cmp("case", "eq", case_id),
                                  order_by=[("created", False)], limit=200)
        notes = page.rows
    readable_notes = {n["id"] for n in notes}
    attachments = [
        _attachment_json(a)
        for a in await AttachmentStore(services.db).of_case(principal.website_id, case_id)
        if a["note"] is None or a["note"] in readable_notes
    ]
    return _ok({"case": case, "notes": notes, "attachments": attachments})


@post("/_cases/{case_id:int}/notes", name="selfservice_note_create")
async def add_note(case_id: int, data: dict[str, Any], records: Records,
                   principal: Principal) -> Response[Any]:
    body = _text(data, "body", required=True)
    values: dict[str, Any] = {"case": case_id, "body": body}
    if principal.contact_id is not None:
        values["author"] = principal.contact_id
    # records checks Create + Append on case_note and Append To on this case (404 when
    # the case is not even readable).
    await records.get(principal, "case", case_id)
    row = await records.create(principal, "case_note", values)
    return _ok(row, 201)


@post("/_cases/{case_id:int}/attachments", name="selfservice_attachment_upload")
async def upload_attachment(case_id: int, request: Request[Any, Any, Any], records: Records,
                            services: Services, site: Site,
                            principal: Principal) -> Response[Any]:
    case = await records.get(principal, "case", case_id)  # 404 when unreadable
    await records.get(principal, "case", case_id, privilege="append_to")  # 403 when not
    if case["status"] == "closed":
        raise Conflict("the case is closed: it takes no new attachments", code="case_closed")
    form = await request.form()
    note_id: int | None = None
    raw_note = form.get("note")
    if raw_note not in (None, ""):
        try:
            note_id = int(str(raw_note))
        except ValueError:
            raise InvalidInput("note must be a note id", code="invalid_value",
                               column="note") from None
        note = await records.get(principal, "case_note", note_id)
        if note["case"] != case_id:
            raise InvalidInput("that note belongs to another case", code="note_mismatch",
                               column="note")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("send the file in the multipart field 'file'", code="no_file")
    limit = int(site.number(MAX_SIZE, 5_242_880))
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes", code="too_large",
                       limit=limit)
    if not content:
        raise InvalidInput("the file is empty", code="empty_file")
    content_type = (upload.content_type or "application/octet-stream").split(";")[0]
    content_type = content_type.strip().lower()[:100] or "application/octet-stream"
    row = await AttachmentStore(services.db).add(
        website_id=principal.website_id, case_id=case_id, note_id=note_id,
        filename=safe_filename(upload.filename or ""), content_type=content_type,
        content=content, author=principal.contact_id)
    return _ok(_attachment_json(row), 201)


@get("/_cases/attachments/{attachment_id:int}", name="selfservice_attachment_download")
async def download_attachment(attachment_id: int, records: Records, services: Services,
                              principal: Principal) -> Response[Any]:
    store = AttachmentStore(services.db)
    meta = await store.meta(principal.website_id, attachment_id)
    if meta is None:
        raise NotFound(f"no attachment {attachment_id} that you may see", code="not_found")
    try:
        await records.get(principal, "case", meta["case"])
        if meta["note"] is not None:
            await records.get(principal, "case_note", meta["note"])
    except NotFound:
        raise NotFound(f"no attachment {attachment_id} that you may see",
                       code="not_found") from None
    content = await store.content(principal.website_id, attachment_id)
    media_type = meta["content_type"] if meta["content_type"] in INLINE_TYPES \
        else "application/octet-stream"
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta['filename'])}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(content, media_type=media_type, headers=headers)


@post("/_cases/{case_id:int}/close", name="selfservice_case_close")
async def close_case(case_id: int, records: Records, principal: Principal) -> Response[Any]:
    case = await records.get(principal, "case", case_id)
    if case["status"] == "closed":
        raise Conflict("the case is already closed", code="already_closed")
    row = await records.update(principal, "case", case_id, {"status": "closed"})
    return _ok(row)


# -- knowledge base -----------------------------------------------------------------
@get("/_kb/search", name="selfservice_kb_search")
async def kb_search(request: Request[Any, Any, Any], services: Services, site: Site,
                    principal: Principal, q: str = "") -> Response[Any]:
    text = q.strip()
    if len(text) > 200:
        raise InvalidInput("search text is longer than 200 characters", code="invalid_search")
    results: list[dict[str, Any]] = []
    if text:
        limit = max(1, min(50, int(site.number(PAGE_SIZE, 10))))
        results = await fts.search_articles(services, principal, text, limit=limit)
        if site.flag(TRACKING, True):
            await InteractionStore(services.db).record(
                website_id=principal.website_id, contact_id=principal.contact_id,
                kind="search", query=text, results=len(results))
    if not wants_json(request):
        page = render_page(request, "kb-search.liquid", title="Knowledge base", query=text,
                           results=results)
        return Response(page, media_type=MediaType.HTML)
    return _ok({"query": text, "value": results})


@get("/_kb/articles/{article_id:int}", name="selfservice_kb_article")
async def kb_article(request: Request[Any, Any, Any], article_id: int, records: Records,
                     services: Services, site: Site, principal: Principal) -> Response[Any]:
    article = await records.get(principal, "article", article_id)
    if not article.get("published"):
        raise NotFound(f"no article {article_id} that you may see", code="not_found")
    if site.flag(TRACKING, True):
        await InteractionStore(services.db).record(
            website_id=principal.website_id, contact_id=principal.contact_id, kind="view",
            article_id=article_id)
    body = {"id": article["id"], "title": article["title"], "body": article["body"],
            "modified": article["modified"]}
    if not wants_json(request):
        page = render_page(request, "kb-article.liquid", title=article["title"],
                           article=_json(body))
        return Response(page, media_type=MediaType.HTML)
    return _ok(body)


ROUTES = [create_case, case_detail, add_note, upload_attachment, download_attachment,
          close_case, kb_search, kb_article]
