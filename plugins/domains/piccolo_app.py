"""Piccolo app of the domains plugin (its binding table and migrations)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.domains.tables import Binding

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_domains",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Binding],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
