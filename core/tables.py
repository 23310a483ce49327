"""The kernel's Piccolo tables: websites, settings, accounts, contacts, roles, permissions, lists.

Piccolo defines these tables and migrates them; run-time reads and writes go through
:mod:`portalis.core.records` (portal data: ``account``, ``contact`` and registered
tables) or the kernel's own configuration services (everything ``portalis_*``).
Every relationship column carries an index.
"""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    LazyTableReference,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

__all__ = [
    "Account",
    "AccountRole",
    "Contact",
    "ContactRole",
    "EntityList",
    "Outbox",
    "PermissionRole",
    "SiteKey",
    "SiteSetting",
    "TablePermission",
    "WebRole",
    "Website",
]


class Website(Table, tablename="portalis_website"):
    """One portal. Several websites may share one process and one database."""

    id = Serial(primary_key=True)
    key = Varchar(length=100, unique=True)
    title = Varchar(length=200)
    hosts = Text(default="")  # comma-separated host names bound to this site
    config_version = Integer(default=1)
    created = Timestamptz()


class SiteSetting(Table, tablename="portalis_site_setting"):
    """Name/value settings per website (``Webapi/case/enabled``, ``Authentication/...``)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    name = Varchar(length=200, index=True)
    value = Text(default="")


class Account(Table, tablename="account"):
    """An organisation; contacts belong to one. ``parent`` forms account hierarchies."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100, null=True, default=None, index=True)
    name = Varchar(length=200)
    parent = ForeignKey(LazyTableReference("Account", module_path=__name__), index=True, null=True)
    created = Timestamptz()
    modified = Timestamptz()


class Contact(Table, tablename="contact"):
    """A portal user. ``email`` is stored normalised and is unique per website among
    active contacts (a partial unique index, added by migration)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100, null=True, default=None, index=True)
    email = Varchar(length=320, null=True, default=None, index=True)
    firstname = Varchar(length=100, default="")
    lastname = Varchar(length=100, default="")
    phone = Varchar(length=50, default="")
    account = ForeignKey(Account, index=True, null=True)
    state = Varchar(length=10, default="active")  # active | inactive
    created = Timestamptz()
    modified = Timestamptz()


class WebRole(Table, tablename="portalis_web_role"):
    """A web role of one website. ``builtin`` is ``authenticated``, ``anonymous`` or ``''``."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100, index=True)
    name = Varchar(length=200)
    builtin = Varchar(length=20, default="")
    description = Text(default="")


class ContactRole(Table, tablename="portalis_contact_role"):
    contact = ForeignKey(Contact, index=True, null=False)
    role = ForeignKey(WebRole, index=True, null=False)


class AccountRole(Table, tablename="portalis_account_role"):
    account = ForeignKey(Account, index=True, null=False)
    role = ForeignKey(WebRole, index=True, null=False)


class TablePermission(Table, tablename="portalis_table_permission"):
    """A grant: rows of ``table_name`` in ``scope``, with privileges, for some roles.

    ``relationship`` names the registered relationship the scope follows (Contact,
    Account and Parent scopes); ``parent`` is the parent permission of a Parent-scope
    grant (chains of any depth). Roles come from :class:`PermissionRole`; a child's
    roles are taken from the root of its chain.
    """

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100, index=True)
    table_name = Varchar(length=100, index=True)
    scope = Varchar(length=10)  # global | contact | account | self | parent
    relationship = Varchar(length=100, default="")
    parent = ForeignKey(
        LazyTableReference("TablePermission", module_path=__name__), index=True, null=True
    )
    read = Boolean(default=False)
    write = Boolean(default=False)
    create = Boolean(default=False)
    delete = Boolean(default=False)
    append = Boolean(default=False)
    append_to = Boolean(default=False)
    filter = Text(default="")  # optional row condition (Web API $filter language)


class PermissionRole(Table, tablename="portalis_permission_role"):
    permission = ForeignKey(TablePermission, index=True, null=False)
    role = ForeignKey(WebRole, index=True, null=False)


class EntityList(Table, tablename="portalis_entity_list"):
    """A list definition: table, columns, default sort, page size, filter, search."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100, index=True)
    title = Varchar(length=200, default="")
    table_name = Varchar(length=100)
    columns = Text(default="")  # comma-separated
    sort = Text(default="")  # "modified desc, title"
    page_size = Integer(default=10)
    filter = Text(default="")  # OData $filter subset
    search_columns = Text(default="")  # comma-separated
    detail_url = Text(default="")  # optional link per row, "{id}" substituted


class Outbox(Table, tablename="portalis_outbox"):
    """Mail that was sent (or, with no SMTP configured, would have been)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=True)
    recipient = Varchar(length=320, index=True)
    subject = Text(default="")
    body = Text(default="")
    delivered = Boolean(default=False)
    created = Timestamptz()


class SiteKey(Table, tablename="portalis_site_key"):
    """Stable keys of records created from site files (``table`` + ``key`` → record id),
    so applying the same file twice updates instead of duplicating."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    table_name = Varchar(length=100)
    key = Varchar(length=200)
    record_id = Integer(index=True)
