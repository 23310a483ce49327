"""Private tables of the pages plugin (portal configuration, not portal data).

They are read and written only by :mod:`portalis.plugins.pages.store` through
``services.db``; portal data shown inside pages (lists, forms) goes through ``records``.
"""

from __future__ import annotations

from piccolo.columns import Bytea, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from portalis.core.tables import WebRole, Website

__all__ = ["PageRule", "WebFile", "WebForm", "WebLinkSet", "WebPage", "WebTemplate"]


class WebPage(Table, tablename="pages_web_page"):
    """A page of a website's page tree; its URL is its ancestors' partial URLs joined."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100)
    parent = ForeignKey("self", null=True, index=True)
    partial_url = Varchar(length=100, default="")
    title = Varchar(length=200, default="")
    content = Text(default="")
    state = Varchar(length=20, default="published")  # draft | published
    template = Varchar(length=100, default="page")
    sort_order = Integer(default=0)
    modified = Timestamptz()


class PageRule(Table, tablename="pages_page_rule"):
    """An access-control rule of a page: ``restrict_read`` or ``grant_change`` for a role."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    page = ForeignKey(WebPage, index=True, null=False)
    kind = Varchar(length=20)
    role = ForeignKey(WebRole, index=True, null=False)


class WebTemplate(Table, tablename="pages_web_template"):
    """A Liquid web template of a website; ``good_source`` is the last version that parsed."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100)
    source = Text(default="")
    good_source = Text(default="")
    modified = Timestamptz()


class WebForm(Table, tablename="pages_web_form"):
    """A basic form on a registered table (mode insert | edit | readonly)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100)
    title = Varchar(length=200, default="")
    table_name = Varchar(length=100)
    mode = Varchar(length=20, default="insert")
    fields = Text(default="")
    required = Text(default="")
    options = Text(default="{}")
    messages = Text(default="{}")
    success_message = Text(default="")
    redirect = Varchar(length=500, default="")


class WebFile(Table, tablename="pages_web_file"):
    """An image, stylesheet or script of a website, served at ``path``."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100)
    path = Varchar(length=300)
    content_type = Varchar(length=100)
    content = Bytea()
    etag = Varchar(length=80, default="")
    size = Integer(default=0)
    parent = ForeignKey(WebPage, null=True, index=True)
    modified = Timestamptz()


class WebLinkSet(Table, tablename="pages_web_link_set"):
    """A named set of navigation links (``links``: JSON list of {title, page | url})."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    key = Varchar(length=100)
    title = Varchar(length=200, default="")
    links = Text(default="[]")
