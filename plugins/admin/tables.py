"""The tables the maker UI edits: the kernel's configuration and, when the pages plugin
is installed, its pages, rules, templates, forms and link sets (imported only to register
them with the admin — a read-only dependency)."""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase

from portalis.core.tables import (
    Account,
    AccountRole,
    Contact,
    ContactRole,
    EntityList,
    PermissionRole,
    SiteSetting,
    TablePermission,
    WebRole,
    Website,
)

__all__ = ["AUTH_TABLES", "admin_tables", "pages_tables"]

AUTH_TABLES: list[type[Table]] = [BaseUser, SessionsBase]
KERNEL: list[type[Table]] = [Website, SiteSetting, Account, Contact, WebRole, ContactRole,
                             AccountRole, TablePermission, PermissionRole, EntityList]


def pages_tables() -> list[type[Table]]:
    try:
        from portalis.plugins.pages import tables as pages
    except ImportError:
        return []
    names = ("WebPage", "PageRule", "WebTemplate", "WebForm", "WebLinkSet")
    return [getattr(pages, n) for n in names if hasattr(pages, n)]


def admin_tables(plugins: list[str] | tuple[str, ...] = ("pages",)) -> list[type[Table]]:
    """The kernel's tables, plus the pages plugin's when it is enabled (else its tables
    may not exist in this database)."""
    return [*KERNEL, *(pages_tables() if "pages" in plugins else [])]
