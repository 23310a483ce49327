"""The bare baseline runs exactly the statements Portalis runs for the same page.

The benchmark's ratio (Portalis / baseline) means "framework cost over the bare query"
only if both execute the same SQL with the same parameters. The baseline keeps its SQL
as constants (no kernel code at request time), so this test sends the same four
requests — the case list and the Web API, first and next page — to both apps
in-process and compares every statement on ``case`` and its parameters.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar

from portalis.core.config import Config
from portalis.core.db import Connection
from portalis.core.services import Services
from portalis.core.web.app import create_app
from portalis.loadtests import baseline
from portalis.loadtests.manifest import bench_users
from portalis.loadtests.principal import BenchLogin
from portalis.loadtests.seed import seed

Statements = list[tuple[str, list[Any]]]


async def _drive(app: Litestar, user: dict[str, Any]) -> None:
    headers = {"x-bench-contact": user["email"], "accept": "application/json",
               "x-bench-contact-id": str(user["contact_id"]),
               "x-bench-account-id": str(user["account_id"])}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                 headers=headers) as client:
        first = (await client.get("/_lists/cases")).raise_for_status().json()
        assert first["next"], "the bench user's list must have a second page"
        (await client.get(first["next"])).raise_for_status()
        api = (await client.get("/_api/case?$top=20")).raise_for_status().json()
        assert api["@odata.nextLink"]
        (await client.get(api["@odata.nextLink"])).raise_for_status()


async def _run(app: Litestar, user: dict[str, Any]) -> None:
    for hook in app.on_startup:
        await hook(app)
    try:
        await _drive(app, user)
    finally:
        for hook in app.on_shutdown:
            await hook(app)


async def test_baseline_sql_is_the_kernels(database_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(database_url, 1000)
    user = (await bench_users(database_url))[0]
    kernel: Statements = []
    bare: Statements = []
    kernel_fetch, bare_fetch = Connection.fetch, baseline.Bare.fetch

    async def record_kernel(self: Connection, sql: str, *params: Any) -> Any:
        if 'FROM "case" t0' in sql:
            kernel.append((sql, list(params)))
        return await kernel_fetch(self, sql, *params)

    async def record_bare(self: baseline.Bare, sql: str, *params: Any) -> Any:
        if 'FROM "case" t0' in sql:
            bare.append((sql, list(params)))
        return await bare_fetch(self, sql, *params)

    monkeypatch.setattr(Connection, "fetch", record_kernel)
    monkeypatch.setattr(baseline.Bare, "fetch", record_bare)

    config = Config(database_url=database_url, plugins=["selfservice"], secret_key="k" * 32)
    services = Services.build(config, (BenchLogin(),))
    await _run(create_app(config, services=services), user)
    await services.stop()
    monkeypatch.setenv("PORTALIS_DATABASE_URL", database_url)
    await _run(baseline.create(), user)

    assert len(kernel) == 4, [sql for sql, _ in kernel]
    assert [sql for sql, _ in kernel] == [baseline.LIST_SQL, baseline.LIST_NEXT_SQL,
                                          baseline.API_SQL, baseline.API_NEXT_SQL]
    assert bare == kernel
    # the page statements of a contact with two scopes are the per-scope union
    assert all(" UNION " in sql for sql, _ in kernel)


async def test_each_scope_branch_is_one_index_seek(database_url: str) -> None:
    """The selfservice migration creates the composite (website, scope column, sort
    column, id) indexes, and each branch of the page statements seeks one of them, so a
    page costs the same at any depth and dataset size (SQLite: no temporary B-tree sort
    inside a branch)."""
    await seed(database_url, 1000)
    user = (await bench_users(database_url))[0]
    services = Services.build(Config(database_url=database_url, plugins=["selfservice"]))
    await services.start()
    try:
        db = services.db
        names = {"case_customer_modified", "case_account_modified", "case_customer_id",
                 "case_account_id"}
        if db.dialect == "sqlite":
            found = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'index' "
                                   "AND tbl_name = 'case'")
        else:
            found = await db.fetch("SELECT indexname AS name FROM pg_indexes "
                                   "WHERE tablename = 'case'")
        assert names <= {row["name"] for row in found}
        if db.dialect != "sqlite":
            return
        website = await db.fetchval('SELECT "id" FROM "portalis_website"')
        args = (website, user["contact_id"], user["account_id"], [])
        for sql, params, indexes in [
                (baseline.LIST_SQL, baseline.list_params(*args),
                 ("case_customer_modified", "case_account_modified")),
                (baseline.API_SQL, baseline.api_params(*args),
                 ("case_customer_id", "case_account_id"))]:
            plan = [row["detail"] for row in await db.fetch(f"EXPLAIN QUERY PLAN {sql}",
                                                            *params)]
            for index in indexes:
                assert any(f"INDEX {index} " in step for step in plan), plan
            # one sort only: the outer ORDER BY over at most two pages of ids
            assert sum("TEMP B-TREE FOR ORDER BY" in step for step in plan) <= 1, plan
    finally:
        await services.stop()
