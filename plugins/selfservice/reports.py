"""Knowledge-base analytics for makers: top searches and top articles per website.

Contributed to the admin plugin's ``portalis_admin_reports`` hook; the admin serves them
to signed-in staff only. Article titles are read through ``records`` (system principal
of the website).
"""

from __future__ import annotations

from typing import Any

from portalis.core import Principal
from portalis.core.conditions import Cmp, Or
from portalis.plugins.selfservice.store import InteractionStore

__all__ = ["REPORTS", "top_articles", "top_searches"]


async def top_searches(services: Any, website_id: int, limit: int = 20) -> list[dict[str, Any]]:
    return await InteractionStore(services.db).top_searches(website_id, limit)


async def top_articles(services: Any, website_id: int, limit: int = 20) -> list[dict[str, Any]]:
    rows = await InteractionStore(services.db).top_articles(website_id, limit)
    ids = [r["article"] for r in rows if r["article"] is not None]
    titles: dict[int, str] = {}
    if ids:
        page = await services.records.list(
            Principal.for_system(website_id), "article",
            where=Or(tuple(Cmp("id", "eq", i) for i in ids)), limit=len(ids),
            columns=["title"])
        titles = {r["id"]: r["title"] for r in page.rows}
    return [{**r, "title": titles.get(r["article"], "(deleted)")} for r in rows]


REPORTS: list[dict[str, Any]] = [
    {"key": "top-searches", "title": "Knowledge base: top searches", "run": top_searches},
    {"key": "top-articles", "title": "Knowledge base: top articles", "run": top_articles},
]
