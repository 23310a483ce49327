"""The lockout plugin's private table: one counter row per contact and per client address.

Not portal data: read and written only by :mod:`.store`, through ``services.db``.
``key`` is unique (``c:<contact id>`` for a contact, ``a:<website>:<address>`` for a client
address), so a missing row is inserted once however many processes race to create it.
"""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Contact, Website

__all__ = ["Counter"]


class Counter(Table, tablename="lockout_counter"):
    """Failed-attempt state of one contact or one client address."""

    id = Serial(primary_key=True)
    key = Varchar(length=200, unique=True, index=True)
    website = ForeignKey(Website, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=True, default=None,
                         on_delete=OnDelete.cascade)
    address = Varchar(length=64, default="")
    attempts = Integer(default=0)
    window_start = Timestamptz(null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    last_attempt = Timestamptz(null=True, default=None)
