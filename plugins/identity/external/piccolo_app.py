"""Piccolo app of external sign-in (its private tables and migrations)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.identity.external.tables import ExternalIdentity, PendingLogin, SamlAssertion

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_identity_external",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[ExternalIdentity, SamlAssertion, PendingLogin],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
