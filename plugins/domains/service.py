"""What the routes and the CLI do with bindings: verify, upload certificates, proxy configs.

Settings (site settings):

* ``Domains/CnameTarget`` - the host name a custom domain's CNAME must point at
  (default: the website's first host name);
* ``Domains/Nameservers`` - DNS servers to ask, ``ip`` or ``ip:port`` / ``[v6]:port``,
  comma separated (default: the host's resolver configuration);
* ``Domains/DnsTimeout`` - seconds per lookup (default 5);
* ``Domains/RedirectScheme`` - scheme of the redirect to the primary domain (default:
  the request's own);
* ``Domains/AdminRoles`` - web role keys whose contacts may manage the website's domains
  over HTTP (default: none; the ``portalis domains`` commands always can).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from portalis.core import InvalidInput, PortalisError
from portalis.core.codec import utcnow
from portalis.plugins.domains.certs import CertificateError, validate_certificate
from portalis.plugins.domains.proxyconf import Binding as ProxyBinding
from portalis.plugins.domains.store import DomainStore
from portalis.plugins.domains.verify import (
    VerificationResult,
    expected_records,
    normalize_domain,
    verify_domain,
)

__all__ = [
    "SETTING_DEFAULTS",
    "CertificateRejected",
    "add_binding",
    "parse_nameservers",
    "proxy_items",
    "upload_certificate",
    "verify_binding",
    "write_proxy_files",
]

CNAME_TARGET = "Domains/CnameTarget"
NAMESERVERS = "Domains/Nameservers"
DNS_TIMEOUT = "Domains/DnsTimeout"
REDIRECT_SCHEME = "Domains/RedirectScheme"
ADMIN_ROLES = "Domains/AdminRoles"

SETTING_DEFAULTS = {CNAME_TARGET: "", NAMESERVERS: "", DNS_TIMEOUT: "5", REDIRECT_SCHEME: "",
                    ADMIN_ROLES: ""}


class CertificateRejected(PortalisError):
    """An uploaded certificate broke a rule; ``code`` is the CertificateError's code."""

    status = 422
    code = "certificate_rejected"


def parse_nameservers(text: str) -> list[tuple[str, int]] | None:
    """``"127.0.0.1:5353, [::1]:53, 192.0.2.53"`` → [(ip, port)]; empty → None (system)."""
    servers = []
    for entry in (e.strip() for e in (text or "").split(",")):
        if not entry:
            continue
        host, port = entry, 53
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 53
        elif entry.count(":") == 1:
            host, _, text_port = entry.partition(":")
            if not text_port.isdigit():
                raise InvalidInput(f"{NAMESERVERS}: bad port in {entry!r}",
                                   code="invalid_setting")
            port = int(text_port)
        try:
            ip_address(host)
        except ValueError:
            raise InvalidInput(f"{NAMESERVERS}: {entry!r} is not an IP address (with an "
                               "optional :port)", code="invalid_setting") from None
        servers.append((host, port))
    return servers or None


def cname_target(site: Any) -> str:
    target = site.setting(CNAME_TARGET).strip() or (site.hosts[0] if site.hosts else "")
    try:
        return normalize_domain(target)
    except ValueError:
        raise InvalidInput(
            f"the portal's host name {target!r} cannot be a CNAME target; set "
            f"{CNAME_TARGET} to the portal's public host name", code="invalid_setting"
        ) from None


def _domain(domain: str) -> str:
    try:
        return normalize_domain(domain)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_domain") from None


async def add_binding(services: Any, site: Any, domain: str) -> dict[str, Any]:
    """Bind ``domain`` to ``site`` (not live until verified); returns the binding and the
    DNS records that would verify it."""
    row = await DomainStore(services).add(site.id, _domain(domain))
    records = expected_records(row["domain"], portal_host=cname_target(site), token=row["token"])
    return {"binding": row,
            "records": [{"type": r.type, "name": r.name, "value": r.value} for r in records]}


@dataclass(frozen=True)
class Verified:
    binding: dict[str, Any]
    result: VerificationResult


async def verify_binding(services: Any, site: Any, domain: str, *,
                         nameservers: list[tuple[str, int]] | None = None) -> Verified:
    """Check DNS for the binding's CNAME or TXT token; a pass makes the binding live."""
    store = DomainStore(services)
    row = await store.get(site.id, _domain(domain))
    servers = nameservers if nameservers is not None else parse_nameservers(
        site.setting(NAMESERVERS))
    timeout = site.number(DNS_TIMEOUT, 5.0)
    result = await verify_domain(row["domain"], portal_host=cname_target(site),
                                 token=row["token"], nameservers=servers,
                                 timeout=timeout if timeout > 0 else 5.0)
    row = await store.record_verification(row, result, utcnow())
    return Verified(row, result)


async def upload_certificate(services: Any, website_id: int, domain: str, data: bytes, *,
                             key: bytes | None = None,
                             password: str | None = None) -> dict[str, Any]:
    """Validate and store a certificate for a binding; CertificateRejected says why not."""
    store = DomainStore(services)
    row = await store.get(website_id, _domain(domain))
    try:
        info = validate_certificate(row["domain"], data, password=password or None,
                                    key_pem=key)
    except CertificateError as exc:
        raise CertificateRejected(exc.message, code=exc.code.value) from None
    return await store.set_certificate(row, info)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


@dataclass(frozen=True)
class ProxyItem:
    domain: str
    redirect_to: str | None
    chain_pem: bytes
    key_pem: bytes


async def proxy_items(services: Any, website_id: int | None = None
                      ) -> tuple[list[ProxyItem], list[str]]:
    """The verified bindings that have a certificate (with it), and warnings naming the
    bindings left out. Non-primary bindings of a website with a primary redirect to it."""
    store = DomainStore(services)
    rows = await store.bindings(website_id)
    primary = {r["website"]: r["domain"] for r in rows if r["verified"] and r["is_primary"]}
    items: list[ProxyItem] = []
    warnings: list[str] = []
    for row in rows:
        if not row["verified"]:
            warnings.append(f"{row['domain']}: not verified, left out")
            continue
        files = await store.certificate_files(row["id"])
        if files is None:
            warnings.append(f"{row['domain']}: no certificate uploaded, left out")
            continue
        target = primary.get(row["website"])
        items.append(ProxyItem(row["domain"], target if target != row["domain"] else None,
                               *files))
    return items, warnings


def write_proxy_files(items: list[ProxyItem], cert_dir: Path,
                      upstream: str) -> list[ProxyBinding]:
    """Write each chain and key to ``cert_dir`` (keys owner-only) and return the bindings
    for :func:`~portalis.plugins.domains.proxyconf.render_nginx` / ``render_caddyfile``."""
    folder = cert_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for item in items:
        chain_path, key_path = folder / f"{item.domain}.crt", folder / f"{item.domain}.key"
        _write(chain_path, item.chain_pem, 0o644)
        _write(key_path, item.key_pem, 0o600)
        out.append(ProxyBinding(item.domain, None if item.redirect_to else upstream,
                                str(chain_path), str(key_path), item.redirect_to))
    return out
