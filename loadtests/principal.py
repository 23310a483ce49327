"""A load-test-only sign-in: the ``X-Bench-Contact`` header names the contact by email.

Like ``tests/support/testlogin.py``: registered directly by
:mod:`portalis.loadtests.asgi` (``extra_plugins``), never installed as an entry point,
so no production deployment can enable it. It costs what a session lookup costs: one
indexed query to find the contact, then the kernel's ``principal_for_contact``.
"""

from __future__ import annotations

from typing import Any

from portalis.core import hookimpl
from portalis.core.records import normalise_email

__all__ = ["HEADER", "BenchLogin"]

HEADER = "x-bench-contact"


class BenchLogin:
    """pluggy plugin object; see the module docstring."""

    @hookimpl
    async def portalis_resolve_principal(self, request: Any, site: Any, services: Any) -> Any:
        email = request.headers.get(HEADER)
        if not email:
            return None
        row = await services.db.fetchrow(
            'SELECT "id" FROM "contact" WHERE "website" = ? AND "email" = ? '
            "AND \"state\" = 'active'", site.id, normalise_email(email))
        if row is None:
            return None
        return await services.principal_for_contact(site, row["id"])
