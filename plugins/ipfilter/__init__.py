"""IP filtering for portals: the real client address behind proxies, and allow/deny rules.

``addresses`` decides which address a request came from (``X-Forwarded-For`` and RFC 7239
``Forwarded`` are believed only from trusted proxies) and whether an address may pass.
"""

__all__ = []
