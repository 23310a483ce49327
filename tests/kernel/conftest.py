from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.portal import Portal

CASES_SITE = (Path(__file__).parent.parent / "sites" / "cases.yaml").read_text()


@pytest.fixture
async def cases(portal: Portal) -> Portal:
    """A portal with the customer self-service site applied."""
    await portal.apply(CASES_SITE)
    return portal
