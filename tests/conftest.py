"""Shared fixtures: a fresh migrated database per test, and a running portal on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from portalis.core.config import DEFAULT_PLUGINS
from portalis.core.plugins import combined, make_manager
from tests.support.database import TemplateDatabases, engine_name
from tests.support.portal import Portal, running_portal

ALL_PLUGINS = list(DEFAULT_PLUGINS)


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
