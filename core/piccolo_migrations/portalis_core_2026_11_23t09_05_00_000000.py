"""Constraints Piccolo's column API cannot express: composite and partial unique indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T09:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique keys per website; active-contact email uniqueness; link uniqueness"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS contact_active_email ON "contact" ("website", "email") '
    "WHERE \"state\" = 'active' AND \"email\" IS NOT NULL",
    'CREATE UNIQUE INDEX IF NOT EXISTS contact_key ON "contact" ("website", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS account_key ON "account" ("website", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS web_role_key ON "portalis_web_role" ("website", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS table_permission_key '
    'ON "portalis_table_permission" ("website", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS entity_list_key ON "portalis_entity_list" ("website", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS site_setting_name '
    'ON "portalis_site_setting" ("website", "name")',
    'CREATE UNIQUE INDEX IF NOT EXISTS contact_role_pair '
    'ON "portalis_contact_role" ("contact", "role")',
    'CREATE UNIQUE INDEX IF NOT EXISTS account_role_pair '
    'ON "portalis_account_role" ("account", "role")',
    'CREATE UNIQUE INDEX IF NOT EXISTS permission_role_pair '
    'ON "portalis_permission_role" ("permission", "role")',
]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_core", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
