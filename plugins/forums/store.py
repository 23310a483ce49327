"""The forums plugin's private state: votes, flags, subscriptions, audit, notifications.

Everything goes through ``services.db`` with ``?`` SQL. Nothing here holds or returns
post content: callers re-read posts through ``services.records`` before showing them.
"""

from __future__ import annotations

from typing import Any

from portalis.core import Conflict
from portalis.core.codec import encode, utcnow

__all__ = ["Store"]


class Store:
    def __init__(self, services: Any) -> None:
        self.s = services

    @property
    def db(self) -> Any:
        return self.s.db

    def _e(self, value: Any) -> Any:
        return encode(value, self.db.dialect)

    def _now(self) -> Any:
        return self._e(utcnow())

    # -- votes --------------------------------------------------------------------
    async def vote(self, website_id: int, post_id: int, contact_id: int) -> None:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'INSERT INTO "forum_vote" ("website", "post", "contact", "created") '
                'VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING "id"',
                website_id, post_id, contact_id, self._now())
        if row is None:
            raise Conflict("you have already voted for this post", code="already_voted")

    async def vote_counts(self, post_ids: list[int]) -> dict[int, int]:
        if not post_ids:
            return {}
        marks = ", ".join("?" for _ in post_ids)
        rows = await self.db.fetch(
            f'SELECT "post", COUNT(*) AS n FROM "forum_vote" WHERE "post" IN ({marks}) '
            'GROUP BY "post"', *post_ids)
        return {r["post"]: int(r["n"]) for r in rows}

    async def voted(self, post_ids: list[int], contact_id: int | None) -> set[int]:
        if not post_ids or contact_id is None:
            return set()
        marks = ", ".join("?" for _ in post_ids)
        rows = await self.db.fetch(
            f'SELECT "post" FROM "forum_vote" WHERE "contact" = ? AND "post" IN ({marks})',
            contact_id, *post_ids)
        return {r["post"] for r in rows}

    # -- flags --------------------------------------------------------------------
    async def flag(self, website_id: int, post_id: int, contact_id: int, reason: str) -> None:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'INSERT INTO "forum_flag" ("website", "post", "contact", "reason", "resolved", '
                '"created") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING "id"',
                website_id, post_id, contact_id, reason, self._e(False), self._now())
        if row is None:
            raise Conflict("you have already reported this post", code="already_flagged")

    async def open_flags(self, website_id: int, limit: int = 200) -> list[dict[str, Any]]:
        return await self.db.fetch(
            'SELECT "post", COUNT(*) AS n, MAX("created") AS last FROM "forum_flag" '
            'WHERE "website" = ? AND "resolved" = ? GROUP BY "post" ORDER BY 3 DESC '
            f"LIMIT {int(limit)}", website_id, self._e(False))

    async def flag_reasons(self, post_ids: list[int]) -> dict[int, list[str]]:
        if not post_ids:
            return {}
        marks = ", ".join("?" for _ in post_ids)
        rows = await self.db.fetch(
            f'SELECT "post", "reason" FROM "forum_flag" WHERE "post" IN ({marks}) '
            'AND "resolved" = ? ORDER BY "id"', *post_ids, self._e(False))
        out: dict[int, list[str]] = {}
        for r in rows:
            out.setdefault(r["post"], []).append(r["reason"])
        return out

    async def resolve_flags(self, post_id: int) -> int:
        return await self.db.execute(  # type: ignore[no-any-return]
            'UPDATE "forum_flag" SET "resolved" = ? WHERE "post" = ? AND "resolved" = ?',
            self._e(True), post_id, self._e(False))

    # -- subscriptions ------------------------------------------------------------
    async def subscribe(self, website_id: int, contact_id: int, kind: str,
                        target: int) -> int:
        async with self.db.transaction() as conn:
            await conn.execute(
                'INSERT INTO "forum_subscription" ("website", "contact", "kind", "target", '
                '"created") VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', website_id,
                contact_id, kind, target, self._now())
            sub_id = await conn.fetchval(
                'SELECT "id" FROM "forum_subscription" WHERE "contact" = ? AND "kind" = ? '
                'AND "target" = ?', contact_id, kind, target)
        return int(sub_id)

    async def subscription_for(self, contact_id: int, kind: str,
                               target: int) -> dict[str, Any] | None:
        return await self.db.fetchrow(  # type: ignore[no-any-return]
            'SELECT * FROM "forum_subscription" WHERE "contact" = ? AND "kind" = ? '
            'AND "target" = ?', contact_id, kind, target)

    async def subscription(self, website_id: int, sub_id: int) -> dict[str, Any] | None:
        return await self.db.fetchrow(  # type: ignore[no-any-return]
            'SELECT * FROM "forum_subscription" WHERE "id" = ? AND "website" = ?',
            sub_id, website_id)

    async def subscriptions_of(self, website_id: int, contact_id: int) -> list[dict[str, Any]]:
        return await self.db.fetch(  # type: ignore[no-any-return]
            'SELECT * FROM "forum_subscription" WHERE "website" = ? AND "contact" = ? '
            'ORDER BY "id"', website_id, contact_id)

    async def unsubscribe(self, website_id: int, sub_id: int) -> bool:
        async with self.db.transaction() as conn:
            await conn.execute(
                'DELETE FROM "forum_notification" WHERE "subscription" = ? AND "state" = ?',
                sub_id, "queued")
            n = await conn.execute(
                'DELETE FROM "forum_subscription" WHERE "id" = ? AND "website" = ?',
                sub_id, website_id)
        return bool(n)

    # -- notifications ------------------------------------------------------------
    async def enqueue(self, website_id: int, post_id: int, thread_id: int, forum_id: int,
                      author_id: int | None) -> None:
        """Queue ``post`` for every subscriber of its thread or forum (not its author)."""
        rows = await self.db.fetch(
            'SELECT "id", "contact" FROM "forum_subscription" WHERE "website" = ? AND '
            '(("kind" = ? AND "target" = ?) OR ("kind" = ? AND "target" = ?)) ORDER BY "id"',
            website_id, "thread", thread_id, "forum", forum_id)
        seen: set[int] = set()
        for r in rows:
            if r["contact"] == author_id or r["contact"] in seen:
                continue
            seen.add(r["contact"])
            await self.db.execute(
                'INSERT INTO "forum_notification" ("website", "contact", "post", '
                '"subscription", "state", "created") VALUES (?, ?, ?, ?, ?, ?) '
                "ON CONFLICT DO NOTHING",
                website_id, r["contact"], post_id, r["id"], "queued", self._now())

    async def claim(self, website_id: int, limit: int) -> list[dict[str, Any]]:
        """Atomically take up to ``limit`` queued notifications of a website."""
        async with self.db.transaction() as conn:
            return await conn.fetch(  # type: ignore[no-any-return]
                'UPDATE "forum_notification" SET "state" = ? WHERE "id" IN ('
                'SELECT "id" FROM "forum_notification" WHERE "website" = ? AND "state" = ? '
                f'ORDER BY "id" LIMIT {int(limit)}) AND "state" = ? RETURNING *',
                "claimed", website_id, "queued", "queued")

    async def finish(self, ids: list[int], state: str) -> None:
        if not ids:
            return
        marks = ", ".join("?" for _ in ids)
        await self.db.execute(
            f'UPDATE "forum_notification" SET "state" = ? WHERE "id" IN ({marks})',
            state, *ids)

    async def websites_with_queue(self) -> list[int]:
        rows = await self.db.fetch(
            'SELECT DISTINCT "website" FROM "forum_notification" WHERE "state" = ?', "queued")
        return [r["website"] for r in rows]

    # -- audit --------------------------------------------------------------------
    async def audit(self, website_id: int, actor: int | None, action: str, table: str,
                    record_id: int, detail: str = "") -> None:
        await self.db.execute(
            'INSERT INTO "forum_audit" ("website", "actor", "action", "table_name", '
            '"record_id", "detail", "created") VALUES (?, ?, ?, ?, ?, ?, ?)',
            website_id, actor, action, table, record_id, detail, self._now())

    async def audit_entries(self, website_id: int, limit: int = 200) -> list[dict[str, Any]]:
        return await self.db.fetch(  # type: ignore[no-any-return]
            'SELECT * FROM "forum_audit" WHERE "website" = ? ORDER BY "id" DESC '
            f"LIMIT {int(limit)}", website_id)
