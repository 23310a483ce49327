"""Piccolo app of the lockout plugin (its counter table and migrations)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.lockout.tables import Counter

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_lockout",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Counter],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
