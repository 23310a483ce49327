from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T10:22:59:170033"
VERSION = "1.38.0"
DESCRIPTION = "article search index"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portalis_selfservice", description=DESCRIPTION
    )

    async def run():
        from portalis.plugins.selfservice.search import DDL

        engine = engine_finder()
        dialect = "sqlite" if engine.engine_type == "sqlite" else "postgres"
        for statement in DDL[dialect]:
            await engine.run_ddl(statement)
        # index what is already there
        if dialect == "sqlite":
            await engine.run_ddl(
                "INSERT INTO selfservice_article_fts (rowid, title, body, website, published) "
                'SELECT "id", "title", "body", "website", "published" FROM "article"'
            )
        else:
            await engine.run_ddl(
                "INSERT INTO selfservice_article_search "
                "(article_id, website, published, title, body) "
                'SELECT "id", "website", "published", "title", "body" FROM "article"'
            )

    manager.add_raw(run)

    return manager
