"""Fixtures of the pages tests: the self-service demo with its pages, forms and files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.portal import Portal, running_portal

HERE = Path(__file__).parent
CASES = (HERE.parent / "sites" / "cases.yaml").read_text()
PAGES = (HERE / "site_pages.yaml").read_text()


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Portal]:
    async with running_portal(database_url, plugins=["selfservice", "pages"]) as portal:
        await portal.apply(CASES)
        await portal.apply(PAGES)
        yield portal
