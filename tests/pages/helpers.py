"""Small helpers of the pages tests: apply extra pages and templates to the demo site."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.portal import Portal

WEBSITE = {"key": "cases", "title": "Contoso Support", "hosts": ["testserver.local"]}


async def apply_sections(site: Portal, **sections: Any) -> int:
    return await site.apply(yaml.safe_dump({"website": WEBSITE, **sections}))


async def add_page(site: Portal, key: str, content: str, **extra: Any) -> str:
    """A published child page of the home page; returns its URL."""
    await apply_sections(site, pages=[{"key": key, "parent": "home", "partial_url": key,
                                       "title": extra.pop("title", key), "content": content,
                                       **extra}])
    return f"/{key}"
