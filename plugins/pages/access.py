"""Web page access-control rules (Power Pages semantics).

* **Restrict Read** on a page limits it and its whole branch to the rule's roles; the
  rules of every ancestor apply too (a visitor needs one role of each restricting page
  on the way down).
* **Grant Change** on a page lets its roles edit the page and its branch; it implies
  read and takes precedence over Restrict Read.
* No rules: everyone reads, nobody changes. Draft pages are seen only by those who may
  change them.
"""

from __future__ import annotations

from portalis.plugins.pages.store import PageNode

__all__ = ["can_change", "can_read", "can_see"]


def can_change(page: PageNode, role_ids: frozenset[int]) -> bool:
    return any(node.grant_change & role_ids for node in page.lineage())


def can_read(page: PageNode, role_ids: frozenset[int]) -> bool:
    if can_change(page, role_ids):
        return True
    return all(not node.restrict_read or node.restrict_read & role_ids
               for node in page.lineage())


def can_see(page: PageNode, role_ids: frozenset[int]) -> bool:
    """Readable and published (or a draft the principal may change): shown in navigation."""
    if not can_read(page, role_ids):
        return False
    if all(node.state == "published" for node in page.lineage()):
        return True
    return can_change(page, role_ids)
