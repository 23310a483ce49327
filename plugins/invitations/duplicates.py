"""Duplicate-contact detection: per-website rules, applied on EVERY path that creates a contact.

The kernel calls :func:`check` through ``portalis_contact_before_create`` inside the
creating transaction (registration, invitation redemption, delegated management, the
Web API, ``site apply``, ``records.create``). Rules (site settings, see
:data:`SETTING_DEFAULTS`):

* ``Invitations/Duplicates/Email`` (default true): the normalised email (NFKC,
  trimmed, case-folded — the kernel stores it that way) matches another contact.
* ``Invitations/Duplicates/NamePhone`` (default false): first name, last name
  (case-insensitive) and phone (digits only, a leading ``+`` kept) all match.
* ``Invitations/Duplicates/FuzzyNameRatio`` (default 0 = off; e.g. 0.85): within the
  same account, ``difflib.SequenceMatcher`` on "first last" reaches the ratio.

A match on an ACTIVE contact refuses with :class:`Conflict` ``duplicate_contact`` (409)
naming the rule and the value. A match on an INACTIVE contact refuses with
``inactive_duplicate`` (409) and offers reactivation: the hook cannot hand back a
row, so reactivation is explicit — :func:`create_or_reactivate` (used by invitation
redemption and delegated management) reactivates the inactive contact instead of
creating one when ``Invitations/Duplicates/ReactivateInactive`` is true, and a user
manager can call ``POST /_invitations/manage/contacts/{id}/reactivate``.

Races: the kernel's partial unique index on (website, email) among active contacts
stops two parallel creates with one email. The name+phone and fuzzy rules take a
transaction-scoped lock first (PostgreSQL ``pg_advisory_xact_lock`` on a hash of the
rule's key; SQLite writes are already serialised by ``BEGIN IMMEDIATE``), so the
second of two parallel creates sees the first one's row.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from typing import Any

from portalis.core import Conflict, NotFound, PermissionDenied, PortalisError, Principal
from portalis.core.conditions import Cmp

__all__ = ["SETTING_DEFAULTS", "check", "create_or_reactivate", "normalise_phone"]

P = "Invitations/Duplicates/"
SETTING_DEFAULTS = {
    P + "Email": "true",
    P + "NamePhone": "false",
    P + "FuzzyNameRatio": "0",
    P + "ReactivateInactive": "false",
}


def normalise_phone(phone: str) -> str:
    phone = (phone or "").strip()
    digits = re.sub(r"\D", "", phone)
    return ("+" + digits) if phone.startswith("+") and digits else digits


def _name(first: Any, last: Any) -> str:
    return " ".join(f"{first or ''} {last or ''}".split()).casefold()


def _lock_key(*parts: Any) -> int:
    raw = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)


async def _lock(conn: Any, dialect: str, *parts: Any) -> None:
    if dialect == "postgres":
        await conn.fetchval("SELECT pg_advisory_xact_lock(?::bigint)", _lock_key(*parts))


def _refuse(site: Any, row: dict[str, Any], what: str) -> PortalisError:
    if row["state"] == "active":
        exc = Conflict(f"a contact with {what} already exists on this website",
                       code="duplicate_contact")
    else:
        exc = Conflict(f"an inactive contact with {what} exists on this website; reactivate "
                       "it instead of creating a new contact", code="inactive_duplicate")
    exc.contact_id = row["id"]  # type: ignore[attr-defined]  # not in the answer's body
    return exc


async def _contacts(services: Any, site: Any, where: Any, *, search: str | None = None,
                    search_column: str = "") -> list[dict[str, Any]]:
    """Every contact matching ``where`` (all pages), through ``records`` as the system.

    Inside the creating transaction ``records`` reads on that transaction's connection,
    so rows written earlier in it (and, after the lock, by a parallel create) are seen.
    """
    system = Principal.for_system(site.id)
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await services.records.list(
            system, "contact", where=where, search=search,
            search_columns=(search_column,) if search else (), columns=COLUMNS, limit=500,
            cursor=cursor)
        rows.extend(page.rows)
        if not page.next_cursor:
            return rows
        cursor = page.next_cursor


COLUMNS = ["id", "state", "firstname", "lastname", "phone"]


async def find(site: Any, values: dict[str, Any], services: Any,
               conn: Any) -> tuple[dict[str, Any], str] | None:
    """The first contact that ``values`` would duplicate (active ones first), and why."""
    db = services.db
    matches: list[tuple[dict[str, Any], str]] = []
    email = values.get("email")
    if email and site.flag(P + "Email", True):
        for row in await _contacts(services, site, Cmp("email", "eq", email)):
            matches.append((row, f"the email {email}"))
    first, last = (values.get("firstname") or "").strip(), (values.get("lastname") or "").strip()
    phone = normalise_phone(values.get("phone") or "")
    if phone and (first or last) and site.flag(P + "NamePhone", False):
        await _lock(conn, db.dialect, "namephone", site.id, _name(first, last), phone)
        column, term = ("lastname", last) if last else ("firstname", first)
        # a case-insensitive prefix search narrows the scan; the rule is checked exactly here
        for row in await _contacts(services, site, None, search=term + "*",
                                   search_column=column):
            if (_name(row["firstname"], row["lastname"]) == _name(first, last)
                    and normalise_phone(row["phone"] or "") == phone):
                matches.append((row, f"the name {first} {last} and phone {values.get('phone')}"))
    ratio = site.number(P + "FuzzyNameRatio", 0.0)
    account = values.get("account")
    if ratio > 0 and account is not None and (first or last):
        await _lock(conn, db.dialect, "fuzzy", site.id, account)
        wanted = _name(first, last)
        for row in await _contacts(services, site, Cmp("account", "eq", account)):
            other = _name(row["firstname"], row["lastname"])
            if other and difflib.SequenceMatcher(None, wanted, other).ratio() >= ratio:
                matches.append((row, f"a name similar to {first} {last} "
                                     f"({row['firstname']} {row['lastname']}) in the same account"))
    if not matches:
        return None
    matches.sort(key=lambda m: m[0]["state"] != "active")
    return matches[0]


async def check(site: Any, values: dict[str, Any], principal: Any, services: Any) -> None:
    """``portalis_contact_before_create``: refuse a duplicate (see the module docstring)."""
    if values.get("state", "active") != "active":
        return  # an inactive contact duplicates nobody who can sign in
    async with services.db.transaction() as conn:
        found = await find(site, values, services, conn)
    if found is not None:
        raise _refuse(site, *found)


async def create_or_reactivate(services: Any, site: Any, principal: Principal,
                               values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create a contact through ``records``; on ``inactive_duplicate``, where the site
    permits (``Invitations/Duplicates/ReactivateInactive``), reactivate that contact with
    ``values`` instead (through ``records.update`` as ``principal``, so a user manager
    reaches only its own account). Returns (row, reactivated)."""
    try:
        return await services.records.create(principal, "contact", values), False
    except Conflict as exc:
        if exc.code != "inactive_duplicate" or not site.flag(P + "ReactivateInactive", False):
            raise
        refusal = exc
    changes = {k: v for k, v in values.items() if k not in ("key",)}
    changes["state"] = "active"
    try:
        row = await services.records.update(principal, "contact",
                                            refusal.contact_id,  # type: ignore[attr-defined]
                                            changes)
    except (NotFound, PermissionDenied):
        raise refusal from None  # not this principal's to reactivate (and no id disclosed)
    return row, True
