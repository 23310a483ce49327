"""Composite indexes for permission-filtered case lists.

A contact's cases are read through Contact scope (``customer``) and Account scope
(``account``); ``records`` runs one branch per scope, each in list order (``modified``
for the case list, ``id`` for the Web API) and cut to one page. These indexes answer
each branch with one index seek, whatever the number of cases and the page depth.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite (website, relationship, sort, id) indexes on case"

INDEXES = {
    "case_customer_modified": ("website", "customer", "modified", "id"),
    "case_account_modified": ("website", "account", "modified", "id"),
    "case_customer_id": ("website", "customer", "id"),
    "case_account_id": ("website", "account", "id"),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_selfservice",
                               description=DESCRIPTION)

    # the engine the migration runs on (as the other raw migrations do; a Table's own
    # ``raw`` would use the engine found when the table class was made)
    async def run() -> None:
        engine = engine_finder()
        for name, columns in INDEXES.items():
            cols = ", ".join(f'"{c}"' for c in columns)
            await engine.run_ddl(f'CREATE INDEX IF NOT EXISTS {name} ON "case" ({cols})')

    async def run_backwards() -> None:
        engine = engine_finder()
        for name in INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
