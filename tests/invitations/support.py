"""A portal with the invitations plugin, a real aiosmtpd server on 127.0.0.1, and a site."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.portal import Portal, running_portal
from tests.support.smtp import Mailbox as SmtpMailbox
from tests.support.smtp import smtp_server as run_smtp

__all__ = ["SITE", "Mailbox", "invitations_portal", "site_with", "smtp_server"]

JSON = {"accept": "application/json"}

SITE = """
website:
  key: inv
  title: Contoso Portal
  hosts: [testserver.local]

settings:
  Webapi/contact/enabled: true
  Webapi/contact/fields: email,firstname,lastname,phone,account,state
  Invitations/ManagerRoles: customer-admin
  Invitations/DelegableRoles: customer,partner
#SETTINGS#

roles:
  - key: customer
    name: Customers
  - key: customer-admin
    name: Customer administrators
  - key: partner
    name: Partners
  - key: auditor
    name: Auditors

accounts:
  - key: contoso
    name: Contoso Ltd
  - key: fabrikam
    name: Fabrikam Inc

contacts:
  - key: alice
    email: alice@contoso.example
    firstname: Alice
    lastname: Archer
    phone: "+44 20 7946 0001"
    account: contoso
    roles: [customer]
  - key: bob
    email: bob@contoso.example
    firstname: Bob
    lastname: Baker
    account: contoso
    roles: [customer, customer-admin]
  - key: erin
    email: erin@contoso.example
    firstname: Erin
    lastname: Evans
    account: contoso
    roles: [auditor]
  - key: carol
    email: carol@fabrikam.example
    firstname: Carol
    lastname: Chen
    account: fabrikam
    roles: [customer]
  - key: dave
    email: dave@fabrikam.example
    firstname: Dave
    lastname: Dunn
    account: fabrikam
    roles: [customer, customer-admin]

permissions:
  - key: own-contact
    table: contact
    scope: self
    privileges: [read, write]
    roles: [authenticated]
#PERMISSIONS#
"""

MANAGER_PERMISSION = """
  - key: manage-account-contacts
    table: contact
    scope: account
    relationship: account
    privileges: [read, write, create]
    roles: [customer-admin]
"""


def site_with(settings: dict[str, str] | None = None, *, manager_permission: bool = True) -> str:
    lines = "\n".join(f"  {k}: {v!r}" for k, v in (settings or {}).items())
    return (SITE.replace("#SETTINGS#", lines)
            .replace("#PERMISSIONS#", MANAGER_PERMISSION if manager_permission else ""))


class Mailbox(SmtpMailbox):
    """Every message the portal sent; ``param`` reads a query parameter of a link."""

    def param(self, address: str, name: str) -> str:
        return parse_qs(urlparse(self.link(address)).query)[name][0]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    with run_smtp(Mailbox()) as running:
        yield running


class InvPortal:
    def __init__(self, portal: Portal, mail: Mailbox) -> None:
        self.portal = portal
        self.mail = mail
        self.services = portal.services
        self.db = portal.services.db

    async def site(self) -> Any:
        website_id = await self.services.sites.website_for_key("inv")
        assert website_id is not None
        return await self.services.sites.get(website_id)

    async def apply(self, text: str) -> int:
        return await self.portal.apply(text)

    async def post(self, url: str, body: dict[str, Any] | None = None, *,
                   who: str | None = None) -> Any:
        return await self.portal.send("POST", url, who=who, json=body or {}, headers=JSON)

    async def patch(self, url: str, body: dict[str, Any], *, who: str | None = None) -> Any:
        return await self.portal.send("PATCH", url, who=who, json=body, headers=JSON)

    async def get(self, url: str, *, who: str | None = None) -> Any:
        return await self.portal.get(url, who=who, headers=JSON)

    async def contact_id(self, email_: str) -> int:
        return int(await self.db.fetchval(
            'SELECT "id" FROM "contact" WHERE "email" = ? ORDER BY "id" LIMIT 1', email_))

    async def count(self, email_: str) -> int:
        return int(await self.db.fetchval(
            'SELECT COUNT(*) FROM "contact" WHERE "email" = ?', email_))

    async def role_keys(self, contact_id: int) -> list[str]:
        rows = await self.db.fetch(
            'SELECT r."key" FROM "portalis_contact_role" cr JOIN "portalis_web_role" r '
            'ON r."id" = cr."role" WHERE cr."contact" = ? ORDER BY r."key"', contact_id)
        return [r["key"] for r in rows]


@asynccontextmanager
async def invitations_portal(database_url: str, *, plugins: tuple[str, ...] = ("invitations",),
                             settings: dict[str, str] | None = None,
                             manager_permission: bool = True) -> AsyncIterator[InvPortal]:
    with smtp_server() as (mailbox, port):
        async with running_portal(database_url, plugins=["selfservice", *plugins],
                                  smtp_url=f"smtp://127.0.0.1:{port}") as portal:
            ip = InvPortal(portal, mailbox)
            await ip.apply(site_with(settings, manager_permission=manager_permission))
            yield ip
