"""Piccolo app of the kernel: its tables and migrations."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.core import tables

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_core",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        tables.Website,
        tables.SiteSetting,
        tables.Account,
        tables.Contact,
        tables.WebRole,
        tables.ContactRole,
        tables.AccountRole,
        tables.TablePermission,
        tables.PermissionRole,
        tables.EntityList,
        tables.Outbox,
        tables.SiteKey,
    ],
    migration_dependencies=[],
    commands=[],
)
