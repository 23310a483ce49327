"""``portalis domains``: bind, verify, certify and publish custom domains."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypeVar

import click

from portalis.core.commands import run_with_services as _run
from portalis.core.commands import site_by_key as _site
from portalis.plugins.domains.proxyconf import render_caddyfile, render_nginx
from portalis.plugins.domains.service import (
    add_binding,
    parse_nameservers,
    proxy_items,
    upload_certificate,
    verify_binding,
    write_proxy_files,
)
from portalis.plugins.domains.store import DomainStore

__all__ = ["domains"]

T = TypeVar("T")




SITE = click.option("--site", "site_key", required=True, help="Website key.")


@click.group()
def domains() -> None:
    """Custom domains: bind, verify (DNS), upload certificates, export proxy configs."""


@domains.command("add")
@SITE
@click.argument("domain")
@click.pass_context
def add_cmd(ctx: click.Context, site_key: str, domain: str) -> None:
    """Bind DOMAIN to the website; prints the DNS record to create (either one)."""

    async def go(services: Any) -> dict[str, Any]:
        return await add_binding(services, await _site(services, site_key), domain)

    added = _run(ctx, go)
    click.echo(f"bound {added['binding']['domain']} (not live until verified); create one of:")
    for record in added["records"]:
        click.echo(f"  {record['type']:<5} {record['name']}  ->  {record['value']}")


@domains.command("list")
@click.option("--site", "site_key", default=None, help="Website key (default: all).")
@click.pass_context
def list_cmd(ctx: click.Context, site_key: str | None) -> None:
    """List bindings: verified, primary, certificate expiry."""

    async def go(services: Any) -> list[dict[str, Any]]:
        website = (await _site(services, site_key)).id if site_key else None
        return await DomainStore(services).bindings(website)

    rows = _run(ctx, go)
    for row in rows:
        state = f"verified ({row['method']})" if row["verified"] else "NOT verified"
        cert = (f"certificate until {row['cert_not_after']:%Y-%m-%d}"
                if row["cert_not_after"] else "no certificate")
        flag = " primary" if row["is_primary"] else ""
        click.echo(f"{row['domain']}  website {row['website']}  {state}{flag}  {cert}")
    if not rows:
        click.echo("no domains are bound")


@domains.command("verify")
@SITE
@click.argument("domain")
@click.option("--nameserver", "nameservers", multiple=True,
              help="DNS server to ask, ip or ip:port (repeatable; default: the "
                   "Domains/Nameservers setting, else the system resolver).")
@click.pass_context
def verify_cmd(ctx: click.Context, site_key: str, domain: str,
               nameservers: tuple[str, ...]) -> None:
    """Check DNS for DOMAIN's CNAME or TXT token; on success the binding goes live."""

    async def go(services: Any) -> Any:
        servers = parse_nameservers(",".join(nameservers)) if nameservers else None
        return await verify_binding(services, await _site(services, site_key), domain,
                                    nameservers=servers)

    done = _run(ctx, go)
    click.echo(done.result.message)
    if not done.result.verified:
        click.echo(f"not verified ({done.result.reason})", err=True)
        sys.exit(1)
    click.echo(f"{done.binding['domain']} is verified and live")


@domains.command("primary")
@SITE
@click.argument("domain")
@click.pass_context
def primary_cmd(ctx: click.Context, site_key: str, domain: str) -> None:
    """Make DOMAIN the website's primary host: the others redirect (301) to it."""

    async def go(services: Any) -> dict[str, Any]:
        site = await _site(services, site_key)
        return await DomainStore(services).set_primary(site.id, domain)

    click.echo(f"{_run(ctx, go)['domain']} is now the primary domain")


@domains.command("remove")
@SITE
@click.argument("domain")
@click.pass_context
def remove_cmd(ctx: click.Context, site_key: str, domain: str) -> None:
    """Unbind DOMAIN (it stops answering at once)."""

    async def go(services: Any) -> None:
        site = await _site(services, site_key)
        await DomainStore(services).remove(site.id, domain)

    _run(ctx, go)
    click.echo(f"removed {domain}")


@domains.command("cert")
@SITE
@click.argument("domain")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Private key (PEM), if not in FILE.")
@click.option("--password", default=None, help="PFX password, or the PEM key's.")
@click.pass_context
def cert_cmd(ctx: click.Context, site_key: str, domain: str, file: Path,
             key_file: Path | None, password: str | None) -> None:
    """Upload a certificate for DOMAIN: FILE is a PEM bundle or a PFX/PKCS#12 file."""
    data = file.read_bytes()
    key = key_file.read_bytes() if key_file else None

    async def go(services: Any) -> dict[str, Any]:
        site = await _site(services, site_key)
        return await upload_certificate(services, site.id, domain, data, key=key,
                                        password=password)

    row = _run(ctx, go)
    click.echo(f"certificate for {row['domain']} accepted: {row['cert_names']}, valid until "
               f"{row['cert_not_after']:%Y-%m-%d}, sha256 {row['cert_fingerprint']}")


@domains.command("proxy-config")
@click.option("--format", "fmt", type=click.Choice(["nginx", "caddy"]), required=True)
@click.option("--upstream", default="http://127.0.0.1:8000", show_default=True,
              help="Where the proxy sends requests (the portal's address).")
@click.option("--cert-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the certificates and keys to (keys owner-only).")
@click.option("--site", "site_key", default=None, help="Website key (default: all).")
@click.option("-o", "--output", type=click.File("w"), default="-")
@click.pass_context
def proxy_config_cmd(ctx: click.Context, fmt: str, upstream: str, cert_dir: Path,
                     site_key: str | None, output: Any) -> None:
    """Write a reverse-proxy config (nginx or Caddy) for the verified, certified domains."""

    async def go(services: Any) -> Any:
        website = (await _site(services, site_key)).id if site_key else None
        return await proxy_items(services, website)

    items, warnings = _run(ctx, go)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    try:
        bindings = write_proxy_files(items, cert_dir, upstream)
        text = render_nginx(bindings) if fmt == "nginx" else render_caddyfile(bindings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    output.write(text)
