"""External identity providers of a website, read from its site settings.

OpenID Connect, one group per provider ``<name>`` (letters, digits, ``-``, ``_``)::

    Authentication/OpenIdConnect/<name>/Issuer         exact issuer identifier (required)
    Authentication/OpenIdConnect/<name>/ClientId       (required)
    Authentication/OpenIdConnect/<name>/ClientSecret   (empty: public client)
    Authentication/OpenIdConnect/<name>/Scopes         "openid email profile" (spaces or commas)
    Authentication/OpenIdConnect/<name>/RedirectUri    default
                                  https://<primary host>/_auth/external/<name>/callback
    Authentication/OpenIdConnect/<name>/AllowedAlgorithms  default "RS256 ES256 PS256"

SAML 2.0::

    Authentication/Saml2/<name>/IdpEntityId            (required)
    Authentication/Saml2/<name>/IdpSsoUrl              HTTP-Redirect SSO URL (required)
    Authentication/Saml2/<name>/IdpCertificate         PEM signing certificate (required)
    Authentication/Saml2/<name>/ServiceProviderRealm   SP entity id, default the metadata URL
    Authentication/Saml2/<name>/AssertionConsumerServiceUrl  default
                                  https://<primary host>/_auth/saml/<name>/acs
    Authentication/Saml2/<name>/SpPrivateKey, SpCertificate  optional PEM pair
    Authentication/Saml2/<name>/WantMessagesSigned, WantAssertionsEncrypted  false
    Authentication/Saml2/<name>/NameIdFormat           default persistent
    Authentication/Saml2/<name>/EmailAttribute, GivenNameAttribute, FamilyNameAttribute

Both kinds also read ``Caption``, ``TrustEmail`` (false: the provider's email is never
used to link to an existing contact), ``RegistrationEnabled`` (true: a first sign-in may
create a contact while the site's registration is open), ``ClaimsMapping`` (portal
attribute = claim or attribute name; default ``firstname=given_name,lastname=family_name``
for OIDC, the given/family name attributes for SAML) and
``RegistrationClaimsMappingOnLogin`` (false: the mapping is applied at registration only;
true: at every sign-in too). URLs are configured or built from the site's primary host,
never from a request's Host header.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from portalis.core import NotFound, PortalisError
from portalis.plugins.identity.mailtext import base_url
from portalis.plugins.identity.oidc import (
    DEFAULT_ALLOWED_ALGS,
    DEFAULT_CLAIMS_MAPPING,
    OidcProviderConfig,
    parse_claims_mapping,
)
from portalis.plugins.identity.saml import NAMEID_PERSISTENT, SamlProviderConfig

__all__ = ["MAPPABLE", "OIDC", "SAML", "ExternalProvider", "Misconfigured", "provider",
           "provider_names"]

OIDC = "Authentication/OpenIdConnect/"
SAML = "Authentication/Saml2/"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,50}$")

#: Contact columns a claims mapping may fill, with their lengths (never email, state,
#: account or roles: those are not the provider's to decide).
MAPPABLE = {"firstname": 100, "lastname": 100, "phone": 50}


class Misconfigured(PortalisError):
    status = 503
    code = "provider_misconfigured"


@dataclass(frozen=True)
class ExternalProvider:
    """One configured provider of one website."""

    name: str
    protocol: str  # oidc | saml
    caption: str
    issuer: str
    trust_email: bool
    registration_enabled: bool
    mapping_on_login: bool
    #: SAML only: portal attribute -> SAML attribute name (OIDC maps in ``oidc``).
    attribute_mapping: dict[str, str] = field(default_factory=dict)
    oidc: OidcProviderConfig | None = None
    saml: SamlProviderConfig | None = None


def provider_names(site: Any, prefix: str) -> list[str]:
    """Names of the providers configured under ``prefix`` (sorted)."""
    names = set()
    for key in site.settings:
        if key.startswith(prefix):
            name = key[len(prefix):].split("/", 1)[0]
            if NAME.match(name):
                names.add(name)
    return sorted(names)


def _saml_default(name: str) -> Any:
    return next(f.default for f in dataclasses.fields(SamlProviderConfig) if f.name == name)


def _flag(site: Any, key: str, default: bool) -> bool:
    return bool(site.flag(key, default))


def _mapping(site: Any, key: str, default: str) -> dict[str, str]:
    spec = site.setting(key, default)
    mapping = parse_claims_mapping(spec)
    unknown = sorted(set(mapping) - set(MAPPABLE))
    if unknown:
        raise ValueError(f"ClaimsMapping may fill only {', '.join(MAPPABLE)} "
                         f"(not {', '.join(unknown)})")
    return mapping


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[\s,]+", text) if w)


def provider(site: Any, protocol: str, name: str) -> ExternalProvider:
    """The provider ``name`` of ``protocol`` (``oidc`` or ``saml``) on ``site``.

    :class:`NotFound` when it is not configured; :class:`Misconfigured` (503) when its
    settings do not make a usable configuration (the reason is in the message, for the
    operator; no secret is quoted).
    """
    prefix = OIDC if protocol == "oidc" else SAML
    if not NAME.match(name) or name not in provider_names(site, prefix):
        raise NotFound(f"no external sign-in provider named {name!r} on this portal",
                       code="unknown_provider")
    base = f"{prefix}{name}/"

    def get(key: str, default: str = "") -> str:
        return site.setting(base + key, default).strip()

    common = {
        "name": name,
        "protocol": protocol,
        "caption": get("Caption") or name,
        "trust_email": _flag(site, base + "TrustEmail", False),
        "registration_enabled": _flag(site, base + "RegistrationEnabled", True),
        "mapping_on_login": _flag(site, base + "RegistrationClaimsMappingOnLogin", False),
    }
    try:
        if protocol == "oidc":
            config = OidcProviderConfig(
                name=name,
                issuer=get("Issuer"),
                client_id=get("ClientId"),
                client_secret=get("ClientSecret") or None,
                redirect_uri=get("RedirectUri")
                or f"{base_url(site)}/_auth/external/{name}/callback",
                scopes=_words(get("Scopes", "openid email profile")),
                claims_mapping=_mapping(site, base + "ClaimsMapping", DEFAULT_CLAIMS_MAPPING),
                trust_email=common["trust_email"],
                allowed_algs=_words(get("AllowedAlgorithms")) or DEFAULT_ALLOWED_ALGS,
            )
            return ExternalProvider(issuer=config.issuer, oidc=config, **common)
        saml = SamlProviderConfig(
            idp_entity_id=get("IdpEntityId"),
            idp_sso_url=get("IdpSsoUrl"),
            idp_x509_cert=get("IdpCertificate"),
            sp_entity_id=get("ServiceProviderRealm")
            or f"{base_url(site)}/_auth/saml/{name}/metadata",
            sp_acs_url=get("AssertionConsumerServiceUrl")
            or f"{base_url(site)}/_auth/saml/{name}/acs",
            sp_private_key=get("SpPrivateKey") or None,
            sp_x509_cert=get("SpCertificate") or None,
            want_messages_signed=_flag(site, base + "WantMessagesSigned", False),
            want_assertions_encrypted=_flag(site, base + "WantAssertionsEncrypted", False),
            name_id_format=get("NameIdFormat") or NAMEID_PERSISTENT,
            email_attribute=get("EmailAttribute") or _saml_default('email_attribute'),
            given_name_attribute=get("GivenNameAttribute")
            or _saml_default('given_name_attribute'),
            family_name_attribute=get("FamilyNameAttribute")
            or _saml_default('family_name_attribute'),
            trust_email=common["trust_email"],
        )
        mapping = _mapping(site, base + "ClaimsMapping", "")
        return ExternalProvider(issuer=saml.idp_entity_id, saml=saml, attribute_mapping=mapping,
                                **common)
    except ValueError as exc:
        raise Misconfigured(f"external sign-in provider {name!r} is not configured correctly: "
                            f"{exc}", provider=name) from None
