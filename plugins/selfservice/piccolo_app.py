"""Piccolo app of the self-service plugin."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.selfservice.tables import (
    Article,
    Case,
    CaseAttachment,
    CaseNote,
    Interaction,
)

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_selfservice",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Case, CaseNote, Article, CaseAttachment, Interaction],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
