"""``portalis forums send-notifications``: send the queued notification emails."""

from __future__ import annotations

import click

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
    from portalis.core.commands import run_with_services
    from portalis.plugins.forums.notify import send_notifications

    sent = run_with_services(ctx, lambda services: send_notifications(services, limit=limit))
    click.echo(f"{sent} notification email(s) sent")
