"""Forums: forums grouped per website, threads, Markdown posts, moderation, answers,
helpful votes, subscriptions with batched email notifications, lists and search.

Forums, threads and posts are portal tables (``forum``, ``forum_thread``,
``forum_post``) reached only through ``records``: who reads, posts and moderates is
said with table permissions (see :mod:`.plugin` and :mod:`.service`).
"""

__all__: list[str] = []
