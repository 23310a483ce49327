"""Parallel wrong attempts from several OS processes against one database: exactly
``MaxFailedAccessAttemptsBeforeLockout`` of them are checked, none after the lock.

Runs on both engines: on PostgreSQL the processes share the server; on SQLite they share
the database file (WAL, one writer at a time across processes).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from portalis.core.plugins import call_hook
from portalis.plugins.lockout.store import LockoutStore
from tests.support.portal import running_portal

from .conftest import PLUGINS, site_file

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
ATTEMPTS_EACH = 12
MAX = 5


def run_workers(url: str, website_id: int, contact_id: int) -> list[dict[str, int]]:
    """Start the workers, release them together once all are connected, collect results."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.lockout.parallel_worker", url, str(website_id),
             str(contact_id), str(ATTEMPTS_EACH), str(tag)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        for tag in range(PROCESSES)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise AssertionError(f"worker did not start: {line!r} {proc.stderr.read()}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


async def test_parallel_processes_check_exactly_max_attempts(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        website_id = await portal.apply(site_file(**{
            "Authentication/UserManager/MaxFailedAccessAttemptsBeforeLockout": MAX}))
        alice = int(await portal.services.db.fetchval(
            'SELECT "id" FROM "contact" WHERE "email" = ?', "alice@example.com"))

        results = await asyncio.to_thread(run_workers, database_url, website_id, alice)

        assert sum(r["checked"] for r in results) == MAX, results
        assert sum(r["refused"] for r in results) == PROCESSES * ATTEMPTS_EACH - MAX
        row = await LockoutStore(portal.services.db).contact_status(alice)
        assert row is not None and row["attempts"] == MAX
        assert row["locked_until"] is not None
        site = await portal.services.sites.get(website_id)
        refusals = await call_hook(portal.services.pm, "portalis_signin_attempt", site=site,
                                   contact_id=alice, kind="password", client_ip="192.0.2.99",
                                   services=portal.services)
        assert refusals, "the account must be locked after the parallel attempts"
