"""Portal tables of the self-service plugin."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from portalis.core.tables import Account, Contact, Website

__all__ = ["Article", "Case", "CaseNote"]


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
