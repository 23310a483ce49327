"""``portalis invitations``: create, list and revoke invitations (staff)."""

from __future__ import annotations

from typing import Any, TypeVar

import click

from portalis.core import Principal
from portalis.core.commands import run_with_services as _run
from portalis.core.commands import site_by_key as _site
from portalis.core.conditions import Cmp
from portalis.plugins.invitations.redemption import create_invitation, link
from portalis.plugins.invitations.store import Store

__all__ = ["invitations"]

T = TypeVar("T")




async def _by_key(services: Any, site: Any, table: str, key: str) -> int:
    page = await services.records.list(Principal.for_system(site.id), table,
                                       where=Cmp("key", "eq", key), columns=["id"], limit=1)
    if not page.rows:
        raise click.ClickException(f"no {table} with key {key!r}")
    return int(page.rows[0]["id"])


SITE = click.option("--site", "site_key", required=True, help="Website key.")


@click.group()
def invitations() -> None:
    """Invitation codes: create (and mail), list, revoke."""


@invitations.command("create")
@SITE
@click.option("--email", default="", help="Invite this email address.")
@click.option("--contact", "contact_key", default=None, help="Invite this contact (its key).")
@click.option("--type", "kind", type=click.Choice(["single", "group"]), default="single")
@click.option("--max", "max_redemptions", type=int, default=None,
              help="Maximum redemptions (group; 0 = unlimited).")
@click.option("--expires-days", type=float, default=None,
              help="Days until it expires (default: Invitations/DefaultExpiryDays; 0 = never).")
@click.option("--account", "account_key", default=None, help="Account (key) given on redemption.")
@click.option("--role", "roles", multiple=True, help="Web role (key) given on redemption.")
@click.option("--send/--no-send", default=False, help="Mail the invitation to its email.")
@click.option("--note", default="")
@click.pass_context
def create_cmd(ctx: click.Context, site_key: str, email: str, contact_key: str | None,
               kind: str, max_redemptions: int | None, expires_days: float | None,
               account_key: str | None, roles: tuple[str, ...], send: bool, note: str) -> None:
    """Create an invitation; prints the code (shown once, stored only hashed) and link."""

    async def go(services: Any) -> tuple[dict[str, Any], str, str]:
        site = await _site(services, site_key)
        contact_id = await _by_key(services, site, "contact", contact_key) if contact_key else None
        account_id = await _by_key(services, site, "account", account_key) if account_key else None
        inv, code = await create_invitation(
            services, site, email=email, contact_id=contact_id, kind=kind,
            max_redemptions=max_redemptions, expires_days=expires_days, account_id=account_id,
            roles=list(roles), send=send, note=note)
        return inv, code, link(site, "/_invitations/redeem", code=code)

    inv, code, url = _run(ctx, go)
    click.echo(f"invitation {inv['id']} ({inv['kind']}, max {inv['max_redemptions'] or 'unlimited'}"
               f"{', to ' + inv['email'] if inv['email'] else ''})")
    click.echo(f"code: {code}")
    click.echo(f"link: {url}")


@invitations.command("list")
@SITE
@click.pass_context
def list_cmd(ctx: click.Context, site_key: str) -> None:
    """List the website's invitations (newest first)."""

    async def go(services: Any) -> list[dict[str, Any]]:
        site = await _site(services, site_key)
        return await Store(services).list(site.id, limit=1000)

    for inv in _run(ctx, go):
        expires = f"{inv['expires']:%Y-%m-%d}" if inv["expires"] else "never"
        click.echo(f"{inv['id']:>6}  {inv['state']:<8} {inv['kind']:<6} "
                   f"{inv['redemptions']}/{inv['max_redemptions'] or 'unlimited'}  "
                   f"{inv['email'] or '-'}  roles={','.join(inv['roles']) or '-'}  "
                   f"expires={expires}")


@invitations.command("revoke")
@SITE
@click.argument("invitation_id", type=int)
@click.pass_context
def revoke_cmd(ctx: click.Context, site_key: str, invitation_id: int) -> None:
    """Revoke an invitation: its code stops working at once."""

    async def go(services: Any) -> bool:
        site = await _site(services, site_key)
        return await Store(services).revoke(site.id, invitation_id)

    if not _run(ctx, go):
        raise click.ClickException(f"no invitation {invitation_id}")
    click.echo(f"revoked invitation {invitation_id}")
