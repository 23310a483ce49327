"""The ``portalis`` command line: demo, serve, migrate, site apply|export, perms explain."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from portalis.core.commands import with_services
from portalis.core.config import Config
from portalis.core.errors import PortalisError

__all__ = ["main"]

T = TypeVar("T")
DEMO_DB = "portalis-demo.sqlite"


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except PortalisError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)


def _config(ctx: click.Context) -> Config:
    return ctx.obj["config"]  # type: ignore[no-any-return]




def plugin_apps(config: Config) -> list[str]:
    from portalis.core.plugins import combined, make_manager

    return combined(make_manager(config.plugins), "portalis_piccolo_apps")


async def do_migrate(config: Config) -> None:
    from portalis.core.migrate import migrate

    await migrate(config.database_url, plugin_apps(config), echo=click.echo)


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="portalis.toml to read (default: ./portalis.toml if present).")
@click.option("--database", "database_url", default=None,
              help="Database URL (sqlite:///file or postgresql://...).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, database_url: str | None) -> None:
    """Portalis: self-hosted customer and partner portals."""
    config = Config.load(config_path)
    if database_url:
        config.database_url = database_url
    os.environ["PORTALIS_DATABASE_URL"] = config.database_url
    ctx.obj = {"config": config}


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply pending migrations of the kernel and every enabled plugin."""
    _run(lambda: do_migrate(_config(ctx)))


@main.group()
def site() -> None:
    """Site as code: apply or export a whole site (YAML)."""


@site.command("apply")
@click.argument("file", type=click.File("r"))
@click.pass_context
def site_apply(ctx: click.Context, file: Any) -> None:
    """Create or update the site described by FILE, in one transaction."""
    from portalis.core.sitefile import apply_site, load_site_file

    data = load_site_file(file.read())

    async def go(services: Any) -> int:
        return await apply_site(services, data)

    website_id = _run(lambda: with_services(_config(ctx), go))
    click.echo(f"applied website {data['website']['key']!r} (id {website_id})")


@site.command("export")
@click.argument("website")
@click.option("-o", "--output", type=click.File("w"), default="-")
@click.pass_context
def site_export(ctx: click.Context, website: str, output: Any) -> None:
    """Write WEBSITE (its key) as a site file."""
    from portalis.core.sitefile import export_site

    data = _run(lambda: with_services(_config(ctx), lambda s: export_site(s, website)))
    yaml.safe_dump(data, output, sort_keys=False, allow_unicode=True)


@main.group()
def perms() -> None:
    """Inspect table permissions."""


@perms.command("explain")
@click.option("--site", "site_key", default=None, help="Website key (default: the only one).")
@click.option("--contact", "email", default=None, help="Contact email (omit: anonymous).")
@click.option("--table", required=True)
@click.pass_context
def perms_explain(ctx: click.Context, site_key: str | None, email: str | None,
                  table: str) -> None:
    """Which permissions grant what on TABLE to a contact, and the SQL of each privilege."""
    from portalis.core.explain import explain

    text = _run(lambda: with_services(_config(ctx),
                                       lambda s: explain(s, site_key, email, table)))
    click.echo(text)


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Security linter: exit 1 with findings (each names the permission or setting and
    the fix), 0 when every website is clean."""
    from portalis.core.check import check_all

    findings = _run(lambda: with_services(_config(ctx), check_all))
    for finding in findings:
        click.echo(str(finding))
    if findings:
        click.echo(f"{len(findings)} finding(s)", err=True)
        sys.exit(1)
    click.echo("no findings")


@main.command()
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def outbox(ctx: click.Context, limit: int) -> None:
    """Show the latest mail in the outbox (all mail, delivered or not)."""

    async def go(services: Any) -> list[dict[str, Any]]:
        return await services.db.fetch(
            'SELECT "created", "recipient", "subject", "body" FROM "portalis_outbox" '
            'ORDER BY "id" DESC LIMIT ?', limit)

    for row in _run(lambda: with_services(_config(ctx), go)):
        click.echo(f"--- {row['created']}  to {row['recipient']}: {row['subject']}\n{row['body']}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
@click.option("--ssl", "ssl_cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Serve HTTPS with this PEM certificate chain (one certificate; for many "
                   "domains use a reverse proxy: portalis domains proxy-config).")
@click.option("--ssl-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The certificate's private key (PEM), if not in the --ssl file.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, ssl_cert: str | None,
          ssl_key: str | None) -> None:
    """Serve the portal with uvicorn (migrate first)."""
    _serve(_config(ctx), host, port, workers, ssl_cert, ssl_key)


def _serve(config: Config, host: str, port: int, workers: int, ssl_cert: str | None = None,
           ssl_key: str | None = None) -> None:
    import uvicorn

    os.environ["PORTALIS_DATABASE_URL"] = config.database_url
    os.environ.setdefault("PORTALIS_SECRET_KEY", config.secret_key)
    os.environ["PORTALIS_PLUGINS"] = ",".join(config.plugins)
    scheme = "https" if ssl_cert else "http"
    click.echo(f"Portalis on {scheme}://{host}:{port}/ ({config.database_url})")
    uvicorn.run("portalis.core.asgi:create", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False,
                # forwarded headers are believed per website (ipfilter's trusted proxies),
                # never by the server for every request from 127.0.0.1
                proxy_headers=False, forwarded_allow_ips="",
                ssl_certfile=ssl_cert, ssl_keyfile=ssl_key or (ssl_cert if ssl_cert else None))


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--reset", is_flag=True, help="Delete the demo database first.")
@click.pass_context
def demo(ctx: click.Context, port: int, reset: bool) -> None:
    """Create and seed the demo portal (SQLite) if absent, then serve it."""
    config = _config(ctx)
    if ctx.parent and not any(a.startswith("--database") for a in sys.argv):
        config.database_url = f"sqlite:///{Path(DEMO_DB).resolve()}"
    if reset and config.database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(config.database_url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
    from portalis.core.demo import DEMO_SITE

    async def seed() -> None:
        await do_migrate(config)
        from portalis.core.sitefile import apply_site, load_site_file

        async def go(services: Any) -> None:
            if await services.db.fetchval(
                    'SELECT "id" FROM "portalis_website" WHERE "key" = ?', "demo") is None:
                await apply_site(services, load_site_file(DEMO_SITE.read_text()))
                click.echo("seeded the demo site")

        await with_services(config, go)

    _run(seed)
    click.echo(DEMO_SITE.with_name("demo-users.txt").read_text())
    _serve(config, "127.0.0.1", port, 1)


def _load_plugin_commands() -> None:
    try:
        from portalis.core.plugins import combined, make_manager

        for command in combined(make_manager(Config.load().plugins), "portalis_cli_commands"):
            main.add_command(command)
    except Exception as exc:  # a broken config must not hide the built-in commands
        click.echo(f"warning: plugin commands not loaded: {exc}", err=True)


_load_plugin_commands()


if __name__ == "__main__":
    main()
