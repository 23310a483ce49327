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
from typing import Any

import yaml

from portalis.core.sitefile import load_site_file
from tests.conftest import CASES_SITE
from tests.hardening.crash import (
    Ledger,
    client,
    csrf,
    kill_mid_flight,
    prepare,
    report,
    rows,
    served,
    serving,
)
from tests.support.server import ROOT, PortalServer

ALICE = "alice@contoso.example"
BULK = 10_000
KILL_AT = 60
KILL_APPLY_AT = 3000  # articles written in the open transaction before the kill


async def post_cases(server: PortalServer, ledger: Ledger, sent: set[str],
                     acked: dict[int, str], n: int) -> None:
    """One writer: cases posted through the Web API until the server dies."""
    async with client(server) as http:
        token = await csrf(http)
        i = 0
        while not ledger.enough:
            title = f"crash {n}-{i} " + "x" * 50
            i += 1
            sent.add(title)
            res = await ledger.send(http, "POST", "/_api/case",
                                    json={"title": title, "description": title * 3},
                                    headers={"x-test-contact": ALICE, "x-csrftoken": token})
            if res is None:
                return
            assert res.status_code == 201, res.text
            acked[res.json()["id"]] = title
            ledger.ack()


async def test_acknowledged_writes_survive_sigkill(database_url: str,
                                                   record_property: Any) -> None:
    """Eight clients post cases through the Web API; the server is SIGKILLed after
    ``KILL_AT`` acknowledgements. Every acknowledged case is stored, whole (title,
    description, its customer, its stamps), and readable through the restarted
    server; every stored case was sent, and those not acknowledged were in flight."""
    await prepare(database_url)
    alice = (await rows(database_url, 'SELECT "id" FROM "contact" WHERE "email" = ?',
                        ALICE))[0]
    server = PortalServer(database_url)
    server.start()
    sent: set[str] = set()
    acked: dict[int, str] = {}
    ledger = Ledger(cap=KILL_AT * 10)
    await kill_mid_flight(server, [post_cases(server, ledger, sent, acked, n)
                                   for n in range(8)], ledger, KILL_AT)
    with serving(database_url) as restarted:  # recovery of the WAL / PostgreSQL log
        readable: dict[int, str] = {}
        url: str | None = "/_api/case?$top=100&$select=id,title"
        async with client(restarted) as http:
            while url is not None:  # every page, following the cursor
                res = await http.get(url, headers={"x-test-contact": ALICE})
                assert res.status_code == 200, res.text
                readable.update((r["id"], r["title"]) for r in res.json()["value"])
                url = res.json().get("@odata.nextLink")
    stored = {r["id"]: r for r in await rows(
        database_url, 'SELECT "id", "title", "description", "status", "customer", '
                      '"created", "modified" FROM "case" '
                      "WHERE \"title\" LIKE 'crash %'")}
    report(record_property, "Web API case posts", ledger, stored=len(stored),
           stored_not_acknowledged=len(stored) - len(set(acked) & set(stored)))
    for cid, title in acked.items():
        assert cid in stored, f"acknowledged case {cid} lost"
        assert stored[cid]["title"] == title
        assert readable.get(cid) == title, f"acknowledged case {cid} not readable"
    for row in stored.values():  # nothing half-written, nothing never sent
        assert row["title"] in sent, row
        assert row["description"] == row["title"] * 3, row
        assert (row["status"], row["customer"]) == ("open", alice["id"]), row
        assert row["created"] is not None and row["modified"] is not None, row
    # a stored case nobody acknowledged was a request cut off by the kill
    assert len(stored) - len(acked) <= ledger.in_flight


async def apply_command(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def site_counts(url: str) -> dict[str, int]:
    """What of the bulk site file is stored: its website, articles, site keys."""
    sites = await rows(url, 'SELECT "id" FROM "portalis_website" WHERE "key" = ?', "bulk")
    counts = {"websites": len(sites), "articles": 0, "site_keys": 0}
    if sites:
        for name, sql in (("articles", 'SELECT COUNT(*) AS n FROM "article" WHERE "website" = ?'),
                          ("site_keys", 'SELECT COUNT(*) AS n FROM "portalis_site_key" '
                                        'WHERE "website" = ?')):
            counts[name] = (await rows(url, sql, sites[0]["id"]))[0]["n"]
    return counts


async def test_a_killed_site_apply_leaves_nothing_and_the_rerun_all(
        database_url: str, tmp_path: Path, record_property: Any) -> None:
    """``portalis site apply`` of 10,003 records is SIGKILLed once it has written
    ``KILL_APPLY_AT`` articles in its (single, open) transaction: nothing of the file may
    be stored. The same command run again on the recovered database stores all of it."""
    data = load_site_file(served(CASES_SITE))
    data["website"]["key"] = "bulk"
    data["records"]["article"] += [{"key": f"bulk{i}", "title": f"bulk article {i}",
                                    "published": True} for i in range(BULK)]
    in_file = len(data["records"]["article"])
    site_file = tmp_path / "bulk.yaml"
    site_file.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PORTALIS_DATABASE_URL": database_url,
           "PORTALIS_CONFIG": "/nonexistent.toml", "PYTHONPATH": str(ROOT)}
    before = await site_counts(database_url)
    assert before == {"websites": 0, "articles": 0, "site_keys": 0}

    proc = await apply_command(env, "tests.hardening.apply_worker", str(site_file))
    assert proc.stdout is not None and proc.stderr is not None
    written = 0
    try:
        while written < KILL_APPLY_AT:  # the worker's progress lines (inside the transaction)
            line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
            if not line:
                raise AssertionError("the apply ended before it could be killed: "
                                     + (await proc.stderr.read()).decode()[-2000:])
            if line.startswith("wrote article "):
                written = int(line.split()[-1])
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == -signal.SIGKILL
    after_kill = await site_counts(database_url)
    assert after_kill == before, f"a killed apply left {after_kill}"

    rerun = await apply_command(env, "portalis.core.cli", "site", "apply", str(site_file))
    out, err = await asyncio.wait_for(rerun.communicate(), 600)
    assert rerun.returncode == 0, err.decode()[-2000:]
    assert "applied website 'bulk'" in out.decode()
    after_rerun = await site_counts(database_url)
    assert after_rerun["websites"] == 1 and after_rerun["articles"] == in_file
    report(record_property, "site apply", records_in_file=in_file,
           articles_written_when_killed=written, stored_after_kill=after_kill["articles"],
           stored_after_rerun=after_rerun["articles"])
