from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T10:21:24:680491"
VERSION = "1.38.0"
DESCRIPTION = "forums: forum.audience, the label filtered forum grants select on"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portalis_forums", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Forum",
        tablename="forum",
        column_name="audience",
        db_column_name="audience",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 50,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
