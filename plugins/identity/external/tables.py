"""Private tables of external sign-in (not portal data; reached only through :mod:`.store`).

Composite unique indexes that Piccolo's column API cannot express are created by a
hand-written migration: ``(website, issuer, subject)`` and ``(contact, issuer)`` on
external identities (one identity per provider per contact), ``(issuer, assertion_id)``
on the SAML replay cache.
"""

from __future__ import annotations

from piccolo.columns import ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Contact, Website

__all__ = ["ExternalIdentity", "PendingLogin", "SamlAssertion"]


class ExternalIdentity(Table, tablename="identity_external"):
    """A contact's identity at an external provider: ``(issuer, subject)``."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    provider = Varchar(length=100)  # the provider's name in the site settings
    protocol = Varchar(length=10)  # oidc | saml
    issuer = Varchar(length=1000)
    subject = Varchar(length=1000)
    email = Varchar(length=320, default="")  # as asserted at the last sign-in
    created = Timestamptz()
    last_signin = Timestamptz(null=True, default=None)


class SamlAssertion(Table, tablename="identity_saml_assertion"):
    """Assertion ids accepted once, kept until they could no longer be valid (replays)."""

    id = Serial(primary_key=True)
    issuer = Varchar(length=1000)
    assertion_id = Varchar(length=256)
    expires = Timestamptz(index=True)


class PendingLogin(Table, tablename="identity_external_login"):
    """An external sign-in in progress, bound to the browser that started it.

    ``id`` = SHA-256 (hex) of the random token in the browser's login cookie; ``data`` is
    the protocol's secret state (OIDC login state, SAML request id) as JSON. A row is
    deleted (atomically, ``DELETE ... RETURNING``) before the response is checked.
    """

    id = Varchar(length=64, primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    provider = Varchar(length=100)
    protocol = Varchar(length=10)
    data = Text(default="{}")
    return_url = Varchar(length=2000, default="/")
    created = Timestamptz()
    expires = Timestamptz(index=True)
