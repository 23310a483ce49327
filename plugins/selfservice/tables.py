"""Portal tables of the self-service plugin."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Account, Contact, Website

__all__ = ["Article", "Case", "CaseAttachment", "CaseNote", "Interaction"]


class Case(Table, tablename="case"):
    """A support case filed by (or for) a contact of an account."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    title = Varchar(length=200)
    description = Text(default="")
    status = Varchar(length=20, default="open", index=True)  # open | resolved | closed
    priority = Varchar(length=10, default="normal")  # low | normal | high
    customer = ForeignKey(Contact, index=True, null=True)
    account = ForeignKey(Account, index=True, null=True)
    created = Timestamptz(index=True)
    modified = Timestamptz(index=True)


class CaseNote(Table, tablename="case_note"):
    """A note under a case (Parent-scope permissions reach it through ``case``)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    case = ForeignKey(Case, index=True, null=True)
    body = Text(default="")
    author = ForeignKey(Contact, index=True, null=True)
    created = Timestamptz(index=True)


class Article(Table, tablename="article"):
    """A knowledge-base article; anonymous visitors typically read published ones."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    title = Varchar(length=200)
    body = Text(default="")
    published = Boolean(default=False, index=True)
    created = Timestamptz(index=True)
    modified = Timestamptz(index=True)


# -- private tables of the plugin (not portal data: read and written by its store) -----


class CaseAttachment(Table, tablename="selfservice_attachment"):
    """A file attached to a case (optionally to one of its notes).

    Not a portal table: who may read it is decided by the case (and note) it belongs to,
    checked through ``records`` before anything is served.
    """

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    case = ForeignKey(Case, index=True, null=False)
    note = ForeignKey(CaseNote, index=True, null=True)
    filename = Varchar(length=255)
    content_type = Varchar(length=100, default="application/octet-stream")
    size = Integer(default=0)
    content = Bytea()
    author = ForeignKey(Contact, index=True, null=True, on_delete=OnDelete.set_null)
    created = Timestamptz()


class Interaction(Table, tablename="selfservice_interaction"):
    """One knowledge-base interaction (an article view or a search), for analytics."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    contact = ForeignKey(Contact, index=True, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=10, index=True)  # view | search
    article = Integer(null=True, default=None, index=True)  # kept when the article goes
    query = Varchar(length=200, default="", index=True)  # normalised search text
    results = Integer(default=0)
    created = Timestamptz(index=True)
