"""Forums: forums grouped per website, threads, Markdown posts, moderation, answers,
helpful votes, subscriptions with batched email notifications, lists and search.

Forums, threads and posts are portal tables (``forum``, ``forum_thread``,
``forum_post``) reached only through ``records``: who reads, posts and moderates is
said with table permissions — one filtered chain of grants per forum ``audience``, and
readers' grants filtered so hidden and pending content stays out of every path. The
recommended site-file permissions are in this package's README.md.
"""

__all__: list[str] = []
