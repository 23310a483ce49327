"""Crash safety: SIGKILL in the middle of concurrent writes, on the SQLite file and on
PostgreSQL. After a restart every acknowledged write is present, intact, and no
half-written record exists; a killed ``site apply`` leaves all or nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from portalis.core.config import Config
from portalis.core.services import Services
from portalis.core.sitefile import apply_site, load_site_file
from tests.conftest import CASES_SITE
from tests.support.server import ROOT, PortalServer

ALICE = "alice@contoso.example"
BULK = 10_000
SITE = CASES_SITE.replace("hosts: [testserver.local]", "hosts: [testserver.local, 127.0.0.1]")


async def rows(url: str, sql: str, *args: object) -> list[dict]:
    services = Services.build(Config(database_url=url, plugins=["selfservice"]))
    await services.start()
    try:
        return await services.db.fetch(sql, *args)
    finally:
        await services.stop()


async def prepare(url: str) -> None:
    services = Services.build(Config(database_url=url, plugins=["selfservice"]))
    await services.start()
    try:
        await apply_site(services, load_site_file(SITE))
    finally:
        await services.stop()


async def hammer(base: str, acked: dict[int, str], stop_after: int) -> int:
    """Post cases from 8 concurrent clients until the server dies; returns attempts."""
    attempts = 0

    async def worker(n: int) -> None:
        nonlocal attempts
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            await client.get("/_health")
            token = client.cookies["csrftoken"]
            for i in range(10_000):
                title = f"crash {n}-{i} " + "x" * 50
                attempts += 1
                try:
                    res = await client.post("/_api/case", json={"title": title,
                                                                "description": title * 3},
                                            headers={"x-test-contact": ALICE,
                                                     "x-csrftoken": token})
                except httpx.HTTPError:
                    return
                if res.status_code == 201:
                    acked[res.json()["id"]] = title
                else:
                    raise AssertionError(res.text)
                if len(acked) >= stop_after * 10:
                    return

    await asyncio.gather(*(worker(n) for n in range(8)), return_exceptions=False)
    return attempts


async def test_acknowledged_writes_survive_sigkill(database_url: str) -> None:
    await prepare(database_url)
    server = PortalServer(database_url)
    server.start()
    acked: dict[int, str] = {}
    try:
        task = asyncio.create_task(hammer(server.url, acked, stop_after=60))
        while len(acked) < 60:
            await asyncio.sleep(0.02)
            assert not task.done(), "the writers stopped before the crash"
        server.kill()  # mid-flight: several requests are in progress
        attempts = await task
    finally:
        server.kill()
    assert attempts > len(acked) >= 60
    server = PortalServer(database_url)
    server.start()  # restart on the same database (recovery of the WAL / PostgreSQL log)
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            res = await client.get("/_api/case?$top=500&$select=title,description",
                                   headers={"x-test-contact": ALICE})
            assert res.status_code == 200
    finally:
        server.stop()
    stored = {r["id"]: r for r in await rows(
        database_url, 'SELECT "id", "title", "description", "customer" FROM "case"')}
    for cid, title in acked.items():
        assert cid in stored, f"acknowledged case {cid} lost"
        assert stored[cid]["title"] == title
    for row in stored.values():  # nothing half-written
        if row["title"].startswith("crash "):
            assert row["description"] == row["title"] * 3 and row["customer"] is not None


async def test_a_killed_site_apply_leaves_all_or_nothing(database_url: str,
                                                         tmp_path: Path) -> None:
    data = load_site_file(SITE)
    data["website"]["key"] = "bulk"
    data["records"]["article"] += [{"key": f"bulk{i}", "title": f"bulk article {i}",
                                    "published": True} for i in range(BULK)]
    site_file = tmp_path / "bulk.yaml"
    site_file.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PORTALIS_DATABASE_URL": database_url,
           "PORTALIS_CONFIG": "/nonexistent.toml", "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portalis.core.cli", "site", "apply", str(site_file), env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill while the apply is writing (10,000 records take many seconds)
    await asyncio.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == -signal.SIGKILL, "the apply finished before it could be killed"
    sites = await rows(database_url, 'SELECT "id" FROM "portalis_website" WHERE "key" = ?',
                       "bulk")
    if not sites:
        count = (await rows(database_url, 'SELECT COUNT(*) AS n FROM "article"'))[0]["n"]
        assert count == 0  # nothing of the file, not even its first records
    else:
        count = (await rows(database_url, 'SELECT COUNT(*) AS n FROM "article" '
                            'WHERE "website" = ?', sites[0]["id"]))[0]["n"]
        assert count == BULK + 3
