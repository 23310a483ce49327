"""The configuration of each website (settings, roles, permissions, lists), cached.

A :class:`Site` is an immutable snapshot loaded in a handful of queries. Every change
to a website's configuration bumps ``portalis_website.config_version``; each process
re-checks the versions at most every ``policy_ttl`` seconds, so a change applied by any
process takes effect everywhere without a restart.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from portalis.core.db import Database
from portalis.core.errors import NotFound
from portalis.core.permissions import Grant, Policy
from portalis.core.registry import Registry

__all__ = ["ListDef", "Role", "Site", "SiteCache", "bump_version", "normalise_host"]


@dataclass(frozen=True)
class Role:
    id: int
    key: str
    name: str
    builtin: str


@dataclass(frozen=True)
class ListDef:
    id: int
    key: str
    title: str
    table: str
    columns: tuple[str, ...]
    sort: str
    page_size: int
    filter: str
    search_columns: tuple[str, ...]
    detail_url: str


@dataclass
class Site:
    id: int
    key: str
    title: str
    hosts: tuple[str, ...]
    version: int
    settings: dict[str, str]
    roles: dict[str, Role]
    policy: Policy
    lists: dict[str, ListDef]
    authenticated_role: int | None = None
    anonymous_role: int | None = None
    roles_by_id: dict[int, Role] = field(default_factory=dict)

    def setting(self, name: str, default: str = "") -> str:
        return self.settings.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.settings.get(name)
        if value is None:
            return default
        return value.strip().lower() in ("true", "1", "yes", "on")

    def number(self, name: str, default: float) -> float:
        try:
            return float(self.settings.get(name, default))
        except ValueError:
            return default

    @property
    def primary_host(self) -> str:
        return self.hosts[0] if self.hosts else "localhost"


def normalise_host(host: str) -> str:
    """Lower-case host name without port or trailing dot (IPv6 brackets kept)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


async def bump_version(conn: Any, website_id: int) -> None:
    """Mark a website's configuration changed (call inside the changing transaction)."""
    await conn.execute(
        'UPDATE "portalis_website" SET "config_version" = "config_version" + 1 WHERE "id" = ?',
        website_id,
    )


class SiteCache:
    """Loads and caches :class:`Site` snapshots; see the module docstring."""

    def __init__(self, db: Database, registry: Registry, defaults: dict[str, str],
                 ttl: float = 1.0) -> None:
        self.db = db
        self.registry = registry
        self.defaults = defaults
        self.ttl = ttl
        self._sites: dict[int, Site] = {}
        self._hosts: dict[str, int] = {}
        self._keys: dict[str, int] = {}
        self._versions: dict[int, int] = {}
        self._checked = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget everything (this process changed a configuration)."""
        self._checked = 0.0
        self._sites.clear()

    async def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.ttl and self._versions:
            return
        async with self._lock:
            if time.monotonic() - self._checked < self.ttl and self._versions:
                return
            rows = await self.db.fetch(
                'SELECT "id", "key", "hosts", "config_version" FROM "portalis_website"'
            )
            self._versions = {r["id"]: r["config_version"] for r in rows}
            self._keys = {r["key"]: r["id"] for r in rows}
            hosts: dict[str, int] = {}
            for r in rows:
                for host in (r["hosts"] or "").split(","):
                    if host.strip():
                        hosts[normalise_host(host)] = r["id"]
            self._hosts = hosts
            for sid in list(self._sites):
                if self._versions.get(sid) != self._sites[sid].version:
                    del self._sites[sid]
            self._checked = time.monotonic()

    async def website_for_host(self, host: str) -> int | None:
        await self._refresh()
        return self._hosts.get(normalise_host(host))

    async def website_for_key(self, key: str) -> int | None:
        await self._refresh()
        return self._keys.get(key)

    async def all_ids(self) -> list[int]:
        await self._refresh()
        return sorted(self._versions)

    async def get(self, website_id: int, *, refresh: bool = True) -> Site:
        """The site's snapshot. ``refresh=False`` skips the version check (the request
        flow already made it once for this request)."""
        if refresh or not self._versions:
            await self._refresh()
        site = self._sites.get(website_id)
        if site is not None:
            return site
        site = await self.load(website_id)
        self._sites[website_id] = site
        return site

    async def load(self, website_id: int) -> Site:
        db = self.db
        async with db.reader() as conn:
            web = await conn.fetchrow(
                'SELECT "id", "key", "title", "hosts", "config_version" '
                'FROM "portalis_website" WHERE "id" = ?', website_id)
            if web is None:
                raise NotFound(f"no website {website_id}", code="unknown_website")
            settings = dict(self.defaults)
            for r in await conn.fetch(
                'SELECT "name", "value" FROM "portalis_site_setting" WHERE "website" = ?',
                website_id,
            ):
                settings[r["name"]] = r["value"]
            roles = [
                Role(r["id"], r["key"], r["name"], r["builtin"] or "")
                for r in await conn.fetch(
                    'SELECT "id", "key", "name", "builtin" FROM "portalis_web_role" '
                    'WHERE "website" = ?', website_id)
            ]
            perm_roles: dict[int, set[int]] = {}
            for r in await conn.fetch(
                'SELECT pr."permission", pr."role" FROM "portalis_permission_role" pr '
                'JOIN "portalis_table_permission" tp ON tp."id" = pr."permission" '
                'WHERE tp."website" = ?', website_id,
            ):
                perm_roles.setdefault(r["permission"], set()).add(r["role"])
            grants = [
                Grant(
                    id=r["id"], key=r["key"], table=r["table_name"], scope=r["scope"],
                    relationship=r["relationship"] or "", parent_id=r["parent"],
                    privileges=frozenset(
                        p for p in ("read", "write", "create", "delete", "append", "append_to")
                        if r[p]
                    ),
                    role_ids=frozenset(perm_roles.get(r["id"], ())),
                    filter=r["filter"] or "",
                )
                for r in await conn.fetch(
                    'SELECT * FROM "portalis_table_permission" WHERE "website" = ?', website_id)
            ]
            lists = {
                r["key"]: ListDef(
                    id=r["id"], key=r["key"], title=r["title"] or r["key"],
                    table=r["table_name"],
                    columns=tuple(c.strip() for c in (r["columns"] or "").split(",") if c.strip()),
                    sort=r["sort"] or "", page_size=int(r["page_size"] or 10),
                    filter=r["filter"] or "",
                    search_columns=tuple(
                        c.strip() for c in (r["search_columns"] or "").split(",") if c.strip()),
                    detail_url=r["detail_url"] or "",
                )
                for r in await conn.fetch(
                    'SELECT * FROM "portalis_entity_list" WHERE "website" = ?', website_id)
            }
        site = Site(
            id=web["id"], key=web["key"], title=web["title"],
            hosts=tuple(normalise_host(h) for h in (web["hosts"] or "").split(",") if h.strip()),
            version=web["config_version"], settings=settings,
            roles={r.key: r for r in roles},
            policy=Policy(website_id, grants, self.registry, version=web["config_version"]),
            lists=lists,
        )
        site.roles_by_id = {r.id: r for r in roles}
        for role in roles:
            if role.builtin == "authenticated":
                site.authenticated_role = role.id
            elif role.builtin == "anonymous":
                site.anonymous_role = role.id
        return site
