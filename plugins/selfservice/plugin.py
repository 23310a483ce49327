"""Hook implementations of the self-service plugin."""

from __future__ import annotations

from portalis.core import TableSpec, hookimpl
from portalis.plugins.selfservice.tables import Article, Case, CaseNote

__all__ = ["portalis_piccolo_apps", "portalis_register_tables"]


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
