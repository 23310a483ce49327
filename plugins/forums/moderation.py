"""The moderation queue: pending and flagged posts, and the audit trail, of the
threads the visitor moderates (may write)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from portalis.core import NotFound, PermissionDenied, Principal
from portalis.core.conditions import Cmp
from portalis.core.records import Records
from portalis.core.services import Services
from portalis.plugins.forums import service
from portalis.plugins.forums.markup import excerpt
from portalis.plugins.forums.store import Store
from portalis.plugins.forums.web import Req, respond

__all__ = ["ROUTES"]


@get("/forums/moderation", name="forums_moderation")
async def moderation(request: Req, services: Services, principal: Principal) -> Response[Any]:
    """Pending and flagged posts, and the audit trail, of threads the visitor moderates."""
    service.require_contact(principal)
    records: Records = services.records
    if not await records.can(principal, "forum_thread", "write"):
        raise PermissionDenied("only moderators see the moderation queue",
                               code="moderator_only")
    store = Store(services)
    pending = await records.list(principal, "forum_post", where=Cmp("pending", "eq", True),
                                 order_by=[("created", False)], limit=200)
    flags = await store.open_flags(principal.website_id)
    flagged_rows: list[dict[str, Any]] = []
    if flags:
        found = await records.list(principal, "forum_post",
                                   where=service.ids_in("id", [f["post"] for f in flags]),
                                   limit=len(flags))
        flagged_rows = found.rows
    candidates = {r["id"]: r for r in [*pending.rows, *flagged_rows]}
    moderated = {}
    for post_id, row in candidates.items():
        if await service.is_moderator(services, principal, row["thread"]):
            moderated[post_id] = row
    reasons = await store.flag_reasons(list(moderated))
    counts = {f["post"]: int(f["n"]) for f in flags}

    def item(row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "thread": row["thread"], "author": row["author"],
                "excerpt": excerpt(row["body"], 200), "hidden": row["hidden"],
                "pending": row["pending"], "flags": counts.get(row["id"], 0),
                "reasons": reasons.get(row["id"], []),
                "url": f"/forums/threads/{row['thread']}#post-{row['id']}"}

    audit = []
    for entry in await store.audit_entries(principal.website_id):
        table = entry["table_name"]
        try:
            await records.get(principal, table, entry["record_id"], privilege="write",
                              columns=["id"])
        except NotFound:
            continue
        audit.append({k: entry[k] for k in ("actor", "action", "table_name", "record_id",
                                              "detail", "created")})
    return respond(request, "forums/moderation.liquid", "Moderation", {
        "pending": [item(r) for r in pending.rows if r["id"] in moderated],
        "flagged": [item(r) for r in flagged_rows if r["id"] in moderated],
        "audit": audit})


ROUTES = [moderation]
