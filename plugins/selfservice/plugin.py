"""Hook implementations of the self-service plugin: cases, notes, attachments, the
knowledge base with full-text search, and interaction tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portalis.core import TableSpec, hookimpl
from portalis.plugins.selfservice.tables import Article, Case, CaseNote

__all__ = [
    "portalis_admin_reports",
    "portalis_cli_commands",
    "portalis_piccolo_apps",
    "portalis_record_after_write",
    "portalis_record_before_write",
    "portalis_register_tables",
    "portalis_routes",
    "portalis_setting_defaults",
    "portalis_template_dirs",
]


@hookimpl
def portalis_register_tables() -> list[TableSpec]:
    return [
        TableSpec(Case, name="case", search_columns=("title", "description")),
        TableSpec(CaseNote, name="case_note", search_columns=("body",)),
        TableSpec(Article, name="article", search_columns=("title", "body")),
    ]


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.selfservice.piccolo_app"]


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    from portalis.plugins.selfservice.routes import ROUTES

    return list(ROUTES)


@hookimpl
def portalis_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    from portalis.plugins.selfservice.routes import SETTING_DEFAULTS

    return dict(SETTING_DEFAULTS)


@hookimpl
async def portalis_record_before_write(action: str, table: str, values: dict[str, Any],
                                       existing: dict[str, Any] | None, principal: Any,
                                       services: Any) -> None:
    """A closed case takes no new notes, on any path (routes, forms, Web API)."""
    if table != "case_note" or action != "create" or values.get("case") is None:
        return
    from portalis.core import Conflict, Principal

    case = await services.records.get(Principal.for_system(principal.website_id), "case",
                                      values["case"], columns=["status"])
    if case["status"] == "closed" and not principal.system:
        raise Conflict("the case is closed: it takes no new notes", code="case_closed")


@hookimpl
async def portalis_record_after_write(action: str, table: str, row: dict[str, Any],
                                      principal: Any, services: Any) -> None:
    """Keep the knowledge-base search index in step with ``article`` (same transaction)."""
    if table != "article":
        return
    from portalis.plugins.selfservice import search

    async with services.db.transaction() as conn:
        if action == "delete":
            await search.unindex_article(conn, services.db.dialect, row["id"])
        else:
            await search.index_article(conn, services.db.dialect, row)


@hookimpl
def portalis_cli_commands() -> list[Any]:
    from portalis.plugins.selfservice.cli import selfservice

    return [selfservice]


@hookimpl(optionalhook=True)
def portalis_admin_reports() -> list[dict[str, Any]]:
    """Knowledge-base analytics for the staff admin (the admin plugin's hook)."""
    from portalis.plugins.selfservice.reports import REPORTS

    return list(REPORTS)
