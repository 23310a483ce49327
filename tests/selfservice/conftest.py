"""The self-service routes answer JSON; errors come as JSON when the client asks for it."""

from __future__ import annotations

import pytest

from tests.support.portal import Portal


@pytest.fixture
async def cases(cases: Portal) -> Portal:
    cases.client.headers["accept"] = "application/json"
    return cases


@pytest.fixture
async def portal(portal: Portal) -> Portal:
    portal.client.headers["accept"] = "application/json"
    return portal
