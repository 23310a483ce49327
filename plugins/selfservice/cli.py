"""``portalis selfservice``: maintenance commands of the self-service plugin."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from portalis.core.config import Config

__all__ = ["selfservice"]


@click.group()
def selfservice() -> None:
    """Customer self-service: knowledge-base search index."""


@selfservice.command("reindex")
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the knowledge-base full-text index from the article table."""
    from portalis.core.services import Services
    from portalis.plugins.selfservice.search import rebuild

    obj = ctx.find_object(dict) or {}
    config = obj.get("config") or Config.load()

    async def go() -> int:
        services = Services.build(config)
        await services.start()
        try:
            return await rebuild(services)
        finally:
            await services.stop()

    count: Any = asyncio.run(go())
    click.echo(f"indexed {count} articles")
