"""Pytest fixtures: real OpenID Providers on 127.0.0.1 for the OIDC relying-party tests.

``tests/identity/oidc_provider/server.js`` runs either panva/oidc-provider (``provider``
mode) or a protocol-correct "rogue" provider that issues deliberately defective ID tokens
(``rogue`` mode).  The fixtures install its npm dependencies when ``node_modules`` is
missing (``npm ci``), start each server as a subprocess on a free port, wait until its
discovery document answers and stop it at the end.

Import the fixtures into a test module (``from .oidc_fixtures import oidc_provider_a, ...``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = [
    "CLIENT_ID",
    "REDIRECT_URI",
    "TEST_ACCOUNT",
    "RunningProvider",
    "oidc_node_modules",
    "oidc_provider_a",
    "oidc_provider_b",
    "rogue_provider",
]

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"

#: The portal's callback URL registered at every test provider.  Nothing listens there: the
#: tests read the provider's redirect and hand its query string to ``complete_login``.
REDIRECT_URI = "http://127.0.0.1:9/portal/auth/oidc/callback"
CLIENT_ID = "portalis-portal"

#: The fixed account of server.js (login form credentials and expected claims).
TEST_ACCOUNT = {
    "login": "ada",
    "password": "correct horse battery staple",
    "sub": "ada-0001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "email": "ada@example.test",
}

_START_TIMEOUT = 30.0
_NPM_TIMEOUT = 600


@dataclass(frozen=True)
class RunningProvider:
    """A test provider process and what a relying party needs to talk to it."""

    name: str
    mode: str
    issuer: str
    port: int
    client_id: str
    client_secret: str
    redirect_uri: str
    log_path: Path

    def log(self) -> str:
        """The server's output so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _ensure_node_modules() -> None:
    """Run ``npm ci`` once if the provider's dependencies are not installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are required for the OIDC provider tests")
    marker = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    # Serialise concurrent test processes (e.g. pytest-xdist) on one lock outside the tree.
    lock_path = Path(tempfile.gettempdir()) / f"portalis-oidc-npm-{os.getuid()}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.exists():
                return
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=PROVIDER_DIR,
                capture_output=True,
                text=True,
                timeout=_NPM_TIMEOUT,
                check=False,
            )
            if result.returncode != 0 or not marker.exists():
                pytest.fail(
                    f"npm ci failed in {PROVIDER_DIR} (exit {result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def _run_provider(
    name: str, mode: str, client_secret: str, workdir: Path
) -> Iterator[RunningProvider]:
    ready_file = workdir / f"{name}.ready.json"
    log_path = workdir / f"{name}.log"
    command = [
        "node",
        "server.js",
        "--mode",
        mode,
        "--port",
        "0",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        client_secret,
        "--redirect-uri",
        REDIRECT_URI,
        "--ready-file",
        str(ready_file),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROVIDER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not ready_file.exists():
            if process.poll() is not None:
                pytest.fail(
                    f"{name} exited with {process.returncode}:\n{log_path.read_text('utf-8')}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not start:\n{log_path.read_text('utf-8')}")
            time.sleep(0.05)
        info = json.loads(ready_file.read_text())
        provider = RunningProvider(
            name=name,
            mode=mode,
            issuer=info["issuer"],
            port=int(info["port"]),
            client_id=CLIENT_ID,
            client_secret=client_secret,
            redirect_uri=REDIRECT_URI,
            log_path=log_path,
        )
        discovery = f"{provider.issuer}/.well-known/openid-configuration"
        while True:
            try:
                if httpx.get(discovery, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name}: discovery never answered:\n{provider.log()}")
            time.sleep(0.05)
        yield provider
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def oidc_node_modules() -> Path:
    """The provider project with its npm dependencies installed."""
    _ensure_node_modules()
    return PROVIDER_DIR


@pytest.fixture(scope="module")
def oidc_provider_a(
    oidc_node_modules: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProvider]:
    """A real OpenID Provider (oidc-provider) on 127.0.0.1."""
    with _run_provider("provider-a", "provider", "secret-a", tmp_path_factory.mktemp("op")) as op:
        yield op


@pytest.fixture(scope="module")
def oidc_provider_b(
    oidc_node_modules: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProvider]:
    """A second, independent real provider (same client id and redirect URI as A)."""
    with _run_provider("provider-b", "provider", "secret-b", tmp_path_factory.mktemp("op")) as op:
        yield op


@pytest.fixture(scope="module")
def rogue_provider(
    oidc_node_modules: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProvider]:
    """A provider whose ID tokens are broken on request (``rogue_scenario=`` parameter)."""
    with _run_provider("rogue", "rogue", "secret-rogue", tmp_path_factory.mktemp("op")) as op:
        yield op
