"""Private tables of the identity plugin: sessions, credentials, single-use tokens.

Not portal data: the plugin reads and writes them only in :mod:`.store`, through
``services.db``. Secrets are never stored in the clear: session ids and token ids are
SHA-256 digests of the random values that travel in cookies and links, passwords are
Argon2id hashes, two-factor codes are HMAC-SHA-256 digests.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Contact, Website

__all__ = ["Credential", "Session", "Token"]


class Session(Table, tablename="identity_session"):
    """A signed-in browser. ``id`` = SHA-256 (hex) of the cookie's token."""

    id = Varchar(length=64, primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    created = Timestamptz()
    last_seen = Timestamptz()
    email = Varchar(length=320, default="")  # shown in the page header
    client_ip = Varchar(length=64, default="")


class Credential(Table, tablename="identity_credential"):
    """A contact's local credential and sign-in options (one row per contact)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, unique=True, index=True, null=False,
                         on_delete=OnDelete.cascade)
    password_hash = Text(null=True, default=None)
    email_confirmed = Boolean(default=False)
    two_factor = Boolean(default=False)
    password_changed = Timestamptz(null=True, default=None)


class Token(Table, tablename="identity_token"):
    """A single-use, expiring secret: email confirmation, password reset, two-factor.

    ``token_hash`` = SHA-256 (hex) of the value in the link (or the two-factor
    challenge); ``code_hash`` = HMAC of the emailed two-factor code.
    """

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # confirm | reset | two_factor
    token_hash = Varchar(length=64, unique=True, index=True)
    code_hash = Varchar(length=64, default="")
    email = Varchar(length=320, default="")
    attempts = Integer(default=0)
    created = Timestamptz()
    expires = Timestamptz(index=True)
    used = Timestamptz(null=True, default=None)
