"""Seed a bench database: ``python -m portalis.loadtests.seed --cases N --database URL``.

1. (Re)create the database, run every migration (:func:`portalis.core.migrate.migrate`).
2. Apply the bench site file (:data:`portalis.loadtests.benchsite.BENCH_SITE`) through
   :func:`portalis.core.sitefile.apply_site`: website, roles, permissions, lists.
3. Bulk-insert accounts (some with parents), contacts, role links, articles, N cases
   and their notes.

Why bulk SQL here and nowhere else: the rule that portal data goes through
``records`` exists to apply permissions, validation and write hooks per request.
Seeding is neither a request nor a principal's action; ``records.create`` costs a
transaction and several statements per row, which would take hours for 1M cases.
The seeder writes exactly the rows ``records`` would (website scope, normalised
emails, UTC timestamps in the kernel's encoding) in large transactions:
``executemany`` on one ``sqlite3`` connection with ``synchronous=OFF``, and ``COPY``
(``copy_records_to_table``) on PostgreSQL. It then runs ``ANALYZE``.

Data shape (deterministic, for a given N):

* contacts: max(200, N/50); accounts: contacts/10, each with 10 contacts, every account
  not divisible by 5 has a parent account. Account 0 (``bigco``) holds a quarter of all
  cases, so its administrators can page 1,000 pages deep at 100k+ cases.
* every account has the web role ``customer`` (own cases); every even-numbered contact
  and every contact of bigco also has ``customer-admin`` (its account's cases).
* every second case has two notes; 200 knowledge articles, 4 in 5 published.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from portalis.core.config import Config
from portalis.core.db import DatabaseURL
from portalis.core.migrate import migrate
from portalis.core.services import Services
from portalis.core.sitefile import apply_site, load_site_file
from portalis.loadtests.benchsite import BENCH_SITE, WEBSITE_KEY, email_of
from portalis.loadtests.sinks import PostgresSink, Sink, SqliteSink

__all__ = ["PASSWORD", "Shape", "main", "plugin_apps", "seed", "seeded_cases"]

CHUNK = 50_000
PLUGINS = ("selfservice",)
PASSWORD = "Bench-pass-1"  # every seeded contact's, when the identity plugin is enabled
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
STATUSES = ("open", "open", "resolved", "closed")
PRIORITIES = ("normal", "normal", "high", "low")
WORDS = ("printer", "invoice", "login", "network", "laptop", "licence", "mailbox", "portal",
         "backup", "password", "VPN", "screen", "update", "order", "delivery")


@dataclass(frozen=True)
class Shape:
    cases: int

    @property
    def contacts(self) -> int:
        return max(200, self.cases // 50)

    @property
    def accounts(self) -> int:
        return self.contacts // 10

    def account_of(self, contact: int) -> int:
        return contact // 10

    def customer_of(self, case: int) -> int:
        if case % 4 == 0:  # a quarter of the cases belong to bigco (contacts 0..9)
            return (case // 4) % 10
        return 10 + (case * 2654435761) % (self.contacts - 10)


async def _pg_admin(url: str, sql: str) -> None:
    parsed = urlparse(url)
    conn = await asyncpg.connect(f"{parsed.scheme}://{parsed.netloc}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def _is_file(path: str) -> bool:
    return Path(path).is_file()


async def reset_database(url: str) -> None:
    """Delete the SQLite file or drop and re-create the PostgreSQL database."""
    db = DatabaseURL(url)
    if db.dialect == "sqlite":
        _remove_sqlite(db.sqlite_path)
        return
    name = urlparse(url).path.lstrip("/")
    await _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _pg_admin(url, f'CREATE DATABASE "{name}"')


async def seeded_cases(url: str) -> int | None:
    """The N the database was seeded with (``Bench/cases``), or None."""
    db = DatabaseURL(url)
    try:
        if db.dialect == "sqlite":
            if not _is_file(db.sqlite_path):
                return None
            sink: Sink = SqliteSink(db.sqlite_path)
        else:
            sink = PostgresSink(await asyncpg.connect(url))
    except (asyncpg.InvalidCatalogNameError, OSError):
        return None
    try:
        value = await sink.fetchval(
            'SELECT s."value" FROM "portalis_site_setting" s JOIN "portalis_website" w '
            'ON w."id" = s."website" WHERE w."key" = ? AND s."name" = ?',
            WEBSITE_KEY, "Bench/cases")
    except (sqlite3.Error, asyncpg.PostgresError):
        return None
    finally:
        await sink.close()
    return int(value) if value and int(value) > 0 else None


def plugin_apps(plugins: list[str]) -> list[str]:
    from portalis.core.plugins import combined, make_manager

    return list(combined(make_manager(plugins), "portalis_piccolo_apps"))


async def _apply_site(url: str, plugins: list[str]) -> int:
    config = Config(database_url=url, plugins=plugins, secret_key="bench-seed")
    services = Services.build(config)
    await services.start()
    try:
        return await apply_site(services, load_site_file(BENCH_SITE))
    finally:
        await services.stop()


def _chunks(rows: Iterator[tuple[Any, ...]], size: int = CHUNK) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Rows:
    """Row generators for one database and shape; ids are assigned explicitly."""

    def __init__(self, sink: Sink, shape: Shape, website: int, roles: dict[str, int]) -> None:
        self.sink, self.shape, self.website, self.roles = sink, shape, website, roles
        self.now = sink.ts(EPOCH)

    def stamp(self, i: int, spread: int) -> Any:
        # distinct, not in id order: the list sorts by modified, the ids do not help
        return self.sink.ts(EPOCH + dt.timedelta(seconds=(i * 7919) % spread, microseconds=i % 997))

    def accounts(self) -> Iterator[tuple[Any, ...]]:
        for i in range(self.shape.accounts):
            parent = None if i % 5 == 0 else (i // 5) * 5 + 1
            name = "Bigco" if i == 0 else f"Account {i}"
            key = "bigco" if i == 0 else f"acct-{i}"
            yield (i + 1, self.website, key, name, parent, self.now, self.now)

    def contacts(self) -> Iterator[tuple[Any, ...]]:
        for i in range(self.shape.contacts):
            yield (i + 1, self.website, f"c-{i}", email_of(i), f"First{i}", f"Last{i}", "",
                   self.shape.account_of(i) + 1, "active", self.now, self.now)

    def account_roles(self) -> Iterator[tuple[Any, ...]]:
        for i in range(self.shape.accounts):
            yield (i + 1, self.roles["customer"])

    def contact_roles(self) -> Iterator[tuple[Any, ...]]:
        for i in range(self.shape.contacts):
            if i % 2 == 0 or i < 10:
                yield (i + 1, self.roles["customer-admin"])

    def articles(self) -> Iterator[tuple[Any, ...]]:
        for i in range(200):
            w = WORDS[i % len(WORDS)]
            yield (i + 1, self.website, f"How to fix your {w} ({i})",
                   f"Steps for {w} problems. " * 20, i % 5 != 0, self.now, self.now)

    def cases(self) -> Iterator[tuple[Any, ...]]:
        spread = max(self.shape.cases * 30, 86_400)
        for j in range(self.shape.cases):
            customer = self.shape.customer_of(j)
            w = WORDS[j % len(WORDS)]
            yield (j + 1, self.website, f"Case {j}: {w} problem",
                   f"The {w} does not work as expected since last week. Reference {j}.",
                   STATUSES[j % 4], PRIORITIES[(j // 4) % 4], customer + 1,
                   self.shape.account_of(customer) + 1, self.stamp(j, spread),
                   self.stamp(j, spread))

    def credentials(self) -> Iterator[tuple[Any, ...]]:
        import argon2

        digest = argon2.PasswordHasher().hash(PASSWORD)  # the identity plugin's defaults
        yes, no = (1, 0) if self.sink.dialect == "sqlite" else (True, False)
        for i in range(self.shape.contacts):
            yield (self.website, i + 1, digest, yes, no)

    def notes(self) -> Iterator[tuple[Any, ...]]:
        spread = max(self.shape.cases * 30, 86_400)
        n = 0
        for j in range(0, self.shape.cases, 2):
            author = self.shape.customer_of(j) + 1
            for k in range(2):
                n += 1
                yield (n, self.website, j + 1, f"Note {k} on case {j}: we are looking into it.",
                       author, self.stamp(j + k, spread))


CREDENTIAL_COLUMNS = ("website", "contact", "password_hash", "email_confirmed", "two_factor")
TABLES: list[tuple[str, tuple[str, ...], Callable[[_Rows], Iterator[tuple[Any, ...]]],
                   Callable[[Shape], int]]] = [
    ("account", ("id", "website", "key", "name", "parent", "created", "modified"),
     _Rows.accounts, lambda s: s.accounts),
    ("contact", ("id", "website", "key", "email", "firstname", "lastname", "phone", "account",
                 "state", "created", "modified"), _Rows.contacts, lambda s: s.contacts),
    ("portalis_account_role", ("account", "role"), _Rows.account_roles, lambda s: s.accounts),
    ("portalis_contact_role", ("contact", "role"), _Rows.contact_roles,
     lambda s: (s.contacts + 1) // 2 + 5),
    ("article", ("id", "website", "title", "body", "published", "created", "modified"),
     _Rows.articles, lambda s: 200),
    ("case", ("id", "website", "title", "description", "status", "priority", "customer",
              "account", "created", "modified"), _Rows.cases, lambda s: s.cases),
    ("case_note", ("id", "website", "case", "body", "author", "created"), _Rows.notes,
     lambda s: 2 * ((s.cases + 1) // 2)),
]


async def seed(url: str, cases: int, *, console: Console | None = None,
               plugins: list[str] | None = None) -> int:
    """Re-create ``url`` and seed it with ``cases`` cases; returns the website id.

    With the ``identity`` plugin among ``plugins``, every contact also gets a local
    credential (one Argon2id hash of :data:`PASSWORD`, e-mail confirmed)."""
    console = console or Console()
    plugins = list(plugins or PLUGINS)
    shape = Shape(cases)
    with Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        setup = progress.add_task("migrate + site file", total=3)
        await reset_database(url)
        progress.advance(setup)
        await migrate(url, plugin_apps(plugins), echo=lambda *_: None)
        progress.advance(setup)
        website = await _apply_site(url, plugins)
        progress.advance(setup)
        db = DatabaseURL(url)
        sink: Sink = (SqliteSink(db.sqlite_path) if db.dialect == "sqlite"
                      else PostgresSink(await asyncpg.connect(url)))
        try:
            roles = {}
            for key in ("customer", "customer-admin"):
                roles[key] = await sink.fetchval(
                    'SELECT "id" FROM "portalis_web_role" WHERE "website" = ? AND "key" = ?',
                    website, key)
            rows = _Rows(sink, shape, website, roles)
            tasks = {name: progress.add_task(name, total=total(shape))
                     for name, _, _, total in TABLES}
            for name, columns, make, _ in TABLES:
                for batch in _chunks(make(rows)):
                    await sink.insert(name, columns, batch)
                    progress.advance(tasks[name], len(batch))
            if "identity" in plugins:
                task = progress.add_task("identity_credential", total=shape.contacts)
                for batch in _chunks(rows.credentials()):
                    await sink.insert("identity_credential", CREDENTIAL_COLUMNS, batch)
                    progress.advance(task, len(batch))
            finish = progress.add_task("analyze", total=1)
            if sink.dialect == "postgres":
                for name, columns, _, _ in TABLES:
                    if "id" in columns:
                        await sink.execute(
                            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                            f'(SELECT max("id") FROM "{name}"))')
            await sink.execute('UPDATE "portalis_site_setting" SET "value" = ? '
                               'WHERE "website" = ? AND "name" = ?', str(cases), website,
                               "Bench/cases")
            await sink.execute('UPDATE "portalis_website" SET "config_version" = '
                               '"config_version" + 1 WHERE "id" = ?', website)
            await sink.execute("ANALYZE")
            progress.advance(finish)
        finally:
            await sink.close()
    return website


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m portalis.loadtests.seed",
                                     description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, required=True, help="number of cases (e.g. 10000)")
    parser.add_argument("--database", required=True,
                        help="sqlite:///path.sqlite or postgresql://user@host:port/db "
                             "(re-created!)")
    parser.add_argument("--plugins", default=",".join(PLUGINS),
                        help="enabled plugins (add 'identity' for password sign-in)")
    args = parser.parse_args(argv)
    console = Console()
    started = dt.datetime.now()
    website = asyncio.run(seed(args.database, args.cases, console=console,
                               plugins=args.plugins.split(",")))
    took = (dt.datetime.now() - started).total_seconds()
    console.print(f"seeded {args.cases:,} cases into {args.database} "
                  f"(website {website}) in {took:.1f} s")


if __name__ == "__main__":
    main()
