"""Fresh, migrated databases for tests: SQLite files or PostgreSQL databases.

``PORTALIS_TEST_DATABASE`` chooses the engine: unset or ``sqlite`` (default), or a
PostgreSQL server URL such as ``postgresql://postgres@127.0.0.1:5432/test``. Migrations
run once per test session into a template; each test gets a copy (a file copy on
SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlparse

import asyncpg

from portalis.core.migrate import migrate

__all__ = ["TemplateDatabases", "engine_name"]


def engine_name() -> str:
    value = os.environ.get("PORTALIS_TEST_DATABASE", "sqlite")
    return "postgres" if value.startswith("postgres") else "sqlite"


class TemplateDatabases:
    def __init__(self, workdir: Path, plugin_apps: list[str]) -> None:
        self.workdir = workdir
        self.plugin_apps = plugin_apps
        self.server = os.environ.get("PORTALIS_TEST_DATABASE", "sqlite")
        self.template: str | None = None
        self.created: list[str] = []
        self.run_id = uuid.uuid4().hex[:8]

    def _pg(self, db: str) -> str:
        parsed = urlparse(self.server)
        return f"{parsed.scheme}://{parsed.netloc}/{db}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self._pg("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def prepare(self) -> None:
        if self.template is not None:
            return
        if engine_name() == "sqlite":
            path = self.workdir / "template.sqlite"
            await migrate(f"sqlite:///{path}", self.plugin_apps, echo=lambda *_: None)
            self.template = str(path)
        else:
            name = f"portalis_tmpl_{self.run_id}"
            await self._admin(f'DROP DATABASE IF EXISTS "{name}"')
            await self._admin(f'CREATE DATABASE "{name}"')
            await migrate(self._pg(name), self.plugin_apps, echo=lambda *_: None)
            # Piccolo may keep connections to the template; it must be idle to be copied.
            await self._admin(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            self.template = name
            self.created.append(name)

    async def fresh(self) -> str:
        """A new database with every migration applied; returns its URL."""
        await self.prepare()
        assert self.template is not None
        if engine_name() == "sqlite":
            path = self.workdir / f"db-{uuid.uuid4().hex[:10]}.sqlite"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        name = f"portalis_t_{self.run_id}_{uuid.uuid4().hex[:8]}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self._pg(name)

    def drop_all(self) -> None:
        if engine_name() != "postgres" or not self.created:
            return

        async def go() -> None:
            # test databases first, the template last; a few at a time (each DROP waits
            # on file removal, so running them side by side saves most of the wait)
            names = [n for n in self.created if n != self.template]
            sem = asyncio.Semaphore(8)

            async def drop(name: str) -> None:
                async with sem:
                    await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            await asyncio.gather(*(drop(n) for n in names))
            if self.template:
                await drop(self.template)

        asyncio.run(go())
