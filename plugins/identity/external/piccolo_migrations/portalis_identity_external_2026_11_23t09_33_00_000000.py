"""Composite unique indexes of external sign-in (Piccolo's column API cannot express them)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T09:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "external identity uniqueness; SAML assertion replay key"

STATEMENTS = [
    # One contact per external identity on a website...
    'CREATE UNIQUE INDEX IF NOT EXISTS identity_external_subject '
    'ON "identity_external" ("website", "issuer", "subject")',
    # ...and one identity per provider (issuer) per contact.
    'CREATE UNIQUE INDEX IF NOT EXISTS identity_external_contact_issuer '
    'ON "identity_external" ("contact", "issuer")',
    'CREATE UNIQUE INDEX IF NOT EXISTS identity_saml_assertion_key '
    'ON "identity_saml_assertion" ("issuer", "assertion_id")',
]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_identity_external",
                               description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
