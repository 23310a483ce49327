"""The deployment configuration: database, enabled plugins, secrets, server."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PLUGINS", "Config"]

DEFAULT_PLUGINS = ("selfservice", "identity")


@dataclass
class Config:
    """Read from ``portalis.toml`` (``[portalis]`` table) and ``PORTALIS_*`` variables."""

    database_url: str = "sqlite:///portalis.sqlite"
    """``sqlite:///file`` (embedded default) or ``postgresql://user@host:port/db``."""
    plugins: list[str] = field(default_factory=lambda: list(DEFAULT_PLUGINS))
    """Entry-point names of the enabled plugins, in order."""
    secret_key: str = ""
    """Signs CSRF tokens and other tokens; generated into the data folder if empty."""
    default_website: str = ""
    """Key of the website that answers hosts bound to no website ('' = refuse them)."""
    policy_ttl: float = 1.0
    """Seconds a process trusts its cached site configuration before re-checking."""
    smtp_url: str = ""
    """``smtp://host:port`` for outgoing mail; empty keeps mail in the outbox table."""
    mail_from: str = "portal@localhost"
    webapi_max_top: int = 500
    """Largest ``$top`` the Web API accepts."""
    cors_origins: list[str] = field(default_factory=list)
    """Origins allowed to call the portal from browsers (CORS); empty: none."""
    debug: bool = False

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Config:
        cfg = cls()
        file = Path(path or os.environ.get("PORTALIS_CONFIG", "portalis.toml"))
        if file.is_file():
            data = tomllib.loads(file.read_text()).get("portalis", {})
            for key, value in data.items():
                if not hasattr(cfg, key):
                    raise ValueError(f"{file}: unknown setting {key!r}")
                setattr(cfg, key, value)
        env = {
            "database_url": "PORTALIS_DATABASE_URL",
            "secret_key": "PORTALIS_SECRET_KEY",
            "default_website": "PORTALIS_DEFAULT_WEBSITE",
            "smtp_url": "PORTALIS_SMTP_URL",
            "mail_from": "PORTALIS_MAIL_FROM",
        }
        for attr, var in env.items():
            if var in os.environ:
                setattr(cfg, attr, os.environ[var])
        if "PORTALIS_PLUGINS" in os.environ:
            cfg.plugins = [p.strip() for p in os.environ["PORTALIS_PLUGINS"].split(",")
                           if p.strip()]
        if "PORTALIS_POLICY_TTL" in os.environ:
            cfg.policy_ttl = float(os.environ["PORTALIS_POLICY_TTL"])
        if not cfg.secret_key:
            cfg.secret_key = secrets.token_urlsafe(32)
        return cfg
