"""``portalis admin``: staff users of the maker UI."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from portalis.core.config import Config

__all__ = ["admin", "create_staff_user"]


async def create_staff_user(database_url: str, username: str, email: str, password: str,
                            *, superuser: bool = False) -> int:
    """Create an active admin user in Piccolo's user table; returns its id."""
    from piccolo.apps.user.tables import BaseUser

    from portalis.plugins.admin.engine import bind

    bind(database_url, [BaseUser])
    if await BaseUser.exists().where(BaseUser.username == username).run():
        raise click.ClickException(f"a staff user {username!r} already exists")
    try:
        user = await BaseUser.create_user(username=username, password=password, email=email,
                                          active=True, admin=True, superuser=superuser)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    return int(user.id)


@click.group()
def admin() -> None:
    """Maker UI (/admin): staff users."""


@admin.command("create-user")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--superuser", is_flag=True, help="May also manage staff users and sessions.")
@click.pass_context
def create_user(ctx: click.Context, username: str, email: str, password: str,
                superuser: bool) -> None:
    """Create a staff user who can sign in at /admin (portal contacts cannot)."""
    obj = ctx.find_object(dict) or {}
    config: Any = obj.get("config") or Config.load()
    user_id = asyncio.run(create_staff_user(config.database_url, username, email, password,
                                            superuser=superuser))
    click.echo(f"created staff user {username!r} (id {user_id})")


@admin.command("touch")
@click.pass_context
def touch(ctx: click.Context) -> None:
    """Mark every website's configuration changed (after raw SQL edits)."""
    from portalis.core.commands import run_with_services
    from portalis.plugins.admin.mount import bump_all

    run_with_services(ctx, bump_all)
    click.echo("configuration versions bumped")
