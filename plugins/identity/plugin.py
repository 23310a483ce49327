"""Hook implementations of the identity plugin: local accounts, sessions, email flows.

Routes live in :mod:`.routes_local` and :mod:`.routes_email`; the private tables in
:mod:`.tables`, reached only through :mod:`.store`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from portalis.core import InvalidInput, hookimpl
from portalis.plugins.identity.accounts import SETTING_DEFAULTS, policy_problems
from portalis.plugins.identity.external.routes import EXTERNAL_ROUTES
from portalis.plugins.identity.external.sitefile import apply_identities
from portalis.plugins.identity.routes import all_routes
from portalis.plugins.identity.sessions import resolve_principal
from portalis.plugins.identity.store import Store, state

__all__ = [
    "portalis_piccolo_apps",
    "portalis_record_after_write",
    "portalis_record_before_write",
    "portalis_resolve_principal",
    "portalis_routes",
    "portalis_setting_defaults",
    "portalis_site_applied",
    "portalis_template_dirs",
]

TEMPLATES = Path(__file__).parent / "templates"


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.identity.piccolo_app",
            "portalis.plugins.identity.external.piccolo_app"]


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    return [*all_routes(), *EXTERNAL_ROUTES]


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return dict(SETTING_DEFAULTS)


@hookimpl
def portalis_template_dirs() -> list[str]:
    return [str(TEMPLATES)]


@hookimpl
async def portalis_resolve_principal(request: Any, site: Any, services: Any) -> Any:
    return await resolve_principal(request, site, services)


@hookimpl
async def portalis_record_before_write(action: str, table: str, values: dict[str, Any],
                                       existing: dict[str, Any] | None, principal: Any,
                                       services: Any) -> None:
    """A contact's email changes: it is unconfirmed again and its links stop working."""
    if (table == "contact" and action == "update" and existing is not None
            and "email" in values and values["email"] != existing.get("email")):
        await Store(services).email_changed(existing["id"], values["email"] or "")


@hookimpl
async def portalis_record_after_write(action: str, table: str, row: dict[str, Any],
                                      principal: Any, services: Any) -> None:
    """A contact deactivated (or deleted) on any path: its sessions and links end."""
    if table != "contact" or action == "create":
        return
    if action == "delete" or row.get("state") != "active":
        store = Store(services)
        await store.end_sessions(row["id"])
        await store.revoke(row["id"])


@hookimpl
async def portalis_site_applied(website_id: int, data: dict[str, Any],
                                ids: dict[str, dict[str, int]], services: Any) -> None:
    """Contacts in a site file may carry ``password``: checked against the site's policy,
    stored as an Argon2id hash (the email counts as confirmed). Re-applying the same
    password changes nothing; a different one ends the contact's sessions. They may also
    carry external ``identities`` ({provider, subject}), linked idempotently."""
    await apply_identities(website_id, data, ids, services)
    contacts = data.get("contacts") or []
    if not any(isinstance(c, dict) and "password" in c for c in contacts):
        return
    site = await services.sites.load(website_id)
    store = Store(services)
    hasher = state(services).hasher
    for item in contacts:
        if not isinstance(item, dict) or "password" not in item:
            continue
        where = f"contacts[{item.get('key')}]"
        password = item["password"]
        if not isinstance(password, str) or not password:
            raise InvalidInput(f"{where}: password must be non-empty text",
                               code="invalid_site_file", where=where)
        contact_id = ids.get("contact", {}).get(item.get("key", ""))
        if contact_id is None:
            raise InvalidInput(f"{where}: no such contact", code="invalid_site_file",
                               where=where)
        problems = policy_problems(site, password, str(item.get("email") or ""))
        if problems:
            raise InvalidInput(f"{where}: password: {' '.join(problems)}",
                               code="invalid_site_file", where=where)
        credential = await store.credential(contact_id)
        stored = credential["password_hash"] if credential else None
        if stored and await asyncio.to_thread(hasher.verify, stored, password):
            continue
        await store.set_password(website_id, contact_id,
                                 await asyncio.to_thread(hasher.hash, password),
                                 confirmed=True)
        if stored:
            await store.end_sessions(contact_id)
