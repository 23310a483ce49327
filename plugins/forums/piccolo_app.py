"""Piccolo app of the forums plugin."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from portalis.plugins.forums.tables import (
    Forum,
    ForumAttachment,
    ForumAudit,
    ForumFlag,
    ForumNotification,
    ForumPost,
    ForumSubscription,
    ForumThread,
    ForumVote,
)

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="portalis_forums",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Forum, ForumThread, ForumPost, ForumVote, ForumFlag, ForumSubscription,
                   ForumAudit, ForumNotification, ForumAttachment],
    migration_dependencies=["portalis.core.piccolo_app"],
    commands=[],
)
