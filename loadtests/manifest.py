"""What the Locust users need from a seeded database: who to sign in as, deep cursors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portalis.core.cursor import encode_cursor
from portalis.core.db import Database
from portalis.loadtests.benchsite import PAGE_SIZE, WEBSITE_KEY

__all__ = ["bench_users", "deep_cursor"]

_ADMINS = ('SELECT c."id" AS contact_id, c."email", c."account" AS account_id '
           'FROM "contact" c JOIN "portalis_contact_role" cr ON cr."contact" = c."id" '
           'JOIN "portalis_web_role" r ON r."id" = cr."role" '
           'JOIN "portalis_website" w ON w."id" = c."website" '
           "WHERE w.\"key\" = ? AND r.\"key\" = 'customer-admin' AND c.\"account\" {op} 1 "
           'ORDER BY c."id" LIMIT ?')


async def bench_users(url: str, *, bigco: bool = False, limit: int = 10_000
                      ) -> list[dict[str, Any]]:
    """Administrators (``customer-admin``) of ordinary accounts, or of bigco (account 1).

    Ordered so that consecutive users belong to different accounts where possible.
    """
    db = Database(url)
    await db.connect()
    try:
        rows = await db.fetch(_ADMINS.format(op="=" if bigco else "<>"), WEBSITE_KEY, limit)
    finally:
        await db.close()
    rows.sort(key=lambda r: (r["contact_id"] % 10, r["contact_id"]))
    return rows


async def deep_cursor(url: str, page: int) -> str | None:
    """The cursor of list page ``page`` (1-based) of the cases bigco's administrators see.

    Same order as the ``cases`` list (modified desc, id desc); None for page 1 or when
    the list is shorter.
    """
    if page <= 1:
        return None
    db = Database(url)
    await db.connect()
    try:
        rows = await db.fetch(
            'SELECT t0."modified", t0."id" FROM "case" t0 JOIN "portalis_website" w '
            'ON w."id" = t0."website" WHERE w."key" = ? AND t0."account" = 1 '
            'ORDER BY t0."modified" DESC, t0."id" DESC LIMIT 2 OFFSET ?',
            WEBSITE_KEY, (page - 1) * PAGE_SIZE - 1)
    finally:
        await db.close()
    if len(rows) < 2:  # the page must hold at least one row
        return None
    row = rows[0]
    modified = row["modified"]
    if isinstance(modified, str):
        modified = dt.datetime.fromisoformat(modified)
    return encode_cursor([modified, row["id"]], "n")
