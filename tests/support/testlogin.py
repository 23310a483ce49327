"""A test-only sign-in: the ``X-Test-Contact`` header names the contact (by email).

Registered directly by the test fixtures, never installed as an entry point, so no
production deployment can enable it.
"""

from __future__ import annotations

from typing import Any

from portalis.core import hookimpl
from portalis.core.records import normalise_email

__all__ = ["TestLogin"]


class TestLogin:
    """pluggy plugin object; see the module docstring."""

    __test__ = False

    @hookimpl
    async def portalis_resolve_principal(self, request: Any, site: Any, services: Any) -> Any:
        email = request.headers.get("x-test-contact")
        if not email:
            return None
        row = await services.db.fetchrow(
            'SELECT "id" FROM "contact" WHERE "website" = ? AND "email" = ? '
            "AND \"state\" = 'active'", site.id, normalise_email(email))
        if row is None:
            return None
        return await services.principal_for_contact(site, row["id"])
