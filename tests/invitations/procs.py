"""Worker processes for the multi-process redemption test (imported by ``spawn``)."""

from __future__ import annotations

import asyncio

from portalis.core import PortalisError
from portalis.core.config import Config
from portalis.core.services import Services
from portalis.plugins.invitations.redemption import redeem

__all__ = ["redeem_in_process"]


async def _redeem_all(database_url: str, site_key: str, code: str,
                      emails: list[str]) -> list[str]:
    services = Services.build(Config(database_url=database_url,
                                     plugins=["selfservice", "invitations"],
                                     secret_key="test-secret-key-not-for-production"))
    await services.start()
    try:
        website_id = await services.sites.website_for_key(site_key)
        assert website_id is not None
        site = await services.sites.get(website_id)

        async def one(email: str) -> str:
            contact_id = await services.db.fetchval(
                'SELECT "id" FROM "contact" WHERE "website" = ? AND "email" = ?',
                site.id, email)
            principal = await services.principal_for_contact(site, contact_id)
            assert principal is not None
            try:
                await redeem(services, site, principal, code, "10.0.0.9")
            except PortalisError as exc:
                return exc.code
            return "redeemed"

        return list(await asyncio.gather(*(one(e) for e in emails)))
    finally:
        await services.stop()


def redeem_in_process(args: tuple[str, str, str, list[str]]) -> list[str]:
    return asyncio.run(_redeem_all(*args))
