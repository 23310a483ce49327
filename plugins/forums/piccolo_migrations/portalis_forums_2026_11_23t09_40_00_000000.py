"""Composite unique indexes of the forums plugin's private tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T09:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "forums: one vote/flag per contact per post, one subscription per target"

STATEMENTS = (
    'CREATE UNIQUE INDEX IF NOT EXISTS forum_vote_unique ON "forum_vote" ("post", "contact")',
    'CREATE UNIQUE INDEX IF NOT EXISTS forum_flag_unique ON "forum_flag" ("post", "contact")',
    'CREATE UNIQUE INDEX IF NOT EXISTS forum_subscription_unique '
    'ON "forum_subscription" ("contact", "kind", "target")',
    'CREATE UNIQUE INDEX IF NOT EXISTS forum_notification_unique '
    'ON "forum_notification" ("contact", "post")',
    'CREATE INDEX IF NOT EXISTS forum_thread_listing '
    'ON "forum_thread" ("forum", "sticky", "last_post_at")',
)


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_forums",
                               description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
