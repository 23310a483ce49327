"""Bindings of custom domains in the database, and a per-process cache of the live ones.

All reads and writes of ``domains_binding`` go through :class:`DomainStore` (``?`` SQL on
``services.db``). :class:`LiveDomains` keeps the verified bindings (host → website, and
each website's primary) and reloads them at most every ``policy_ttl`` seconds, so a
binding verified by any process goes live everywhere without a restart; the process that
changed a binding reloads at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from portalis.core import Conflict, NotFound, PortalisError
from portalis.core.codec import encode, utcnow
from portalis.core.db import IntegrityError
from portalis.plugins.domains.certs import CertificateInfo
from portalis.plugins.domains.verify import VerificationResult, make_token, normalize_domain

__all__ = ["DomainStore", "LiveDomains", "live", "public"]

COLUMNS = ('"id", "website", "domain", "token", "verified", "method", "verified_at", '
           '"is_primary", "created", "cert_fingerprint", "cert_names", "cert_issuer", '
           '"cert_not_after"')


def _time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row["verified"] = bool(row["verified"])
    row["is_primary"] = bool(row["is_primary"])
    for name in ("verified_at", "created", "cert_not_after"):
        row[name] = _time(row.get(name))
    return row


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A binding as the API and CLI show it (no key material)."""
    return {
        "domain": row["domain"],
        "verified": row["verified"],
        "method": row["method"] or None,
        "verified_at": row["verified_at"].isoformat() if row["verified_at"] else None,
        "primary": row["is_primary"],
        "token": row["token"],
        "certificate": {
            "fingerprint_sha256": row["cert_fingerprint"],
            "names": [n for n in (row["cert_names"] or "").split(",") if n],
            "issuer": row["cert_issuer"],
            "not_after": row["cert_not_after"].isoformat(),
        } if row["cert_fingerprint"] and row["cert_not_after"] else None,
    }


class KeyUnavailable(PortalisError):
    status = 409
    code = "certificate_key_unavailable"


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"portalis.domains.cert-key:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class DomainStore:
    def __init__(self, services: Any) -> None:
        self.s = services
        self.db = services.db

    def _e(self, value: Any) -> Any:
        return encode(value, self.db.dialect)

    def _changed(self) -> None:
        live(self.s).invalidate()

    async def bindings(self, website_id: int | None = None) -> list[dict[str, Any]]:
        if website_id is None:
            rows = await self.db.fetch(
                f'SELECT {COLUMNS} FROM "domains_binding" ORDER BY "website", "domain"')
        else:
            rows = await self.db.fetch(
                f'SELECT {COLUMNS} FROM "domains_binding" WHERE "website" = ? '
                'ORDER BY "domain"', website_id)
        return [_row(r) for r in rows]

    async def get(self, website_id: int, domain: str) -> dict[str, Any]:
        """The website's binding of ``domain``; NotFound names the domain."""
        name = normalize_domain(domain)
        row = await self.db.fetchrow(
            f'SELECT {COLUMNS} FROM "domains_binding" WHERE "domain" = ? AND "website" = ?',
            name, website_id)
        if row is None:
            raise NotFound(f"{name} is not bound to this website", code="unknown_domain")
        return _row(row)

    async def add(self, website_id: int, domain: str) -> dict[str, Any]:
        """Bind ``domain`` (unverified, with a fresh token). Conflict if already bound."""
        name = normalize_domain(domain)
        try:
            await self.db.execute(
                'INSERT INTO "domains_binding" ("website", "domain", "token", "verified", '
                '"method", "is_primary", "created", "cert_fingerprint", "cert_names", '
                '"cert_issuer", "cert_chain", "cert_key") '
                "VALUES (?, ?, ?, ?, '', ?, ?, '', '', '', '', '')",
                website_id, name, make_token(), self._e(False), self._e(False),
                self._e(utcnow()))
        except IntegrityError:
            raise Conflict(f"{name} is already bound to a website",
                           code="domain_taken") from None
        return await self.get(website_id, name)

    async def remove(self, website_id: int, domain: str) -> None:
        row = await self.get(website_id, domain)
        await self.db.execute('DELETE FROM "domains_binding" WHERE "id" = ?', row["id"])
        self._changed()

    async def record_verification(self, row: dict[str, Any], result: VerificationResult,
                                  now: dt.datetime) -> dict[str, Any]:
        """Store a passed verification (a failed one changes nothing: a live binding stays
        live through a DNS hiccup; remove it to take it down)."""
        if result.verified and result.method is not None:
            await self.db.execute(
                'UPDATE "domains_binding" SET "verified" = ?, "method" = ?, "verified_at" = ? '
                'WHERE "id" = ?', self._e(True), result.method.value, self._e(now), row["id"])
            self._changed()
        return await self.get(row["website"], row["domain"])

    async def set_primary(self, website_id: int, domain: str) -> dict[str, Any]:
        """Make a verified binding the website's primary (the others stop being primary)."""
        row = await self.get(website_id, domain)
        if not row["verified"]:
            raise Conflict(f"{row['domain']} is not verified yet; verify it first",
                           code="domain_not_verified")
        async with self.db.transaction() as conn:
            await conn.execute(
                'UPDATE "domains_binding" SET "is_primary" = ? WHERE "website" = ? '
                'AND "id" <> ?', self._e(False), website_id, row["id"])
            await conn.execute('UPDATE "domains_binding" SET "is_primary" = ? WHERE "id" = ?',
                               self._e(True), row["id"])
        self._changed()
        return await self.get(website_id, domain)

    async def clear_primary(self, website_id: int) -> None:
        await self.db.execute('UPDATE "domains_binding" SET "is_primary" = ? WHERE "website" = ?',
                              self._e(False), website_id)
        self._changed()

    async def set_certificate(self, row: dict[str, Any], info: CertificateInfo) -> dict[str, Any]:
        key = _fernet(self.s.config.secret_key).encrypt(info.key_pem).decode("ascii")
        await self.db.execute(
            'UPDATE "domains_binding" SET "cert_fingerprint" = ?, "cert_names" = ?, '
            '"cert_issuer" = ?, "cert_not_after" = ?, "cert_chain" = ?, "cert_key" = ? '
            'WHERE "id" = ?',
            info.fingerprint_sha256, ",".join(info.subject_names), info.issuer,
            self._e(info.not_after), info.chain_pem.decode("ascii"), key, row["id"])
        return await self.get(row["website"], row["domain"])

    async def certificate_files(self, binding_id: int) -> tuple[bytes, bytes] | None:
        """(chain PEM, key PEM) of a binding, or None without a certificate."""
        row = await self.db.fetchrow(
            'SELECT "domain", "cert_chain", "cert_key" FROM "domains_binding" WHERE "id" = ?',
            binding_id)
        if row is None or not row["cert_chain"]:
            return None
        try:
            key = _fernet(self.s.config.secret_key).decrypt(row["cert_key"].encode("ascii"))
        except InvalidToken:
            raise KeyUnavailable(
                f"the private key of {row['domain']} cannot be decrypted: this deployment's "
                "secret_key is not the one it was uploaded with (set PORTALIS_SECRET_KEY, or "
                "upload the certificate again)") from None
        return row["cert_chain"].encode("ascii"), key


@dataclass
class LiveDomains:
    """Verified bindings of every website, cached for ``ttl`` seconds."""

    ttl: float
    hosts: dict[str, int] = field(default_factory=dict)
    primary: dict[int, str] = field(default_factory=dict)
    checked: float = float("-inf")

    def invalidate(self) -> None:
        self.checked = float("-inf")

    async def refresh(self, db: Any) -> None:
        if time.monotonic() - self.checked < self.ttl:
            return
        rows = await db.fetch(
            'SELECT "domain", "website", "is_primary" FROM "domains_binding" '
            'WHERE "verified" = ?', encode(True, db.dialect))
        self.hosts = {r["domain"]: r["website"] for r in rows}
        self.primary = {r["website"]: r["domain"] for r in rows if r["is_primary"]}
        self.checked = time.monotonic()


def live(services: Any) -> LiveDomains:
    found = services.extra.get("domains")
    if found is None:
        found = services.extra["domains"] = LiveDomains(ttl=services.config.policy_ttl)
    return found  # type: ignore[no-any-return]
