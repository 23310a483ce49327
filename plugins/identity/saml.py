"""SAML 2.0 service provider for the identity plugin, independent of any web framework.

Three calls make a login (SP-initiated, HTTP-Redirect out, HTTP-POST back):

1. `sp_metadata(config)` — the SP's metadata XML, to hand to the IdP's administrator.
2. `begin_login(config, relay_state)` — `(redirect_url, request_id)`; redirect the
   browser there and keep `request_id` in that browser's session.
3. `await complete_login(config, form["SAMLResponse"], expected_request_id=...,
   remember_assertion=...)` on the ACS endpoint — a `SamlIdentity`, or `SamlError`.
   Pop `request_id` from the session first, so a login attempt is consumed once.

`complete_login` accepts a response only if all of these hold (each refusal has its own
`SamlErrorCode`): base64 + XML without DTD, root samlp:Response with Success status;
exactly one assertion (plain or encrypted, counted anywhere in the document) as a
direct child of the Response; the assertion signed by the configured IdP certificate
(and the Response too if `want_messages_signed`); every signature with exactly one
Reference to its own element, RSA/ECDSA with SHA-256/384/512, c14n transforms only;
Response and Assertion Issuer equal the IdP entity id; Response InResponseTo and a bearer
SubjectConfirmationData InResponseTo both equal `expected_request_id`; Destination and
Recipient equal `sp_acs_url` exactly; every AudienceRestriction names `sp_entity_id`
(and at least one exists); no unknown Condition; Conditions and SubjectConfirmationData
times hold at `now` within `clock_skew`; one AuthnStatement whose SessionNotOnOrAfter has
not passed; a non-empty NameID; no duplicate attribute names; then the toolkit's own
strict `is_valid()`; then `remember_assertion(assertion_id, retain_until)` returns True.
`remember_assertion` is called only for a response that passed everything else, so
forged documents cannot burn assertion ids.

python3-saml 1.16.0 quirks found while building this (why the checks above exist):

- Defaults are lax: `wantAssertionsSigned`, `wantMessagesSigned` and
  `rejectDeprecatedAlgorithm` are all False; `requestedAuthnContext` defaults to True,
  which asks for PasswordProtectedTransport with Comparison="exact" (IdPs then refuse
  MFA / Kerberos / smart-card users). Every security option is set here explicitly.
- InResponseTo is compared only when both the response and the caller supply one: an
  unsolicited (IdP-initiated) response passes `is_valid(request_id=...)`. The
  SubjectConfirmationData InResponseTo is compared only when the Response has one.
- Destination is optional and compared with `startswith` after lower-casing scheme and
  host (`.../acs` accepts `.../acs-evil`); Recipient is optional and compared with a
  substring test (`current_url in recipient`); AudienceRestriction is optional and all
  audiences of all restrictions are flattened into one list (SAML says restrictions AND).
- "The current URL" comes from the request dict (`http_host` etc., normally the Host
  header); here it is built from the configured ACS URL only.
- Signatures are verified last, after every other check, so a forged document gets
  refused for its first semantic fault, not as "invalid signature".
- `rejectDeprecatedAlgorithm` looks only at the first SignatureMethod/DigestMethod of
  each signature and only rejects the SHA-1 family; the Reference URI check inspects only
  the first Reference and is skipped for an empty URI (whole document; such a response
  then fails only by accident, its assertion lookup by reference id finding nothing).
  Hence the allow-list in `saml_checks.check_algorithms`.
- Attributes with a repeated Name are refused only because `allowRepeatAttributeName`
  is False; values are stripped, empty ones dropped, nested NameIDs returned as dicts.
- Time checks use the system clock (`OneLogin_Saml2_Utils.now()`, not injectable), allow
  300 s drift on Conditions but none on SubjectConfirmationData, drop fractional seconds,
  and accept timestamps without the trailing 'Z'. Portalis's own checks use `now` and
  `clock_skew`; the toolkit's still apply to the system clock, so `now` can make a response
  stricter (e.g. tests of expiry) but never rescue one the system clock says has expired.
- A bearer SubjectConfirmationData without NotOnOrAfter is accepted by the toolkit (the
  SAML profile requires one); a missing Conditions NotOnOrAfter is accepted by both.
- An empty key or certificate in the settings makes the toolkit read
  `<base>/certs/{sp.key,sp.crt,idp.crt}` from disk (base defaults to site-packages); the
  settings here point base at a folder that does not exist.
- `OneLogin_Saml2_Settings` mutates (setdefault) the dict it is given: build one per use.
- Encrypted assertions are decrypted in the `OneLogin_Saml2_Response` constructor,
  before any validation, and without an SP key that raises a plain `OneLogin_Saml2_Error`.
- Comments are removed by the toolkit's parser (lxml `remove_comments=True`), which
  merges the surrounding text: `<NameID>a@x.com<!---->.evil.com</NameID>` reads as
  `a@x.com.evil.com`, and exclusive c14n (without comments) still verifies. The NameID is
  never truncated at the comment (the 2018 CVE-2017-11427 family does not apply).
- `login(return_to=None)` puts "the current URL" in RelayState; `begin_login` always
  passes the caller's relay state. Metadata carries `validUntil` = now + 2 days.
- URLs on single-label hosts (`http://idp:8080/sso`) are refused as invalid unless
  `allowSingleLabelDomains` is set (it is, since the URLs are operator configuration).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from .saml_checks import (
    NS,
    AssertionTimes,
    check_algorithms,
    check_assertion,
    check_response_envelope,
    parse_saml_time,
    single_assertion,
)
from .saml_toolkit import request_data, toolkit_error, toolkit_settings
from .saml_types import (
    NAMEID_EMAIL,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED,
    SamlError,
    SamlErrorCode,
    SamlIdentity,
    SamlProviderConfig,
)

__all__ = [
    "MAX_RELAY_STATE_BYTES",
    "MAX_RESPONSE_BYTES",
    "NAMEID_EMAIL",
    "NAMEID_PERSISTENT",
    "NAMEID_TRANSIENT",
    "NAMEID_UNSPECIFIED",
    "RememberAssertion",
    "SamlError",
    "SamlErrorCode",
    "SamlIdentity",
    "SamlProviderConfig",
    "begin_login",
    "complete_login",
    "sp_metadata",
]

MAX_RESPONSE_BYTES = 256 * 1024
"""Longer SAMLResponse form values are refused as malformed before any parsing."""
MAX_RELAY_STATE_BYTES = 80
"""SAML bindings 3.4.3: RelayState MUST NOT exceed 80 bytes."""

RememberAssertion = Callable[[str, datetime], Awaitable[bool]]
"""`(assertion_id, retain_until) -> first_time_seen`. Must store the id atomically (a
unique key) and keep it at least until `retain_until`; return False if already stored."""


def sp_metadata(config: SamlProviderConfig) -> str:
    """The SP metadata XML (EntityDescriptor with one SPSSODescriptor), schema-validated.

    It advertises the ACS URL (HTTP-POST), the NameID format, WantAssertionsSigned="true",
    AuthnRequestsSigned when an SP key is configured, and the SP certificate if any.
    Raises `ValueError` if the toolkit finds the generated metadata invalid.
    """
    settings = toolkit_settings(config)
    metadata = settings.get_sp_metadata()
    text = metadata.decode() if isinstance(metadata, bytes) else metadata
    errors = settings.validate_metadata(text)
    if errors:
        raise ValueError(f"generated SP metadata is invalid: {errors}")
    return text


def begin_login(config: SamlProviderConfig, relay_state: str) -> tuple[str, str]:
    """Start an SP-initiated login: `(redirect_url, request_id)`.

    `redirect_url` is the IdP SSO URL with a deflated AuthnRequest (HTTP-Redirect
    binding), `relay_state`, and a RSA-SHA256 query signature when an SP key is configured.
    Store `request_id` in the browser's session and pass it to `complete_login`.
    `relay_state` comes back untouched with the response: make it an opaque token, not a
    URL to trust. Raises `ValueError` if it exceeds `MAX_RELAY_STATE_BYTES`.
    """
    if len(relay_state.encode()) > MAX_RELAY_STATE_BYTES:
        raise ValueError(f"relay_state exceeds {MAX_RELAY_STATE_BYTES} bytes")
    auth = OneLogin_Saml2_Auth(request_data(config), toolkit_settings(config))
    redirect_url = auth.login(return_to=relay_state)
    request_id = auth.get_last_request_id()
    if not isinstance(redirect_url, str) or not request_id:
        raise RuntimeError("the SAML toolkit did not produce an AuthnRequest")
    return redirect_url, request_id


async def complete_login(
    config: SamlProviderConfig,
    saml_response_b64: str,
    *,
    expected_request_id: str | None,
    remember_assertion: RememberAssertion,
    now: datetime | None = None,
) -> SamlIdentity:
    """Verify the SAMLResponse posted to the ACS URL and return who signed in.

    `expected_request_id` is the id `begin_login` returned for this browser; None means
    no login was started and the response is refused as unsolicited. `now` (aware)
    defaults to the current time. Raises `SamlError` for every refusal (see the module
    docstring for the full list of checks); `remember_assertion` is awaited at most once,
    and only once everything else has passed. Parsing, schema validation and signature
    checking run synchronously (about 5 ms of CPU) before the first await.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if expected_request_id is None:
        raise SamlError(SamlErrorCode.UNSOLICITED_RESPONSE, "no login was started here")
    identity, times = _verify(config, saml_response_b64, expected_request_id, now)
    if not await remember_assertion(times.assertion_id, times.retain_until):
        raise SamlError(SamlErrorCode.REPLAYED_ASSERTION, "assertion id seen before")
    return identity


def _decode(saml_response_b64: str) -> bytes:
    if len(saml_response_b64) > MAX_RESPONSE_BYTES:
        raise SamlError(SamlErrorCode.MALFORMED, "SAMLResponse too large")
    try:
        return base64.b64decode("".join(saml_response_b64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlError(SamlErrorCode.MALFORMED, "SAMLResponse is not base64") from exc


def _verify(
    config: SamlProviderConfig, saml_response_b64: str, request_id: str, now: datetime
) -> tuple[SamlIdentity, AssertionTimes]:
    raw = _decode(saml_response_b64)
    try:
        document = OneLogin_Saml2_XML.to_etree(raw)
    except (etree.XMLSyntaxError, ValueError) as exc:  # DTD/entities raise ValueError
        raise SamlError(SamlErrorCode.MALFORMED, f"not acceptable XML: {exc}") from exc
    check_response_envelope(config, document, request_id)

    settings = toolkit_settings(config)
    encrypted = bool(document.xpath("//saml:EncryptedAssertion", namespaces=NS))
    try:
        response = OneLogin_Saml2_Response(settings, saml_response_b64)
    except Exception as exc:  # the constructor decrypts; xmlsec raises its own errors
        if encrypted:
            raise SamlError(SamlErrorCode.UNDECRYPTABLE, f"cannot decrypt: {exc}") from exc
        raise toolkit_error(exc) from exc

    assertion = single_assertion(document, response.decrypted_document)
    if config.want_assertions_encrypted and not encrypted:
        raise SamlError(SamlErrorCode.ENCRYPTION_REQUIRED, "assertion is not encrypted")
    check_algorithms(document)
    if response.decrypted_document is not None:
        check_algorithms(response.decrypted_document)
    times = check_assertion(config, assertion, request_id, now)

    try:
        response.is_valid(
            request_data(config, saml_response_b64), request_id=request_id, raise_exceptions=True
        )
        name_id = response.get_nameid_data()
        raw_attributes = response.get_attributes()
    except Exception as exc:
        raise toolkit_error(exc) from exc
    return _identity(config, assertion, name_id, raw_attributes, times), times


def _attribute_values(values: list[object]) -> tuple[str, ...]:
    texts: list[str] = []
    for value in values:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):  # a NameID nested in an AttributeValue
            nested = value.get("NameID", {}).get("value")
            if isinstance(nested, str) and nested.strip():
                texts.append(nested.strip())
    return tuple(texts)


def _identity(
    config: SamlProviderConfig,
    assertion: etree._Element,
    name_id: dict[str, str],
    raw_attributes: dict[str, list[object]],
    times: AssertionTimes,
) -> SamlIdentity:
    subject = name_id.get("Value")
    if not subject:
        raise SamlError(SamlErrorCode.MISSING_NAME_ID, "empty NameID")
    name_id_format = name_id.get("Format")
    attributes = {name: _attribute_values(values) for name, values in raw_attributes.items()}

    def first(attribute: str | None) -> str | None:
        values = attributes.get(attribute, ()) if attribute else ()
        return values[0] if values else None

    email = first(config.email_attribute)
    if email is None and name_id_format == NAMEID_EMAIL:
        email = subject.strip()
    statement = assertion.find("saml:AuthnStatement", NS)
    session_end = session_index = None
    if statement is not None:
        session_end = parse_saml_time(statement.get("SessionNotOnOrAfter"), "session end")
        session_index = statement.get("SessionIndex")
    return SamlIdentity(
        issuer=config.idp_entity_id,
        subject=subject,
        name_id_format=name_id_format,
        email=email,
        email_verified=config.trust_email and email is not None,
        given_name=first(config.given_name_attribute),
        family_name=first(config.family_name_attribute),
        attributes=attributes,
        session_not_on_or_after=session_end,
        session_index=session_index,
        assertion_id=times.assertion_id,
    )
