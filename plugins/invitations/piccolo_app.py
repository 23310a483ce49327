"""Piccolo app of the invitations plugin (its tables and migrations)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.invitations.tables import Invitation, Proof, Redemption

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_invitations",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Invitation, Redemption, Proof],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
