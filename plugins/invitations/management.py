"""Delegated contact management: "user managers" manage the contacts of THEIR OWN account.

A contact holding a web role listed in ``Invitations/ManagerRoles`` may list, create,
edit, deactivate and reactivate (never delete) the contacts of its own account, invite
them, and grant or take away only roles listed in ``Invitations/DelegableRoles`` that it
holds itself. Every contact read and write goes through ``services.records`` AS THE
MANAGER, so the site's table permissions still decide; the feature expects the
manager role to hold, on ``contact``, an Account-scope permission (relationship
``account``) with read, write and create, e.g.::

    permissions:
      - key: manage-account-contacts
        table: contact
        scope: account
        relationship: account
        privileges: [read, write, create]
        roles: [user-manager]

Without it the routes answer 403 ``manager_permissions_missing`` naming what is
missing. On top of the permissions, every target contact must lie in the manager's
account (a Global grant held for another reason does not let a manager reach another
account), the account column cannot be changed, and a manager cannot deactivate itself.
"""

from __future__ import annotations

from typing import Any

from portalis.core import Conflict, InvalidInput, NotFound, PermissionDenied, Principal
from portalis.core.conditions import Cmp
from portalis.plugins.invitations import settings
from portalis.plugins.invitations.duplicates import create_or_reactivate
from portalis.plugins.invitations.redemption import create_invitation
from portalis.plugins.invitations.store import Store

__all__ = ["EDITABLE", "Manager", "manager_for"]

EDITABLE = ("email", "firstname", "lastname", "phone")
COLUMNS = ["id", "email", "firstname", "lastname", "phone", "account", "state"]


class Manager:
    """A signed-in user manager; every method checks scope before touching a contact."""

    def __init__(self, services: Any, site: Any, principal: Principal) -> None:
        self.s = services
        self.site = site
        self.p = principal
        self.store = Store(services)

    # -- checks -----------------------------------------------------------------
    def _held_keys(self) -> set[str]:
        return {self.site.roles_by_id[r].key for r in self.p.role_ids
                if r in self.site.roles_by_id}

    async def _require(self, *privileges: str) -> None:
        policy = self.site.policy
        missing = [p for p in privileges
                   if not any(g.scope in ("account", "global")
                              for g in policy.applicable(self.p.role_ids, "contact", p))]
        if missing:
            raise PermissionDenied(
                "user management needs table permissions on contact (Account scope, "
                f"relationship account) with {', '.join(missing)} for your web role; ask the "
                "site maker to add them", code="manager_permissions_missing", missing=missing)

    def grantable(self, keys: list[str]) -> list[int]:
        """Role ids for ``keys``, if every one is delegable AND held by the manager."""
        delegable, held = settings.delegable_roles(self.site), self._held_keys()
        out = []
        for key in dict.fromkeys(keys):
            role = self.site.roles.get(key)
            if role is None or role.builtin:
                raise InvalidInput(f"no assignable web role {key!r}", code="unknown_role",
                                   role=key)
            if key not in delegable:
                raise PermissionDenied(f"the web role {key!r} is not delegable",
                                       code="role_not_delegable", role=key)
            if key not in held:
                raise PermissionDenied(f"you cannot grant the web role {key!r}: you do not "
                                       "hold it yourself", code="role_not_held", role=key)
            out.append(role.id)
        return out

    async def contact(self, contact_id: int, privilege: str = "read") -> dict[str, Any]:
        """A contact of the manager's own account (404 for anything else)."""
        try:
            row = await self.s.records.get(self.p, "contact", contact_id, privilege=privilege,
                                           columns=COLUMNS)
        except NotFound:
            row = None
        if row is None or row["account"] != self.p.account_id:
            raise NotFound(f"no contact {contact_id} in your account", code="not_found")
        if privilege == "write" and contact_id != self.p.contact_id:
            # No escalation through a peer: a contact holding a role the manager could not
            # grant (e.g. an administrator) is not the manager's to edit or deactivate.
            mine = settings.delegable_roles(self.site) & self._held_keys()
            above = sorted(set(await self.roles_of(contact_id)) - mine)
            if above:
                raise PermissionDenied(
                    f"this contact holds web roles you cannot grant ({', '.join(above)}); "
                    "only a site administrator can change it", code="contact_outranks_you")
        return row

    async def roles_of(self, contact_id: int) -> list[str]:
        ids = await self.store.role_ids_of(contact_id)
        return sorted(self.site.roles_by_id[i].key for i in ids if i in self.site.roles_by_id)

    def _values(self, data: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidInput("the body must be an object", code="invalid_body")
        bad = sorted(set(data) - set(EDITABLE) - {"roles", "invite", "send"})
        if bad:
            raise InvalidInput(f"these fields cannot be set here: {', '.join(bad)}",
                               code="column_not_allowed", columns=bad)
        return {k: v for k, v in data.items() if k in EDITABLE}

    @staticmethod
    def _keys(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("roles must be a list of web role keys", code="invalid_value")
        return value

    # -- operations -----------------------------------------------------------------
    async def list(self, search: str | None = None, cursor: str | None = None,
                   limit: int = 50) -> dict[str, Any]:
        await self._require("read")
        page = await self.s.records.list(
            self.p, "contact", where=Cmp("account", "eq", self.p.account_id), search=search,
            order_by=[("lastname", False), ("firstname", False)], limit=limit, cursor=cursor,
            columns=COLUMNS, row_privileges=("write",))
        rows = [{**r, "roles": await self.roles_of(r["id"])} for r in page.rows]
        return {"value": rows, "next_cursor": page.next_cursor}

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._require("read", "create")
        values = self._values(data)
        role_ids = self.grantable(self._keys(data.get("roles")))
        values["account"] = self.p.account_id
        async with self.s.db.transaction() as conn:
            row, reactivated = await create_or_reactivate(self.s, self.site, self.p, values)
            if row.get("account") != self.p.account_id:
                raise NotFound("no such contact in your account", code="not_found")
            await self.store.grant_roles(conn, row["id"], role_ids)
        out = {**{k: row.get(k) for k in COLUMNS}, "reactivated": reactivated,
               "roles": await self.roles_of(row["id"])}
        if data.get("invite") and row.get("email"):
            out["invitation"] = await self.invite({"contact": row["id"], "send": True})
        return out

    async def update(self, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
        await self._require("read", "write")
        values = self._values(data)
        await self.contact(contact_id, "write")  # scope first: nothing leaks about others
        grant: list[int] = []
        take: list[int] = []
        if "roles" in data:
            wanted = set(self._keys(data["roles"]))
            current = set(await self.roles_of(contact_id))
            grant = self.grantable(sorted(wanted - current))
            take = self.grantable(sorted(current - wanted))  # may take only what it may give
        async with self.s.db.transaction() as conn:
            row = await self.s.records.update(self.p, "contact", contact_id, values) \
                if values else await self.contact(contact_id, "write")
            await self.store.grant_roles(conn, contact_id, grant)
            await self.store.revoke_roles(conn, contact_id, take)
        return {**{k: row.get(k) for k in COLUMNS}, "roles": await self.roles_of(contact_id)}

    async def set_state(self, contact_id: int, state: str) -> dict[str, Any]:
        await self._require("read", "write")
        if contact_id == self.p.contact_id:
            raise PermissionDenied("you cannot change the state of your own contact",
                                   code="own_contact")
        await self.contact(contact_id, "write")
        try:
            row = await self.s.records.update(self.p, "contact", contact_id, {"state": state})
        except Conflict as exc:
            raise Conflict("another active contact already uses this email; it cannot be "
                           "reactivated", code="duplicate_contact") from exc
        return {k: row.get(k) for k in COLUMNS}

    async def invite(self, data: dict[str, Any]) -> dict[str, Any]:
        """Invite a contact of the manager's account, or an email into its account."""
        await self._require("read")
        if not isinstance(data, dict):
            raise InvalidInput("the body must be an object", code="invalid_body")
        contact_id = data.get("contact")
        if contact_id is not None:
            await self.contact(int(contact_id))
        kind = str(data.get("type", "single"))
        max_r = data.get("max_redemptions")
        days = data.get("expires_days")
        inv, code = await create_invitation(
            self.s, self.site, email=str(data.get("email") or ""),
            contact_id=int(contact_id) if contact_id is not None else None, kind=kind,
            max_redemptions=int(max_r) if max_r is not None else None,
            expires_days=float(days) if days is not None else None,
            account_id=self.p.account_id,
            roles=[self.site.roles_by_id[r].key for r in
                   self.grantable(self._keys(data.get("roles")))],
            created_by=self.p.contact_id, send=bool(data.get("send", True)))
        return {"id": inv["id"], "type": inv["kind"], "email": inv["email"],
                "max_redemptions": inv["max_redemptions"], "roles": inv["roles"],
                "expires": inv["expires"].isoformat() if inv["expires"] else None,
                "code": code}

    async def invitations(self) -> list[dict[str, Any]]:
        await self._require("read")
        rows = await self.store.list(self.site.id, account=self.p.account_id)
        return [{"id": r["id"], "type": r["kind"], "email": r["email"], "state": r["state"],
                 "redemptions": r["redemptions"], "max_redemptions": r["max_redemptions"],
                 "roles": r["roles"]} for r in rows]

    async def revoke(self, invitation_id: int) -> None:
        await self._require("read")
        inv = await self.store.get(self.site.id, invitation_id)
        if inv is None or inv["account"] != self.p.account_id:
            raise NotFound(f"no invitation {invitation_id} of your account", code="not_found")
        await self.store.revoke(self.site.id, invitation_id)


def manager_for(services: Any, site: Any, principal: Principal) -> Manager:
    """The principal as a user manager, or 403 if it holds no manager role / account."""
    if principal.contact_id is None:
        raise PermissionDenied("sign in first", code="signin_required")
    managers = settings.manager_roles(site)
    held = {site.roles_by_id[r].key for r in principal.role_ids if r in site.roles_by_id}
    if not managers & held:
        raise PermissionDenied("you are not a user manager on this portal",
                               code="not_a_manager")
    if principal.account_id is None:
        raise PermissionDenied("user managers must belong to an account", code="no_account")
    return Manager(services, site, principal)
