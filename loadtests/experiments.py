"""Candidate kernel fixes, applied at run time to measure them before proposing them.

Nothing here changes ``core/``: :mod:`portalis.loadtests.asgi` applies the fixes named
in ``PORTALIS_BENCH_EXPERIMENTS`` (comma-separated) to the app it builds, so one bench
run can compare the kernel as it is with the kernel as it would be. Each fix is the
proposal reported in ``docs/benchmarks.md``.

* ``onehop``: SQLite reads in one trip to the connection's thread (``execute_fetchall``
  with ``sqlite3.Row``) instead of three (execute, fetchall, close).
* ``principal-cache``: keep a contact's principal (account, roles) for ``policy_ttl``
  seconds per site version, like the site configuration itself.
* ``no-reload``: do not ``stat`` template files on every render (``auto_reload=False``).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from litestar import Litestar

from portalis.core import db as kernel_db

__all__ = ["EXPERIMENTS", "apply"]


def _onehop(app: Litestar) -> None:
    open_sqlite = kernel_db.Database._open_sqlite

    async def _open(self: kernel_db.Database) -> Any:
        conn = await open_sqlite(self)
        conn.row_factory = sqlite3.Row
        return conn

    async def fetch(self: kernel_db.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
        if self.db.dialect != "sqlite":
            return await plain_fetch(self, sql, *params)
        self.db.statement_count += 1
        try:
            return [dict(r) for r in await self.raw.execute_fetchall(sql, params)]
        except sqlite3.IntegrityError as exc:
            raise kernel_db.IntegrityError(str(exc)) from exc

    plain_fetch = kernel_db.Connection.fetch
    kernel_db.Database._open_sqlite = _open  # type: ignore[method-assign]
    kernel_db.Connection.fetch = fetch  # type: ignore[method-assign]


def _principal_cache(app: Litestar) -> None:
    services = app.state.services
    plain = services.principal_for_contact
    cache: dict[tuple[int, int, int, str | None], tuple[float, Any]] = {}
    ttl = services.config.policy_ttl

    async def principal_for_contact(site: Any, contact_id: int,
                                    session_id: str | None = None) -> Any:
        key = (site.id, site.version, contact_id, session_id)
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        principal = await plain(site, contact_id, session_id)
        if len(cache) > 50_000:
            cache.clear()
        cache[key] = (now, principal)
        return principal

    services.principal_for_contact = principal_for_contact


def _no_reload(app: Litestar) -> None:
    from liquid import CachingFileSystemLoader

    env = app.state.renderer.env
    env.loader = CachingFileSystemLoader(env.loader.search_path, auto_reload=False)


EXPERIMENTS = {"onehop": _onehop, "principal-cache": _principal_cache,
               "no-reload": _no_reload}


def apply(names: list[str], app: Litestar) -> None:
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)})")
        EXPERIMENTS[name](app)
