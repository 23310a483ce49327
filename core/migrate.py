"""``portalis migrate``: run the Piccolo migrations of the kernel and the enabled plugins."""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["migrate"]


async def migrate(database_url: str, plugin_apps: list[str], *, echo: Any = print) -> None:
    """Apply every pending migration, kernel first, then each plugin app in order.

    Piccolo reads its configuration from ``portalis.core.piccolo_conf``; this function
    points it at ``database_url`` and the given apps before importing it.
    """
    os.environ["PICCOLO_CONF"] = "portalis.core.piccolo_conf"
    os.environ["PORTALIS_DATABASE_URL"] = database_url
    os.environ["PORTALIS_PICCOLO_APPS"] = ",".join(plugin_apps)
    import portalis.core.piccolo_conf as conf

    importlib.reload(conf)
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import Finder

    engine = conf.DB
    for table in (Migration,):
        table._meta._db = engine
    await Migration.create_table(if_not_exists=True).run()
    finder = Finder()
    apps = ["portalis_core"]
    for module_path in plugin_apps:
        module = importlib.import_module(module_path)
        apps.append(module.APP_CONFIG.app_name)
    for i, app_name in enumerate(apps, 1):
        echo(f"[{i}/{len(apps)}] migrating {app_name}")
        config = finder.get_app_config(app_name)
        for table in config.table_classes:
            table._meta._db = engine
        manager = ForwardsMigrationManager(app_name=app_name)
        result = await manager.run_migrations(config)
        if not result.success:
            raise RuntimeError(f"migrations of {app_name} failed: {result.message}")
