"""``portalis forums send-notifications``: send the queued notification emails."""

from __future__ import annotations

import asyncio

import click

from portalis.core.config import Config

__all__ = ["forums"]


@click.group()
def forums() -> None:
    """Forums: notification emails."""


@forums.command("send-notifications")
@click.option("--limit", default=500, show_default=True,
              help="Most notifications taken per website and run.")
@click.pass_context
def send_notifications_command(ctx: click.Context, limit: int) -> None:
    """Send one email per subscriber with the new posts it may read."""
    from portalis.core.services import Services
    from portalis.plugins.forums.notify import send_notifications

    async def go() -> int:
        root = ctx.find_root().obj or {}
        services = Services.build(root.get("config") or Config.load())
        await services.start()
        try:
            return await send_notifications(services, limit=limit)
        finally:
            await services.stop()

    sent = asyncio.run(go())
    click.echo(f"{sent} notification email(s) sent")
