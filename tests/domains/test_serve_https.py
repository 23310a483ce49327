"""``portalis serve --ssl``: the portal answers over HTTPS with one certificate, and
HTTPS responses carry HSTS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.server import ROOT, free_port


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_serve_over_https_with_one_certificate(database_url: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    site = tmp_path / "site.yaml"
    site.write_text("website: {key: tls, title: TLS, hosts: [127.0.0.1]}\n")
    env = {**os.environ, "PORTALIS_DATABASE_URL": database_url,
           "PORTALIS_CONFIG": "/nonexistent.toml", "PORTALIS_PLUGINS": "selfservice",
           "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "portalis.core.cli"]
    subprocess.run([*cli, "site", "apply", str(site)], env=env, check=True, timeout=120,
                   capture_output=True, stdin=subprocess.DEVNULL)
    port = free_port()
    proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--ssl", str(cert),
                             "--ssl-key", str(key)], env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        res = None
        while time.monotonic() < deadline:
            try:
                res = httpx.get(f"https://127.0.0.1:{port}/", verify=str(cert), timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert res is not None, "the HTTPS server did not answer"
        assert res.status_code == 200
        assert res.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)  # plain HTTP is not served
    finally:
        proc.terminate()
        proc.wait(10)
