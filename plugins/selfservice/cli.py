"""``portalis selfservice``: maintenance commands of the self-service plugin."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["selfservice"]


@click.group()
def selfservice() -> None:
    """Customer self-service: knowledge-base search index."""


@selfservice.command("reindex")
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the knowledge-base full-text index from the article table."""
    from portalis.core.commands import run_with_services
    from portalis.plugins.selfservice.search import rebuild

    count: Any = run_with_services(ctx, rebuild)
    click.echo(f"indexed {count} articles")
