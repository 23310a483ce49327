"""Custom-domain bindings in a running portal: DNS verification against a real DNS server
(dnslib on 127.0.0.1), routing by Host across portals, primary redirects, certificates,
and the ``portalis domains`` commands."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portalis.core.config import Config
from portalis.plugins.domains.cli import domains
from tests.support.portal import HOST, Portal, running_portal

from .dns_server import ZoneServer, running_zone

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin@example.com"
PLAIN = "plain@example.com"
WWW = "www.customer.example"
ALT = "alt.customer.example"


def site_file(key: str, title: str, hosts: list[str], zone: ZoneServer) -> str:
    return f"""
website:
  key: {key}
  title: {title}
  hosts: {json.dumps(hosts)}
settings:
  Domains/AdminRoles: admins
  Domains/Nameservers: "127.0.0.1:{zone.port}"
  Domains/DnsTimeout: 2
roles:
  - key: admins
    name: Administrators
contacts:
  - key: admin
    email: {ADMIN}
    roles: [admins]
  - key: plain
    email: {PLAIN}
"""


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    with running_zone() as zone:
        yield zone


@dataclass
class DomainsPortal:
    portal: Portal
    zone: ZoneServer

    async def api(self, method: str, url: str, who: str | None = ADMIN,
                  **kw: Any) -> httpx.Response:
        return await self.portal.send(method, url, who=who,
                                      headers={"accept": "application/json"}, **kw)

    async def bind(self, domain: str) -> dict[str, Any]:
        r = await self.api("POST", "/_domains/api/bindings", json={"domain": domain})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def verify(self, domain: str) -> dict[str, Any]:
        r = await self.api("POST", f"/_domains/api/bindings/{domain}/verify")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def live(self, domain: str) -> None:
        self.zone.add(domain, "CNAME", HOST)
        await self.bind(domain)
        assert (await self.verify(domain))["verified"] is True

    async def visit(self, host: str, path: str = "/", **kw: Any) -> httpx.Response:
        headers = {"host": host, **kw.pop("headers", {})}
        return await self.portal.client.request(kw.pop("method", "GET"), path,
                                                headers=headers, **kw)


@pytest.fixture
async def dp(database_url: str, zone: ZoneServer) -> AsyncIterator[DomainsPortal]:
    async with running_portal(database_url, plugins=["selfservice", "domains"]) as portal:
        await portal.apply(site_file("contoso", "Contoso Portal", [HOST], zone))
        yield DomainsPortal(portal, zone)


# --- binding and verification -----------------------------------------------------------


async def test_unverified_binding_does_not_answer(dp: DomainsPortal) -> None:
    added = await dp.bind(WWW)
    assert added["verified"] is False and added["primary"] is False
    assert {r["type"] for r in added["records"]} == {"CNAME", "TXT"}
    cname = next(r for r in added["records"] if r["type"] == "CNAME")
    assert cname == {"type": "CNAME", "name": WWW, "value": HOST}
    page = await dp.visit(WWW)
    assert page.status_code == 404
    assert "not bound to any portal" in page.text


async def test_cname_verification_makes_the_binding_live(dp: DomainsPortal) -> None:
    await dp.bind("WWW.Customer.Example.")  # normalised
    dp.zone.add(WWW, "CNAME", HOST)
    checked = await dp.verify(WWW)
    assert checked["verified"] is True and checked["method"] == "cname"
    assert checked["checked"]["method"] == "cname"
    assert (WWW, "CNAME") in dp.zone.queries  # asked the test's DNS server
    page = await dp.visit(WWW)
    assert page.status_code == 200
    assert "Contoso Portal" in page.text


async def test_txt_token_verification(dp: DomainsPortal) -> None:
    added = await dp.bind("customer.example")
    dp.zone.add("_portalis-challenge.customer.example", "TXT", added["token"])
    dp.zone.add("customer.example", "A", "192.0.2.10")
    checked = await dp.verify("customer.example")
    assert checked["verified"] is True and checked["method"] == "txt"
    assert (await dp.visit("customer.example")).status_code == 200


async def test_failed_verification_says_why_and_stays_offline(dp: DomainsPortal) -> None:
    await dp.bind(WWW)
    checked = await dp.verify(WWW)
    assert checked["verified"] is False
    assert checked["checked"]["reason"] == "nxdomain"
    dp.zone.add(WWW, "CNAME", "elsewhere.example")
    checked = await dp.verify(WWW)
    assert checked["checked"]["reason"] == "cname_mismatch"
    assert HOST in checked["checked"]["message"]
    assert (await dp.visit(WWW)).status_code == 404


async def test_bad_and_duplicate_domains(dp: DomainsPortal) -> None:
    r = await dp.api("POST", "/_domains/api/bindings", json={"domain": "https://x.example/"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_domain"
    await dp.bind(WWW)
    r = await dp.api("POST", "/_domains/api/bindings", json={"domain": WWW.upper()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "domain_taken"
    r = await dp.api("POST", "/_domains/api/bindings/nowhere.example/verify")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_domain"


async def test_only_administrators_manage_domains(dp: DomainsPortal) -> None:
    for who in (None, PLAIN):
        r = await dp.api("GET", "/_domains/api/bindings", who=who)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "domains_admin_required"
        r = await dp.api("POST", "/_domains/api/bindings", who=who, json={"domain": WWW})
        assert r.status_code == 403
    r = await dp.portal.send("POST", "/_domains/api/bindings", who=ADMIN, csrf=False,
                             json={"domain": WWW}, headers={"accept": "application/json"})
    assert r.status_code == 403  # no CSRF token
    listed = await dp.api("GET", "/_domains/api/bindings")
    assert listed.status_code == 200 and listed.json()["value"] == []


async def test_several_portals_in_one_process(dp: DomainsPortal) -> None:
    await dp.portal.apply(site_file("fabrikam", "Fabrikam Portal", ["fabrikam.local"],
                                    dp.zone))
    await dp.live(WWW)
    dp.zone.add("portal.fabrikam.example", "CNAME", "fabrikam.local")
    r = await dp.visit("fabrikam.local", "/_domains/api/bindings", method="POST",
                       json={"domain": "portal.fabrikam.example"},
                       headers={"x-test-contact": ADMIN, "accept": "application/json",
                                "x-csrftoken": await dp.portal.csrf()})
    assert r.status_code == 201, r.text
    r = await dp.visit("fabrikam.local", "/_domains/api/bindings/portal.fabrikam.example/verify",
                       method="POST",
                       headers={"x-test-contact": ADMIN, "accept": "application/json",
                                "x-csrftoken": await dp.portal.csrf()})
    assert r.json()["verified"] is True
    assert "Contoso Portal" in (await dp.visit(WWW)).text
    assert "Fabrikam Portal" in (await dp.visit("portal.fabrikam.example")).text
    assert "Fabrikam Portal" in (await dp.visit("fabrikam.local")).text
    # a domain bound to one website cannot be taken by another
    r = await dp.visit("fabrikam.local", "/_domains/api/bindings", method="POST",
                       json={"domain": WWW},
                       headers={"x-test-contact": ADMIN, "accept": "application/json",
                                "x-csrftoken": await dp.portal.csrf()})
    assert r.status_code == 409
    assert (await dp.visit("unknown.example")).status_code == 404


async def test_removing_a_binding_takes_it_offline(dp: DomainsPortal) -> None:
    await dp.live(WWW)
    assert (await dp.visit(WWW)).status_code == 200
    r = await dp.api("DELETE", f"/_domains/api/bindings/{WWW}")
    assert r.status_code == 204
    assert (await dp.visit(WWW)).status_code == 404


# --- primary binding ----------------------------------------------------------------------


async def test_primary_binding_redirects_other_hosts_keeping_path_and_query(
        dp: DomainsPortal) -> None:
    await dp.live(WWW)
    await dp.live(ALT)
    r = await dp.api("POST", f"/_domains/api/bindings/{WWW}/primary")
    assert r.status_code == 200 and r.json()["primary"] is True
    for host in (ALT, HOST):
        r = await dp.visit(host, "/_lists/cases%20open?page=2&q=a%26b")
        assert r.status_code == 301
        assert r.headers["location"] == f"http://{WWW}/_lists/cases%20open?page=2&q=a%26b"
    r = await dp.visit(ALT, "/_api/contact?x=1", method="POST", json={},
                       headers={"x-csrftoken": await dp.portal.csrf()})
    assert r.status_code == 308 and r.headers["location"] == f"http://{WWW}/_api/contact?x=1"
    assert (await dp.visit(WWW)).status_code == 200
    assert (await dp.visit(ALT, "/_health")).status_code == 200  # health checks exempt
    # moving the primary moves the redirects
    r = await dp.api("POST", f"/_domains/api/bindings/{ALT}/primary")
    assert r.json()["primary"] is True
    r = await dp.visit(WWW, "/")
    assert r.status_code == 301 and r.headers["location"] == f"http://{ALT}/"
    listed = (await dp.api("GET", "/_domains/api/bindings")).json()["value"]
    assert [b["domain"] for b in listed if b["primary"]] == [ALT]


async def test_redirect_scheme_setting(dp: DomainsPortal, zone: ZoneServer) -> None:
    await dp.live(WWW)
    await dp.api("POST", f"/_domains/api/bindings/{WWW}/primary")
    text = site_file("contoso", "Contoso Portal", [HOST], zone)
    await dp.portal.apply(text.replace("settings:\n",
                                       "settings:\n  Domains/RedirectScheme: https\n"))
    r = await dp.visit(HOST, "/_lists/a?b=c")
    assert r.status_code == 301 and r.headers["location"] == f"https://{WWW}/_lists/a?b=c"


async def test_unverified_binding_cannot_be_primary(dp: DomainsPortal) -> None:
    await dp.bind(WWW)
    r = await dp.api("POST", f"/_domains/api/bindings/{WWW}/primary")
    assert r.status_code == 409 and r.json()["error"]["code"] == "domain_not_verified"
    assert (await dp.visit(HOST)).status_code == 200


async def test_default_site_answers_unknown_hosts_and_redirects_to_primary(
        database_url: str, zone: ZoneServer) -> None:
    async with running_portal(database_url, plugins=["selfservice", "domains"],
                              default_website="contoso") as portal:
        await portal.apply(site_file("contoso", "Contoso Portal", [HOST], zone))
        d = DomainsPortal(portal, zone)
        assert "Contoso Portal" in (await d.visit("anything.example")).text
        await d.live(WWW)
        await d.api("POST", f"/_domains/api/bindings/{WWW}/primary")
        r = await d.visit("anything.example", "/?q=1")
        assert r.status_code == 301 and r.headers["location"] == f"http://{WWW}/?q=1"


# --- certificates ---------------------------------------------------------------------------


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(names: list[str], *, days: int = 90, expired: bool = False) -> bytes:
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=400 if expired else 1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(KEY.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days if not expired else 30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


KEY_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())


async def test_certificate_upload_pem_and_pfx(dp: DomainsPortal) -> None:
    await dp.bind(WWW)
    url = f"/_domains/api/bindings/{WWW}/certificate"
    r = await dp.api("PUT", url, json={"certificate": certificate([WWW]).decode(),
                                       "key": KEY_PEM.decode()})
    assert r.status_code == 200, r.text
    cert = r.json()["certificate"]
    assert cert["names"] == [WWW] and len(cert["fingerprint_sha256"]) == 64

    pem = pem_cert = x509.load_pem_x509_certificate(certificate([WWW, ALT]))
    pfx = pkcs12.serialize_key_and_certificates(
        b"www", KEY, pem_cert, None, serialization.BestAvailableEncryption(b"s3cret"))
    r = await dp.api("PUT", url, json={"pfx": base64.b64encode(pfx).decode(),
                                       "password": "s3cret"})
    assert r.status_code == 200, r.text
    assert r.json()["certificate"]["names"] == [WWW, ALT]
    assert pem is pem_cert
    # the key is not stored in the clear
    stored = await dp.portal.services.db.fetchval(
        'SELECT "cert_key" FROM "domains_binding" WHERE "domain" = ?', WWW)
    assert stored and "PRIVATE KEY" not in stored


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"certificate": certificate(["other.example"]).decode(), "key": KEY_PEM.decode()},
         "name_mismatch"),
        ({"certificate": certificate([WWW], expired=True).decode(), "key": KEY_PEM.decode()},
         "expired"),
        ({"certificate": certificate([WWW]).decode()}, "no_private_key"),
        ({"certificate": "not a certificate"}, "unreadable"),
    ],
)
async def test_certificate_rejections_name_the_rule(dp: DomainsPortal, body: dict[str, str],
                                                    code: str) -> None:
    await dp.bind(WWW)
    r = await dp.api("PUT", f"/_domains/api/bindings/{WWW}/certificate", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error["message"]


async def test_pfx_with_wrong_password(dp: DomainsPortal) -> None:
    await dp.bind(WWW)
    cert = x509.load_pem_x509_certificate(certificate([WWW]))
    pfx = pkcs12.serialize_key_and_certificates(
        b"www", KEY, cert, None, serialization.BestAvailableEncryption(b"right"))
    r = await dp.api("PUT", f"/_domains/api/bindings/{WWW}/certificate",
                     json={"pfx": base64.b64encode(pfx).decode(), "password": "wrong"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "pfx_password"


# --- the portalis domains commands ------------------------------------------------------


def run_cli(config: Config, *args: str) -> Result:
    return CliRunner().invoke(domains, list(args), obj={"config": config})


async def test_cli_add_verify_primary_cert_and_proxy_config(dp: DomainsPortal,
                                                            tmp_path: Path) -> None:
    config = Config(database_url=dp.portal.services.config.database_url,
                    plugins=["selfservice", "domains"],
                    secret_key=dp.portal.services.config.secret_key)

    async def cli(*args: str, code: int = 0) -> str:
        result = await asyncio.to_thread(run_cli, config, *args)
        assert result.exit_code == code, result.output
        return result.output

    out = await cli("add", "--site", "contoso", WWW)
    assert f"CNAME {WWW}  ->  {HOST}" in out
    assert "TXT   _portalis-challenge.www.customer.example" in out
    out = await cli("verify", "--site", "contoso", WWW, code=1)
    assert "nxdomain" in out
    dp.zone.add(WWW, "CNAME", HOST)
    out = await cli("verify", "--site", "contoso", WWW,
                    "--nameserver", f"127.0.0.1:{dp.zone.port}")
    assert "is verified and live" in out
    assert (await dp.visit(WWW)).status_code == 200  # the running app sees it at once

    await cli("add", "--site", "contoso", ALT)
    dp.zone.add(ALT, "CNAME", HOST)
    await cli("verify", "--site", "contoso", ALT)
    await cli("primary", "--site", "contoso", WWW)

    pem = tmp_path / "www.pem"
    pem.write_bytes(certificate([WWW]) + KEY_PEM)
    out = await cli("cert", "--site", "contoso", WWW, str(pem))
    assert f"certificate for {WWW} accepted" in out
    bad = tmp_path / "bad.pem"
    bad.write_bytes(certificate(["other.example"]) + KEY_PEM)
    out = await cli("cert", "--site", "contoso", ALT, str(bad), code=1)
    assert "(name_mismatch)" in out
    (tmp_path / "alt.crt").write_bytes(certificate([ALT]))
    (tmp_path / "alt.key").write_bytes(KEY_PEM)
    await cli("cert", "--site", "contoso", ALT, str(tmp_path / "alt.crt"),
              "--key", str(tmp_path / "alt.key"))

    listing = await cli("list", "--site", "contoso")
    assert f"{WWW}  website" in listing and "primary" in listing

    certs = tmp_path / "certs"
    nginx = await cli("proxy-config", "--format", "nginx", "--cert-dir", str(certs),
                      "--upstream", "http://127.0.0.1:8000")
    assert f"server_name {WWW};" in nginx and "proxy_pass http://127.0.0.1:8000;" in nginx
    assert f"return 301 https://{WWW}$request_uri;" in nginx  # ALT redirects to primary
    assert f"ssl_certificate {certs.resolve()}/{WWW}.crt;" in nginx
    key_mode = stat.S_IMODE(os.stat(certs / f"{WWW}.key").st_mode)
    assert key_mode == 0o600
    assert (certs / f"{WWW}.key").read_bytes() == KEY_PEM
    caddy = await cli("proxy-config", "--format", "caddy", "--cert-dir", str(certs))
    assert f"{WWW} {{" in caddy and f"redir https://{WWW}{{uri}} 301" in caddy

    await cli("remove", "--site", "contoso", ALT)
    assert (await dp.visit(ALT)).status_code == 404


async def test_plugin_commands_join_the_portalis_cli(dp: DomainsPortal) -> None:
    """The real ``portalis`` script, in its own process, with the plugins enabled."""
    portalis = str(Path(sys.executable).with_name("portalis"))
    env = {**os.environ, "PORTALIS_PLUGINS": "selfservice,domains,lockout"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([portalis, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    helped = await asyncio.to_thread(run, "--help")
    assert "domains" in helped.stdout and "lockout" in helped.stdout, helped.stderr
    await dp.bind(WWW)
    listed = await asyncio.to_thread(
        run, "--database", dp.portal.services.config.database_url, "domains", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{WWW}  website" in listed.stdout and "NOT verified" in listed.stdout


# --- site files -------------------------------------------------------------------------


async def test_site_file_section_binds_and_exports(dp: DomainsPortal, zone: ZoneServer) -> None:
    from portalis.core.sitefile import export_site

    base = site_file("contoso", "Contoso Portal", [HOST], zone)
    section = f"domains:\n  - domain: {WWW.upper()}\n    primary: true\n  - {ALT}\n"
    await dp.portal.apply(base + section)
    await dp.portal.apply(base + section)  # idempotent
    listed = (await dp.api("GET", "/_domains/api/bindings")).json()["value"]
    assert [(b["domain"], b["primary"], b["verified"]) for b in listed] == [
        (ALT, False, False), (WWW, True, False)]
    assert (await dp.visit(HOST)).status_code == 200  # primary waits for verification
    dp.zone.add(WWW, "CNAME", HOST)
    assert (await dp.verify(WWW))["verified"] is True
    r = await dp.visit(HOST, "/?a=1")
    assert r.status_code == 301 and r.headers["location"] == f"http://{WWW}/?a=1"
    exported = await export_site(dp.portal.services, "contoso")
    assert exported["domains"] == [{"domain": ALT}, {"domain": WWW, "primary": True}]


async def test_site_file_section_refuses_bad_entries(dp: DomainsPortal, zone: ZoneServer) -> None:
    from portalis.core import InvalidInput

    base = site_file("contoso", "Contoso Portal", [HOST], zone)
    for section, fragment in (
        ("domains:\n  - domain: 'http://x.example/'\n", "URL"),
        (f"domains:\n  - {WWW}\n  - {WWW.upper()}\n", "listed twice"),
        (f"domains:\n  - domain: {WWW}\n    primary: true\n  - domain: {ALT}\n    primary: true\n",
         "at most one"),
        ("domains:\n  - domain: a.example\n    verified: true\n", "unknown keys"),
    ):
        with pytest.raises(InvalidInput) as err:
            await dp.portal.apply(base + section)
        assert fragment in err.value.message
    await dp.portal.apply(site_file("fabrikam", "Fabrikam", ["fabrikam.local"], zone)
                          + f"domains:\n  - {WWW}\n")
    with pytest.raises(InvalidInput) as err:
        await dp.portal.apply(base + f"domains:\n  - {WWW}\n")
    assert "already bound to another website" in err.value.message
