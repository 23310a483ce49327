"""Piccolo app of the identity plugin (its private tables and migrations)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.identity.tables import Credential, Session, Token

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_identity",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Session, Credential, Token],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
