"""The domains plugin's private table: custom host names bound to websites.

Not portal data: read and written only by :mod:`.store`, through ``services.db``. A
domain is bound to at most one website (unique). A binding answers requests only once
``verified``; at most one binding per website is ``is_primary`` (kept so by the store).
The certificate's private key is stored encrypted with a key derived from the
deployment's ``secret_key``.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Website

__all__ = ["Binding"]


class Binding(Table, tablename="domains_binding"):
    """One custom domain of a website, its verification and its certificate."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    domain = Varchar(length=253, unique=True, index=True)
    token = Varchar(length=255)
    verified = Boolean(default=False)
    method = Varchar(length=10, default="")  # cname | txt
    verified_at = Timestamptz(null=True, default=None)
    is_primary = Boolean(default=False)
    created = Timestamptz()
    cert_fingerprint = Varchar(length=64, default="")
    cert_names = Text(default="")
    cert_issuer = Text(default="")
    cert_not_after = Timestamptz(null=True, default=None)
    cert_chain = Text(default="")
    cert_key = Text(default="")  # Fernet token of the PKCS#8 PEM key
