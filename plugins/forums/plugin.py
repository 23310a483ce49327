"""Hook implementations of the forums plugin.

Forums, threads and posts are portal tables (``forum``, ``forum_thread``,
``forum_post``): who reads, posts and moderates is said with table permissions (the
recommended set, one chain per forum ``audience`` with row filters, is in README.md). The
rules that permissions cannot say (sanitised HTML, authorship, locked threads, the
moderation queue, answers) are enforced on every write path by the record hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portalis.core import TableSpec, hookimpl
from portalis.plugins.forums import attachments, rules, service
from portalis.plugins.forums.tables import Forum, ForumPost, ForumThread

__all__ = [
    "portalis_cli_commands",
    "portalis_piccolo_apps",
    "portalis_record_after_write",
    "portalis_record_before_write",
    "portalis_register_tables",
    "portalis_routes",
    "portalis_setting_defaults",
    "portalis_template_dirs",
]

TEMPLATES = Path(__file__).parent / "templates"


@hookimpl
def portalis_register_tables() -> list[TableSpec]:
    return [
        TableSpec(Forum, name="forum", search_columns=("title", "description")),
        TableSpec(ForumThread, name="forum_thread", search_columns=("title",)),
        TableSpec(ForumPost, name="forum_post", search_columns=("body",),
                  title_column="id"),
    ]


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.forums.piccolo_app"]


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    from portalis.plugins.forums.routes import all_routes

    return all_routes()


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return {**service.SETTING_DEFAULTS, **attachments.SETTING_DEFAULTS}


@hookimpl
def portalis_template_dirs() -> list[str]:
    return [str(TEMPLATES)]


@hookimpl
async def portalis_record_before_write(action: str, table: str, values: dict[str, Any],
                                       existing: dict[str, Any] | None, principal: Any,
                                       services: Any) -> None:
    if table == "forum_post":
        await rules.before_post_write(action, values, existing, principal, services)
    elif table == "forum_thread":
        await rules.before_thread_write(action, values, existing, principal, services)


@hookimpl
async def portalis_record_after_write(action: str, table: str, row: dict[str, Any],
                                      principal: Any, services: Any) -> None:
    if table == "forum_post":
        await rules.after_post_write(action, row, principal, services)
    elif table == "forum_thread":
        await rules.after_thread_write(action, row, principal, services)


@hookimpl
def portalis_cli_commands() -> list[Any]:
    from portalis.plugins.forums.cli import forums

    return [forums]
