"""Derived data of forum posts kept by the database, in the transaction that writes the
post (so concurrent writers never lose an update, and no write path can skip them):

* ``forum_thread.post_count``: the thread's posts readers see (not hidden, not pending),
  changed by ``post_count = post_count ± 1`` triggers when a post is inserted, deleted,
  hidden, restored, approved or moved; ``last_post_at`` moves forward when a post
  becomes visible. Existing counts are recomputed.
* the full-text index of visible posts: FTS5 table ``forum_post_fts`` (rowid = post id)
  on SQLite; ``forum_post_search`` with a generated ``tsvector`` and a GIN index on
  PostgreSQL. Existing visible posts are indexed.

The SQL is written out here (not imported) so that this migration keeps doing what it
did when it was applied.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "forums: atomic thread counters and the full-text index of posts (triggers)"

SHOWN_OLD_SQLITE = 'OLD."hidden" = 0 AND OLD."pending" = 0'
SHOWN_NEW_SQLITE = 'NEW."hidden" = 0 AND NEW."pending" = 0'
BUMP_SQLITE = (
    'UPDATE "forum_thread" SET "post_count" = "post_count" + 1, "last_post_at" = '
    'coalesce(max("last_post_at", coalesce(NEW."modified", NEW."created")), '
    'NEW."modified", NEW."created", "last_post_at") WHERE "id" = NEW."thread"'
)

SQLITE = [
    # -- counters
    "DROP TRIGGER IF EXISTS forum_post_counts_insert",
    f"""CREATE TRIGGER forum_post_counts_insert AFTER INSERT ON "forum_post"
    WHEN {SHOWN_NEW_SQLITE}
    BEGIN
      {BUMP_SQLITE};
    END""",
    "DROP TRIGGER IF EXISTS forum_post_counts_update",
    f"""CREATE TRIGGER forum_post_counts_update
    AFTER UPDATE OF "hidden", "pending", "thread" ON "forum_post"
    WHEN ({SHOWN_OLD_SQLITE}) IS NOT ({SHOWN_NEW_SQLITE}) OR OLD."thread" IS NOT NEW."thread"
    BEGIN
      UPDATE "forum_thread" SET "post_count" = "post_count" - 1
        WHERE "id" = OLD."thread" AND {SHOWN_OLD_SQLITE};
      {BUMP_SQLITE} AND {SHOWN_NEW_SQLITE};
    END""",
    "DROP TRIGGER IF EXISTS forum_post_counts_delete",
    f"""CREATE TRIGGER forum_post_counts_delete AFTER DELETE ON "forum_post"
    WHEN {SHOWN_OLD_SQLITE}
    BEGIN
      UPDATE "forum_thread" SET "post_count" = "post_count" - 1 WHERE "id" = OLD."thread";
    END""",
    'UPDATE "forum_thread" SET "post_count" = (SELECT COUNT(*) FROM "forum_post" p '
    'WHERE p."thread" = "forum_thread"."id" AND p."hidden" = 0 AND p."pending" = 0)',
    # -- full-text index
    "CREATE VIRTUAL TABLE IF NOT EXISTS forum_post_fts USING fts5("
    "body, website UNINDEXED, tokenize = 'porter unicode61')",
    "DROP TRIGGER IF EXISTS forum_post_fts_insert",
    f"""CREATE TRIGGER forum_post_fts_insert AFTER INSERT ON "forum_post"
    WHEN {SHOWN_NEW_SQLITE}
    BEGIN
      INSERT INTO forum_post_fts (rowid, body, website)
        VALUES (NEW."id", NEW."body", NEW."website");
    END""",
    "DROP TRIGGER IF EXISTS forum_post_fts_update",
    f"""CREATE TRIGGER forum_post_fts_update
    AFTER UPDATE OF "body", "hidden", "pending", "website" ON "forum_post"
    BEGIN
      DELETE FROM forum_post_fts WHERE rowid = OLD."id";
      INSERT INTO forum_post_fts (rowid, body, website)
        SELECT NEW."id", NEW."body", NEW."website" WHERE {SHOWN_NEW_SQLITE};
    END""",
    "DROP TRIGGER IF EXISTS forum_post_fts_delete",
    """CREATE TRIGGER forum_post_fts_delete AFTER DELETE ON "forum_post"
    BEGIN
      DELETE FROM forum_post_fts WHERE rowid = OLD."id";
    END""",
    "DELETE FROM forum_post_fts",
    'INSERT INTO forum_post_fts (rowid, body, website) SELECT "id", "body", "website" '
    'FROM "forum_post" WHERE "hidden" = 0 AND "pending" = 0',
]

POSTGRES = [
    # -- counters
    """CREATE OR REPLACE FUNCTION forum_post_counts() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      was_shown boolean := false;
      now_shown boolean := false;
      old_thread integer;
      new_thread integer;
    BEGIN
      IF TG_OP <> 'INSERT' THEN
        was_shown := NOT OLD."hidden" AND NOT OLD."pending";
        old_thread := OLD."thread";
      END IF;
      IF TG_OP <> 'DELETE' THEN
        now_shown := NOT NEW."hidden" AND NOT NEW."pending";
        new_thread := NEW."thread";
      END IF;
      IF was_shown AND NOT (now_shown AND new_thread = old_thread) THEN
        UPDATE "forum_thread" SET "post_count" = "post_count" - 1 WHERE "id" = old_thread;
      END IF;
      IF now_shown AND NOT (was_shown AND new_thread = old_thread) THEN
        UPDATE "forum_thread" SET "post_count" = "post_count" + 1,
          "last_post_at" = GREATEST("last_post_at", coalesce(NEW."modified", NEW."created"))
        WHERE "id" = new_thread;
      END IF;
      RETURN NULL;
    END $$""",
    'DROP TRIGGER IF EXISTS forum_post_counts ON "forum_post"',
    """CREATE TRIGGER forum_post_counts
    AFTER INSERT OR DELETE OR UPDATE OF "hidden", "pending", "thread" ON "forum_post"
    FOR EACH ROW EXECUTE FUNCTION forum_post_counts()""",
    'UPDATE "forum_thread" t SET "post_count" = (SELECT COUNT(*) FROM "forum_post" p '
    'WHERE p."thread" = t."id" AND NOT p."hidden" AND NOT p."pending")',
    # -- full-text index
    "CREATE TABLE IF NOT EXISTS forum_post_search ("
    ' post_id integer PRIMARY KEY REFERENCES "forum_post"("id") ON DELETE CASCADE,'
    " website integer NOT NULL,"
    " body text NOT NULL DEFAULT '',"
    " document tsvector GENERATED ALWAYS AS ("
    # (the first 200,000 characters: a tsvector holds at most 1 MB, and a longer post
    # must not fail to save because of its index entry)
    "  to_tsvector('english'::regconfig, left(coalesce(body, ''), 200000))) STORED)",
    "CREATE INDEX IF NOT EXISTS forum_post_search_document "
    "ON forum_post_search USING GIN (document)",
    "CREATE INDEX IF NOT EXISTS forum_post_search_website ON forum_post_search (website)",
    """CREATE OR REPLACE FUNCTION forum_post_index() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT NEW."hidden" AND NOT NEW."pending" THEN
        INSERT INTO forum_post_search (post_id, website, body)
          VALUES (NEW."id", NEW."website", NEW."body")
        ON CONFLICT (post_id) DO UPDATE SET website = EXCLUDED.website, body = EXCLUDED.body;
      ELSE
        DELETE FROM forum_post_search WHERE post_id = NEW."id";
      END IF;
      RETURN NULL;
    END $$""",
    'DROP TRIGGER IF EXISTS forum_post_index ON "forum_post"',
    """CREATE TRIGGER forum_post_index
    AFTER INSERT OR UPDATE OF "body", "hidden", "pending", "website" ON "forum_post"
    FOR EACH ROW EXECUTE FUNCTION forum_post_index()""",
    "DELETE FROM forum_post_search",
    'INSERT INTO forum_post_search (post_id, website, body) SELECT "id", "website", "body" '
    'FROM "forum_post" WHERE NOT "hidden" AND NOT "pending"',
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portalis_forums",
                               description=DESCRIPTION)

    async def run() -> None:
        engine = engine_finder()
        statements = SQLITE if engine.engine_type == "sqlite" else POSTGRES
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
