"""The kernel's service bundle: one per app, handed to handlers and plugin hooks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pluggy

from portalis.core.config import Config
from portalis.core.db import Database
from portalis.core.mail import Mailer
from portalis.core.permissions import PredicateCompiler
from portalis.core.plugins import combined, make_manager
from portalis.core.principal import Principal
from portalis.core.records import Records
from portalis.core.registry import Registry, TableSpec
from portalis.core.sites import Site, SiteCache
from portalis.core.tables import Account, Contact

__all__ = ["Services"]


@dataclass
class Services:
    config: Config
    pm: pluggy.PluginManager
    db: Database
    registry: Registry
    sites: SiteCache
    compiler: PredicateCompiler
    mailer: Mailer
    records: Records = field(init=False)
    extra: dict[str, Any] = field(default_factory=dict)
    """Room for plugins to keep per-app state (keyed by plugin name)."""

    def __post_init__(self) -> None:
        self.records = Records(self)

    @classmethod
    def build(cls, config: Config, extra_plugins: tuple[object, ...] = ()) -> Services:
        """Load plugins and the registry; connect later with :meth:`start`."""
        pm = make_manager(config.plugins, extra_plugins)
        registry = Registry()
        registry.add([
            TableSpec(Account, name="account", search_columns=("name",)),
            TableSpec(Contact, name="contact", personal_data=True,
                      search_columns=("email", "firstname", "lastname"), title_column="email"),
        ])
        registry.add(combined(pm, "portalis_register_tables"))
        defaults: dict[str, str] = {}
        for result in pm.hook.portalis_setting_defaults():
            if result:
                defaults.update(result)
        db = Database(config.database_url)
        return cls(
            config=config, pm=pm, db=db, registry=registry,
            sites=SiteCache(db, registry, defaults, ttl=config.policy_ttl),
            compiler=PredicateCompiler(db.quote, db.dialect),
            mailer=Mailer(db, config.smtp_url, config.mail_from),
        )

    started: bool = field(default=False, init=False)
    _principals: dict[tuple[int, int, int], tuple[float, int | None, frozenset[int]]] = field(
        default_factory=dict, init=False, repr=False)
    principal_generation: int = field(default=0, init=False)
    """Bumped whenever a cached principal is dropped (:meth:`forget_contact`): plugins
    that keep principals they built from :meth:`principal_for_contact` (the identity
    plugin, per session) put it in their cache keys."""

    async def start(self) -> None:
        """Connect to the database (idempotent)."""
        if not self.started:
            await self.db.connect()
            self.started = True

    async def stop(self) -> None:
        if self.started:
            await self.db.close()
            self.started = False

    def anonymous(self, site: Site) -> Principal:
        roles = frozenset([site.anonymous_role]) if site.anonymous_role else frozenset()
        return Principal(website_id=site.id, role_ids=roles)

    async def principal_for_contact(self, site: Site, contact_id: int,
                                    session_id: str | None = None) -> Principal | None:
        """The principal of an active contact: its roles, its account's, Authenticated Users.

        ``None`` if the contact does not exist on this website or is inactive. Two
        indexed queries, cached per process for ``policy_ttl`` seconds (a change made by
        this process — a contact write, a site apply — takes effect at once; one made by
        another process within ``policy_ttl``).
        """
        key = (site.id, site.version, contact_id)
        cached = self._principals.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return Principal(website_id=site.id, contact_id=contact_id, account_id=cached[1],
                             role_ids=cached[2], session_id=session_id)
        async with self.db.reader() as conn:
            contact = await conn.fetchrow(
                'SELECT "id", "account", "state" FROM "contact" WHERE "id" = ? AND "website" = ?',
                contact_id, site.id)
            if contact is None or contact["state"] != "active":
                return None
            rows = await conn.fetch(
                'SELECT "role" FROM "portalis_contact_role" WHERE "contact" = ? '
                'UNION SELECT "role" FROM "portalis_account_role" WHERE "account" = ?',
                contact_id, contact["account"] if contact["account"] is not None else -1)
        roles = {r["role"] for r in rows}
        if site.authenticated_role:
            roles.add(site.authenticated_role)
        if self.config.policy_ttl > 0:
            if len(self._principals) > 50_000:
                self._principals.clear()
            self._principals[key] = (time.monotonic() + self.config.policy_ttl,
                                     contact["account"], frozenset(roles))
        return Principal(website_id=site.id, contact_id=contact_id,
                         account_id=contact["account"], role_ids=frozenset(roles),
                         session_id=session_id)

    async def grant_roles(self, contact_id: int, role_ids: list[int]) -> None:
        """Give a contact web roles (idempotent; joins the current transaction). Callers
        check that the principal may grant them (e.g. delegated management)."""
        async with self.db.transaction() as conn:
            for role_id in dict.fromkeys(role_ids):
                await conn.execute(
                    'INSERT INTO "portalis_contact_role" ("contact", "role") VALUES (?, ?) '
                    'ON CONFLICT ("contact", "role") DO NOTHING', contact_id, role_id)
        self.forget_contact(contact_id)

    async def revoke_roles(self, contact_id: int, role_ids: list[int]) -> None:
        """Take web roles from a contact (joins the current transaction)."""
        async with self.db.transaction() as conn:
            for role_id in role_ids:
                await conn.execute(
                    'DELETE FROM "portalis_contact_role" WHERE "contact" = ? AND "role" = ?',
                    contact_id, role_id)
        self.forget_contact(contact_id)

    async def contact_role_ids(self, contact_id: int) -> set[int]:
        """The contact's own web roles (not its account's, not the built-in ones)."""
        return {r["role"] for r in await self.db.fetch(
            'SELECT "role" FROM "portalis_contact_role" WHERE "contact" = ?', contact_id)}

    def forget_contact(self, contact_id: int) -> None:
        """Drop cached principals of a contact (its row or role links changed)."""
        self.principal_generation += 1
        for key in [k for k in self._principals if k[2] == contact_id]:
            del self._principals[key]
