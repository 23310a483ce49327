"""The invitations plugin's private tables: invitations, redemptions, email proofs.

Not portal data: read and written only by :mod:`.store`, through ``services.db``.
Codes and proof tokens are stored only as SHA-256 digests.
"""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Account, Contact, Website

__all__ = ["Invitation", "Proof", "Redemption"]


class Invitation(Table, tablename="invitations_invitation"):
    """One invitation code: single or group, with its limits and what it gives."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    code_hash = Varchar(length=64, unique=True, index=True)
    kind = Varchar(length=10, default="single")  # single | group
    email = Varchar(length=320, default="", index=True)  # normalised; "" = anyone
    contact = ForeignKey(Contact, index=True, null=True, default=None,
                         on_delete=OnDelete.cascade)
    account = ForeignKey(Account, index=True, null=True, default=None,
                         on_delete=OnDelete.set_null)
    roles = Text(default="")  # comma-separated web role keys
    max_redemptions = Integer(default=1)  # 0 = unlimited
    redemptions = Integer(default=0)
    expires = Timestamptz(null=True, default=None)
    state = Varchar(length=10, default="active")  # active | revoked
    created = Timestamptz()
    created_by = ForeignKey(Contact, index=True, null=True, default=None,
                            on_delete=OnDelete.set_null)
    note = Text(default="")


class Redemption(Table, tablename="invitations_redemption"):
    """One redemption of an invitation, with the client's IP address."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    invitation = ForeignKey(Invitation, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    client_ip = Varchar(length=64, default="")
    created = Timestamptz()


class Proof(Table, tablename="invitations_proof"):
    """A single-use link mailed to an invitation's email: following it proves the mailbox."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    invitation = ForeignKey(Invitation, index=True, null=False, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True, index=True)
    email = Varchar(length=320, default="")
    contact = ForeignKey(Contact, index=True, null=True, default=None,
                         on_delete=OnDelete.cascade)  # the signed-in redeemer, if any
    client_ip = Varchar(length=64, default="")
    expires = Timestamptz()
    used = Timestamptz(null=True, default=None)
