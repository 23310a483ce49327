"""``portalis lockout``: see and lift locks (administrators)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import click

from portalis.core import Principal
from portalis.core.commands import run_with_services as _run
from portalis.core.conditions import Cmp
from portalis.core.records import normalise_email
from portalis.plugins.lockout.policy import state, unlock
from portalis.plugins.lockout.store import LockoutStore

__all__ = ["lockout"]

T = TypeVar("T")




async def _website(services: Any, key: str) -> int:
    website_id = await services.sites.website_for_key(key)
    if website_id is None:
        raise click.ClickException(f"no website with key {key!r}")
    return int(website_id)


async def _contact(services: Any, website_id: int, email: str) -> int:
    page = await services.records.list(
        Principal.for_system(website_id), "contact",
        where=Cmp("email", "eq", normalise_email(email)), columns=["id"], limit=1)
    if not page.rows:
        raise click.ClickException(f"no contact with email {email!r} on this website")
    return int(page.rows[0]["id"])


@click.group()
def lockout() -> None:
    """Account lockout: show locked contacts, unlock them."""


@lockout.command("unlock")
@click.option("--site", "site_key", required=True, help="Website key.")
@click.argument("email")
@click.pass_context
def unlock_cmd(ctx: click.Context, site_key: str, email: str) -> None:
    """Lift the lock of the contact EMAIL and clear its failed attempts."""

    async def go(services: Any) -> bool:
        website_id = await _website(services, site_key)
        return await unlock(services, await _contact(services, website_id, email))

    if _run(ctx, go):
        click.echo(f"unlocked {email}")
    else:
        click.echo(f"{email} had no failed attempts or lock")


@lockout.command("status")
@click.option("--site", "site_key", required=True, help="Website key.")
@click.argument("email")
@click.pass_context
def status_cmd(ctx: click.Context, site_key: str, email: str) -> None:
    """Show failed attempts and lock of the contact EMAIL."""

    async def go(services: Any) -> str:
        website_id = await _website(services, site_key)
        contact_id = await _contact(services, website_id, email)
        row = await LockoutStore(services.db).contact_status(contact_id)
        now = state(services).now()
        if row is None:
            return f"{email}: no failed attempts"
        until = row["locked_until"]
        locked = f"locked until {until.isoformat()}" if until and until > now else "not locked"
        return f"{email}: {row['attempts']} attempt(s) counted, {locked}"

    click.echo(_run(ctx, go))


@lockout.command("list")
@click.option("--site", "site_key", required=True, help="Website key.")
@click.pass_context
def list_cmd(ctx: click.Context, site_key: str) -> None:
    """List the contacts that are locked now."""

    async def go(services: Any) -> list[dict[str, Any]]:
        website_id = await _website(services, site_key)
        return await LockoutStore(services.db).locked_contacts(website_id,
                                                               state(services).now())

    rows = _run(ctx, go)
    for row in rows:
        click.echo(f"contact {row['contact']}: locked until {row['locked_until'].isoformat()}")
    if not rows:
        click.echo("no contact is locked")


@lockout.command("unlock-address")
@click.option("--site", "site_key", required=True, help="Website key.")
@click.argument("address")
@click.pass_context
def unlock_address_cmd(ctx: click.Context, site_key: str, address: str) -> None:
    """Clear the sign-in throttle of the client ADDRESS."""

    async def go(services: Any) -> bool:
        return await LockoutStore(services.db).unlock_address(
            await _website(services, site_key), address)

    done = _run(ctx, go)
    click.echo(f"cleared {address}" if done else f"{address} was not throttled")


@lockout.command("purge")
@click.option("--idle-days", default=30, show_default=True,
              help="Delete counters untouched for this many days (locks are kept).")
@click.pass_context
def purge_cmd(ctx: click.Context, idle_days: int) -> None:
    """Delete old counters (client addresses, contacts) that hold no active lock."""

    async def go(services: Any) -> int:
        return await LockoutStore(services.db).purge(state(services).now(),
                                                     idle=dt.timedelta(days=idle_days))

    click.echo(f"deleted {_run(ctx, go)} counter(s)")
