"""Hook implementations of the admin plugin (maker UI at ``/admin``).

Piccolo Admin for the kernel's configuration tables (websites, settings, accounts,
contacts, web roles, table permissions, lists) and the pages plugin's pages, rules,
templates, forms and link sets; staff only, behind its own login (Piccolo's
``piccolo_user`` and piccolo_api's ``sessions`` tables, migrated with their own Piccolo
apps). See :mod:`portalis.plugins.admin.mount` for how it is mounted and how changes
reach the kernel.
"""

from __future__ import annotations

from typing import Any

from portalis.core import hookimpl

__all__ = [
    "portalis_cli_commands",
    "portalis_piccolo_apps",
    "portalis_routes",
    "portalis_startup",
]


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["piccolo.apps.user.piccolo_app", "piccolo_api.session_auth.piccolo_app"]


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    from portalis.plugins.admin.mount import make_admin_handler

    return [make_admin_handler(list(app_config.plugins))]


@hookimpl
def portalis_startup(app: Any, services: Any) -> None:
    """Bind the admin's tables to Piccolo's engine for this database."""
    from portalis.plugins.admin.engine import bind
    from portalis.plugins.admin.tables import AUTH_TABLES, admin_tables

    bind(services.config.database_url,
         [*admin_tables(services.config.plugins), *AUTH_TABLES])


@hookimpl
def portalis_cli_commands() -> list[Any]:
    from portalis.plugins.admin.cli import admin

    return [admin]
