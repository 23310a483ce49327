"""Site-file support: contacts may carry their external identities.

::

    contacts:
      - key: alice
        email: alice@contoso.example
        identities:
          - provider: entra          # an OpenIdConnect or Saml2 provider of the site
            subject: "00u1abcd"      # the provider's subject (OIDC sub / SAML NameID)

The issuer is the provider's configured issuer (OIDC ``Issuer``, SAML ``IdpEntityId``);
an entry may give ``issuer`` explicitly instead of ``provider`` for an identity of a
provider not configured yet. Applying is idempotent; an identity already linked to
ANOTHER contact, or a second identity of the same issuer for one contact, refuses the
whole file (:class:`InvalidInput` naming the entry), never re-links silently.

Call :func:`apply_identities` from the identity plugin's ``portalis_site_applied``.
"""

from __future__ import annotations

from typing import Any

from portalis.core import InvalidInput
from portalis.plugins.identity.external.providers import OIDC, SAML, provider_names
from portalis.plugins.identity.external.store import ExternalStore

__all__ = ["apply_identities"]


def _bad(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}", code="invalid_site_file", where=where)


async def apply_identities(website_id: int, data: dict[str, Any],
                           ids: dict[str, dict[str, int]], services: Any) -> None:
    contacts = data.get("contacts") or []
    if not any(isinstance(c, dict) and c.get("identities") for c in contacts):
        return
    site = await services.sites.load(website_id)
    oidc, saml = set(provider_names(site, OIDC)), set(provider_names(site, SAML))
    store = ExternalStore(services)
    for item in contacts:
        if not isinstance(item, dict) or not item.get("identities"):
            continue
        where = f"contacts[{item.get('key')}].identities"
        contact_id = ids.get("contact", {}).get(str(item.get("key", "")))
        if contact_id is None:
            raise _bad(where, "no such contact")
        entries = item["identities"]
        if not isinstance(entries, list):
            raise _bad(where, "must be a list of {provider, subject}")
        for n, entry in enumerate(entries):
            here = f"{where}[{n}]"
            if not isinstance(entry, dict) or set(entry) - {"provider", "issuer", "subject"}:
                raise _bad(here, "an identity has provider (or issuer) and subject")
            name, subject = str(entry.get("provider") or ""), entry.get("subject")
            if not isinstance(subject, str) or not subject:
                raise _bad(here, "subject must be non-empty text")
            if name in oidc:
                protocol = "oidc"
                issuer = site.setting(f"{OIDC}{name}/Issuer").strip()
            elif name in saml:
                protocol = "saml"
                issuer = site.setting(f"{SAML}{name}/IdpEntityId").strip()
            elif name:
                raise _bad(here, f"no external sign-in provider named {name!r}")
            else:
                protocol, issuer = "", ""
            issuer = str(entry.get("issuer") or issuer)
            if not issuer:
                raise _bad(here, "give a configured provider, or an issuer")
            linked = await store.linked_contact(website_id, issuer, subject)
            if linked == contact_id:
                continue
            if linked is not None:
                raise _bad(here, "this identity is linked to another contact")
            if await store.has_issuer(contact_id, issuer):
                raise _bad(here, "the contact already has an identity of this issuer")
            await store.link(website_id, contact_id, name, protocol, issuer, subject, "")
