"""Shared fixtures: a fresh migrated database per test, and a running portal on it."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from portalis.core.plugins import available_plugins, combined, make_manager
from tests.support.database import TemplateDatabases, engine_name
from tests.support.portal import Portal, running_portal

FIRST = ("selfservice", "identity")


def installed_plugins() -> list[str]:
    """Every plugin whose module exists, kernel-friendly order (the template database
    carries all their tables, so any test can enable any set of plugins)."""
    names = []
    for name, target in available_plugins().items():
        try:
            found = importlib.util.find_spec(target) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            names.append(name)
    return sorted(names, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))


ALL_PLUGINS = installed_plugins()


def pytest_report_header() -> str:
    return f"portalis test database: {engine_name()}"


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabases]:
    apps = combined(make_manager(ALL_PLUGINS), "portalis_piccolo_apps")
    dbs = TemplateDatabases(Path(tmp_path_factory.mktemp("db")), apps)
    yield dbs
    dbs.drop_all()


@pytest.fixture
async def database_url(databases: TemplateDatabases) -> str:
    return await databases.fresh()


@pytest.fixture
async def portal(database_url: str) -> AsyncIterator[Portal]:
    async with running_portal(database_url) as p:
        yield p


CASES_SITE = (Path(__file__).parent / "sites" / "cases.yaml").read_text()


@pytest.fixture
async def cases(portal: Portal) -> Portal:
    """A portal with the customer self-service site (tests/sites/cases.yaml) applied."""
    await portal.apply(CASES_SITE)
    return portal
