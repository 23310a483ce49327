"""Smoke run of every Locust scenario: a few users for a few seconds on a small SQLite
database. Proves the scenarios work (requests made, none failed); no timing asserted.

Locust runs as a subprocess (it monkey-patches gevent into whatever imports it)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.loadtests.manifest import bench_users, deep_cursor
from portalis.loadtests.seed import seed
from portalis.loadtests.servers import Server, run_locust

# request-name prefixes of each scenario (see loadtests/locustfile.py)
SCENARIOS = {
    "ListHtmlUser": "/_lists/cases html",
    "ListJsonUser": "/_lists/cases json [",
    "ApiJsonUser": "/_api/case [page",
    "DepthUser": "/_lists/cases json [deep]",
    "MixedUser": ("/_lists/cases json mixed", "/_api/case [create]",
                  "/_lists/cases?filter=mine [read-your-write]"),
    "AnonymousBrowser": ("/_lists/articles [page", "/_api/article"),
}
BASELINE = ["ListHtmlUser", "ListJsonUser", "ApiJsonUser", "DepthUser"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    work = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{work / 'bench.sqlite'}"
    asyncio.run(seed(url, 1000))
    users, big = work / "users.json", work / "big.json"
    users.write_text(json.dumps(asyncio.run(bench_users(url))))
    big.write_text(json.dumps(asyncio.run(bench_users(url, bigco=True))))
    cursor = asyncio.run(deep_cursor(url, 5))
    assert cursor is not None
    env = {"PORTALIS_DATABASE_URL": url, "PORTALIS_PLUGINS": "selfservice",
           "PORTALIS_SECRET_KEY": "smoke-test-secret", "PORTALIS_BENCH_DEPTH": "3"}
    servers = {"portalis": Server("portalis.loadtests.asgi:create", env, core=None,
                                  log=work / "portalis.log"),
               "baseline": Server("portalis.loadtests.baseline:create", env, core=None,
                                  log=work / "baseline.log")}
    try:
        for server in servers.values():
            server.wait_ready()
        yield {"work": work, "servers": servers,
               "env": {**env, "PORTALIS_BENCH_USERS": str(users),
                       "PORTALIS_BENCH_DEPTH_USERS": str(big),
                       "PORTALIS_BENCH_CURSOR": cursor}}
    finally:
        for server in servers.values():
            server.stop()


def _check(by_name: dict[str, tuple[int, int]], classes: list[str]) -> None:
    for cls in classes:
        prefixes = SCENARIOS[cls]
        prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
        for prefix in prefixes:
            hits = {n: v for n, v in by_name.items() if n.startswith(prefix)}
            assert sum(r for r, _ in hits.values()) > 0, f"{cls}: no {prefix!r} requests"
            assert sum(f for _, f in hits.values()) == 0, f"{cls}: failures in {hits}"


def test_every_scenario_against_portalis(bench: dict[str, object]) -> None:
    servers, env, work = bench["servers"], bench["env"], bench["work"]
    assert isinstance(servers, dict) and isinstance(env, dict) and isinstance(work, Path)
    classes = list(SCENARIOS)
    result = run_locust(classes, servers["portalis"].url, users=2 * len(classes), seconds=5,
                        csv_prefix=work / "portalis", env=env, core=None)
    assert result.failures == 0, result.errors
    _check(result.by_name, classes)
    assert servers["portalis"].rss() > 0


def test_list_scenarios_against_the_baseline(bench: dict[str, object]) -> None:
    servers, env, work = bench["servers"], bench["env"], bench["work"]
    assert isinstance(servers, dict) and isinstance(env, dict) and isinstance(work, Path)
    result = run_locust(BASELINE, servers["baseline"].url, users=2 * len(BASELINE), seconds=3,
                        csv_prefix=work / "baseline", env=env, core=None)
    assert result.failures == 0, result.errors
    _check(result.by_name, BASELINE)


@pytest.mark.skipif(importlib.util.find_spec("portalis.plugins.identity.plugin") is None,
                    reason="the identity plugin is not installed")
def test_real_sign_in(tmp_path: Path) -> None:
    """The same users signing in through ``POST /_auth/login`` (identity plugin)."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    asyncio.run(seed(url, 1000, plugins=["selfservice", "identity"]))
    users = tmp_path / "users.json"
    users.write_text(json.dumps(asyncio.run(bench_users(url))))
    env = {"PORTALIS_DATABASE_URL": url, "PORTALIS_PLUGINS": "selfservice,identity",
           "PORTALIS_SECRET_KEY": "smoke-test-secret", "PORTALIS_BENCH_LOGIN": "real",
           "PORTALIS_BENCH_USERS": str(users)}
    server = Server("portalis.loadtests.asgi:create", env, core=None, log=tmp_path / "p.log")
    try:
        server.wait_ready()
        classes = ["ListHtmlUser", "MixedUser"]
        result = run_locust(classes, server.url, users=4, seconds=6,
                            csv_prefix=tmp_path / "real", env=env, core=None)
    finally:
        server.stop()
    assert result.failures == 0, result.errors
    assert result.by_name.get("/_auth/login", (0, 0))[0] > 0
    _check(result.by_name, classes)
