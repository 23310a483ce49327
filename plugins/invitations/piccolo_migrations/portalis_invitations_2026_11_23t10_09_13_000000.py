"""Constraints Piccolo's column API cannot express: one redemption per contact and invitation."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T10:09:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "one redemption per (invitation, contact)"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS invitations_redemption_pair '
    'ON "invitations_redemption" ("invitation", "contact")',
]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_invitations",
                               description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
