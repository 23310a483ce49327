"""The ``domains`` section of site files: a website's custom domains, as code.

```yaml
domains:
  - domain: www.customer.example
    primary: true
  - domain: customer.example
```

Applying binds the listed domains that are not bound yet (unverified, with a fresh token:
DNS verification cannot be part of a file). ``primary: true`` moves the website's primary
to that domain (a file without one leaves the primary as it is); it takes effect once the
binding is verified. Bindings not listed are left alone
(like every other section, applying never deletes). A domain bound to another website
refuses the whole file. Export writes the website's bindings back.
"""

from __future__ import annotations

from typing import Any

from portalis.core import InvalidInput
from portalis.core.codec import encode, utcnow
from portalis.plugins.domains.store import DomainStore, live
from portalis.plugins.domains.verify import make_token, normalize_domain

__all__ = ["DomainsSection"]


def _err(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="invalid_site_file", where=where)


class DomainsSection:
    async def apply(self, website_id: int, data: Any, services: Any, *_: Any) -> None:
        if not isinstance(data, list):
            raise _err("domains", "must be a list of {domain, primary}")
        wanted: dict[str, bool] = {}
        for i, item in enumerate(data):
            where = f"domains[{i}]"
            if isinstance(item, str):
                item = {"domain": item}
            if not isinstance(item, dict) or not isinstance(item.get("domain"), str):
                raise _err(where, "needs a 'domain' (text)")
            unknown = set(item) - {"domain", "primary"}
            if unknown:
                raise _err(where, f"unknown keys {sorted(unknown)}")
            try:
                name = normalize_domain(item["domain"])
            except ValueError as exc:
                raise _err(where, str(exc)) from None
            if name in wanted:
                raise _err(where, f"{name} is listed twice")
            wanted[name] = bool(item.get("primary", False))
        if sum(wanted.values()) > 1:
            raise _err("domains", "at most one domain can be primary")
        db = services.db
        d = db.dialect
        async with db.transaction() as conn:
            for name in wanted:
                owner = await conn.fetchval(
                    'SELECT "website" FROM "domains_binding" WHERE "domain" = ?', name)
                if owner is not None and owner != website_id:
                    raise _err("domains", f"{name} is already bound to another website")
                if owner is None:
                    await conn.execute(
                        'INSERT INTO "domains_binding" ("website", "domain", "token", '
                        '"verified", "method", "is_primary", "created", "cert_fingerprint", '
                        '"cert_names", "cert_issuer", "cert_chain", "cert_key") '
                        "VALUES (?, ?, ?, ?, '', ?, ?, '', '', '', '', '')",
                        website_id, name, make_token(), encode(False, d), encode(False, d),
                        encode(utcnow(), d))
            if any(wanted.values()):
                await conn.execute(
                    'UPDATE "domains_binding" SET "is_primary" = ? WHERE "website" = ?',
                    encode(False, d), website_id)
            for name, primary in wanted.items():
                if primary:
                    await conn.execute(
                        'UPDATE "domains_binding" SET "is_primary" = ? WHERE "domain" = ?',
                        encode(True, d), name)
        live(services).invalidate()

    async def export(self, website_id: int, services: Any) -> list[dict[str, Any]]:
        rows = await DomainStore(services).bindings(website_id)
        return [{"domain": r["domain"], **({"primary": True} if r["is_primary"] else {})}
                for r in rows]
