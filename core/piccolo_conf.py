"""Piccolo configuration, built from the Portalis configuration at import time.

Piccolo finds this module through ``PICCOLO_CONF=portalis.core.piccolo_conf`` (the
CLI sets it). The database comes from ``PORTALIS_DATABASE_URL``; the apps are the
kernel's plus those of the enabled plugins (``PORTALIS_PICCOLO_APPS``, a comma list of
``module:APP_CONFIG`` paths that :func:`portalis.core.migrate.migrate` fills in).
"""

from __future__ import annotations

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from portalis.core.db import DatabaseURL

__all__ = ["APP_REGISTRY", "DB"]

_url = DatabaseURL(os.environ.get("PORTALIS_DATABASE_URL", "sqlite:///portalis.sqlite"))
DB: SQLiteEngine | PostgresEngine
if _url.dialect == "sqlite":
    DB = SQLiteEngine(path=_url.sqlite_path)
else:
    DB = PostgresEngine(config=_url.piccolo_config())

_apps = ["portalis.core.piccolo_app"] + [
    a for a in os.environ.get("PORTALIS_PICCOLO_APPS", "").split(",") if a
]
APP_REGISTRY = AppRegistry(apps=_apps)
