"""Helpers for ``portalis`` commands contributed by plugins (``portalis_cli_commands``).

A plugin command that needs the database runs its coroutine with
:func:`run_with_services`: the deployment's configuration (as the ``portalis`` group
loaded it), services started and stopped around the call, and kernel errors shown as
one line instead of a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from portalis.core.config import Config
from portalis.core.errors import PortalisError

__all__ = ["run_with_services", "site_by_key"]

T = TypeVar("T")


async def with_services(config: Config, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Build and start the services for ``config``, await ``fn(services)``, stop them."""
    from portalis.core.services import Services

    services = Services.build(config)
    await services.start()
    try:
        return await fn(services)
    finally:
        await services.stop()


def run_with_services(ctx: click.Context, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(services)`` for a click command; a PortalisError becomes a ClickException."""
    obj = ctx.find_object(dict) or {}
    config = obj.get("config") or Config.load()
    try:
        return asyncio.run(with_services(config, fn))
    except PortalisError as exc:
        raise click.ClickException(f"{exc.message} ({exc.code})") from None


async def site_by_key(services: Any, key: str) -> Any:
    """The :class:`portalis.core.sites.Site` with ``key``, or a ClickException."""
    website_id = await services.sites.website_for_key(key)
    if website_id is None:
        raise click.ClickException(f"no website with key {key!r}")
    return await services.sites.get(website_id)
