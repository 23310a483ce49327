"""Piccolo app of the pages plugin."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.pages.tables import (
    PageRule,
    WebFile,
    WebForm,
    WebLinkSet,
    WebPage,
    WebTemplate,
)

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_pages",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[WebPage, PageRule, WebTemplate, WebForm, WebFile, WebLinkSet],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
