"""Who is asking: the website, the contact (if any), its account and its web roles."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Principal"]


@dataclass(frozen=True)
class Principal:
    """The subject of every permission check.

    ``role_ids`` already include the built-in role that applies (Authenticated Users
    for a signed-in contact, Anonymous Users for a visitor). ``system`` principals are
    used by kernel services (site apply, sign-in lookups); they pass the permission
    predicate but still go through ``records`` (validation, events, website scoping).
    """

    website_id: int
    contact_id: int | None = None
    account_id: int | None = None
    role_ids: frozenset[int] = field(default_factory=frozenset)
    system: bool = False
    session_id: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def anonymous(self) -> bool:
        return self.contact_id is None and not self.system

    @classmethod
    def for_system(cls, website_id: int) -> Principal:
        return cls(website_id=website_id, system=True)
