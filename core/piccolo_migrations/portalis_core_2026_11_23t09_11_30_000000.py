"""Unique site-file keys per website and table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T09:11:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (website, table_name, key) for site-file record keys"


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_core", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw(
            'CREATE UNIQUE INDEX IF NOT EXISTS site_key_unique '
            'ON "portalis_site_key" ("website", "table_name", "key")'
        )

    manager.add_raw(run)
    return manager
