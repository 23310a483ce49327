"""The identity tests' OpenID Provider (panva/oidc-provider on node), for the notebooks.

:func:`start_provider` runs ``tests/identity/oidc_provider/server.js`` on a free port of
127.0.0.1 with the portal's callback URLs registered, the way
``tests/identity/oidc_fixtures.py`` does (``npm ci`` first if ``node_modules`` is
missing), and waits until its discovery document answers. :func:`sign_in_at_provider`
plays the user at the provider (login form, consent) and returns the URL the provider
redirects back to. The provider has one account, :data:`ACCOUNT`.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from support.harness import REPO

__all__ = ["ACCOUNT", "CLIENT_ID", "Provider", "sign_in_at_provider", "start_provider"]

PROVIDER_DIR = REPO / "tests" / "identity" / "oidc_provider"
CLIENT_ID = "portalis-portal"
ACCOUNT = {"login": "ada", "password": "correct horse battery staple", "sub": "ada-0001",
           "email": "ada@example.test", "given_name": "Ada", "family_name": "Lovelace"}
_RUNNING: list[Provider] = []


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _ensure_node_modules() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the OpenID Connect provider")
    marker = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    # the same lock as tests/identity/oidc_fixtures.py: one npm ci at a time
    lock_path = Path(tempfile.gettempdir()) / f"portalis-oidc-npm-{os.getuid()}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.exists():
                return
            run = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR,
                                 capture_output=True, text=True, timeout=600, check=False)
            if run.returncode != 0 or not marker.exists():
                raise RuntimeError(f"npm ci failed in {PROVIDER_DIR}:\n{run.stdout[-3000:]}"
                                   f"\n{run.stderr[-3000:]}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_provider(redirect_uris: list[str], client_secret: str = "secret-portal",
                   timeout: float = 30) -> Provider:
    """Start the provider with these callback URLs registered for client ``CLIENT_ID``."""
    _ensure_node_modules()
    workdir = Path(tempfile.mkdtemp(prefix="portalis-oidc-"))
    ready = workdir / "ready.json"
    log_path = workdir / "provider.log"
    command = ["node", "server.js", "--mode", "provider", "--port", "0", "--client-id",
               CLIENT_ID, "--client-secret", client_secret, "--ready-file", str(ready)]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROVIDER_DIR, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    provider = Provider("", CLIENT_ID, client_secret, process, log_path, workdir)
    _RUNNING.append(provider)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log = provider.log()
            provider.stop()
            raise RuntimeError(f"the provider exited:\n{log}")
        if ready.exists():
            with contextlib.suppress(ValueError, httpx.HTTPError):
                provider.issuer = json.loads(ready.read_text())["issuer"]
                if httpx.get(f"{provider.issuer}/.well-known/openid-configuration",
                             timeout=2).status_code == 200:
                    return provider
        if time.monotonic() > deadline:
            log = provider.log()
            provider.stop()
            raise RuntimeError(f"the provider did not start:\n{log}")
        time.sleep(0.05)


def sign_in_at_provider(authorization_url: str, back_to: str) -> str:
    """Sign in as :data:`ACCOUNT` and consent; the URL (starting ``back_to``) the provider
    sends the browser back to."""
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        response = client.get(authorization_url)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(back_to):
                    return location
                response = client.get(location)
                continue
            assert response.status_code == 200, response.text
            prompt = response.json()["prompt"]
            base = str(response.url.copy_with(query=None))
            if prompt == "login":
                response = client.post(f"{base}/login", data={
                    "login": ACCOUNT["login"], "password": ACCOUNT["password"]})
            elif prompt == "consent":
                response = client.post(f"{base}/confirm")
            else:
                raise AssertionError(f"unexpected interaction at the provider: {prompt}")
    raise AssertionError("the provider never redirected back to the portal")


@atexit.register
def _clean_up() -> None:
    for provider in list(_RUNNING):
        with contextlib.suppress(Exception):
            provider.stop()
