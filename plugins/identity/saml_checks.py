"""The checks python3-saml leaves to the application, run on a parsed SAML Response.

Each function raises `SamlError` with a specific code or returns normally. They run
*before* the toolkit's own validation (which verifies signatures last of all), so a
refusal may be reported for an unsigned document; nothing here ever accepts on its own:
`portalis.plugins.identity.saml.complete_login` accepts only when these checks, the
toolkit's strict `is_valid()` and the replay check all pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from .saml_types import SamlError, SamlErrorCode, SamlProviderConfig

__all__ = [
    "AssertionTimes",
    "check_algorithms",
    "check_assertion",
    "check_response_envelope",
    "parse_saml_time",
    "single_assertion",
]

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS, "xenc": C.NS_XENC}
_SAML = f"{{{C.NS_SAML}}}"
_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"

_XMLDSIG_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
ALLOWED_SIGNATURE_METHODS = frozenset(
    {C.RSA_SHA256, C.RSA_SHA384, C.RSA_SHA512}
    | {_XMLDSIG_MORE + f"ecdsa-sha{n}" for n in (256, 384, 512)}
)
ALLOWED_DIGEST_METHODS = frozenset({C.SHA256, C.SHA384, C.SHA512})
_C14N = frozenset(
    {
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11",
    }
)
# XPath and XSLT transforms are how signature-wrapping and DoS payloads hide; only the
# enveloped-signature transform and canonicalizations are needed by SAML.
ALLOWED_TRANSFORMS = _C14N | {"http://www.w3.org/2000/09/xmldsig#enveloped-signature"}
_INCLUSIVE_NAMESPACES = "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"

_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$")


def parse_saml_time(value: str | None, what: str) -> datetime | None:
    """An aware UTC datetime from a SAML xs:dateTime, which must be in UTC with a 'Z'
    (SAML core 1.3.3); None stays None."""
    if value is None:
        return None
    match = _TIME.match(value)
    if match is None:
        raise SamlError(SamlErrorCode.MALFORMED, f"{what} is not a UTC SAML time")
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SamlError(SamlErrorCode.MALFORMED, f"{what} is not a valid time") from exc
    fraction = match.group(2)
    if fraction:
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    return moment


def _text(element: etree._Element | None) -> str | None:
    return None if element is None else element.text


def check_response_envelope(
    config: SamlProviderConfig, response: etree._Element, expected_request_id: str | None
) -> None:
    """Root, status, issuer, InResponseTo and Destination of the Response element."""
    if response.tag != f"{{{C.NS_SAMLP}}}Response":
        raise SamlError(SamlErrorCode.MALFORMED, "root element is not samlp:Response")
    codes = response.xpath("samlp:Status/samlp:StatusCode/@Value", namespaces=NS)
    if codes != [_SUCCESS]:
        raise SamlError(SamlErrorCode.STATUS_NOT_SUCCESS, f"status {codes!r}")
    issuers = response.xpath("saml:Issuer", namespaces=NS)
    if len(issuers) > 1 or (issuers and issuers[0].text != config.idp_entity_id):
        raise SamlError(SamlErrorCode.WRONG_ISSUER, "Response Issuer is not the IdP")
    in_response_to = response.get("InResponseTo")
    if expected_request_id is None:
        raise SamlError(SamlErrorCode.UNSOLICITED_RESPONSE, "no login was started here")
    if in_response_to is None:
        raise SamlError(SamlErrorCode.UNSOLICITED_RESPONSE, "Response has no InResponseTo")
    if in_response_to != expected_request_id:
        raise SamlError(SamlErrorCode.IN_RESPONSE_TO_MISMATCH, "InResponseTo is another request")
    if response.get("Destination") != config.sp_acs_url:
        raise SamlError(SamlErrorCode.WRONG_DESTINATION, "Destination is not the ACS URL")


def single_assertion(document: etree._Element, decrypted: etree._Element | None) -> etree._Element:
    """The one assertion, a direct child of the Response; anything else is refused."""
    assertions = document.xpath("//saml:Assertion", namespaces=NS)
    encrypted = document.xpath("//saml:EncryptedAssertion", namespaces=NS)
    if len(assertions) + len(encrypted) != 1:
        raise SamlError(
            SamlErrorCode.WRONG_ASSERTION_COUNT,
            f"{len(assertions)} assertions and {len(encrypted)} encrypted assertions",
        )
    if encrypted:
        if decrypted is None:
            raise SamlError(SamlErrorCode.UNDECRYPTABLE, "encrypted assertion not decrypted")
        assertions = decrypted.xpath("//saml:Assertion", namespaces=NS)
        if len(assertions) != 1 or decrypted.xpath("//saml:EncryptedAssertion", namespaces=NS):
            raise SamlError(SamlErrorCode.WRONG_ASSERTION_COUNT, "encrypted assertion mismatch")
    assertion = assertions[0]
    if assertion.getparent() is None or assertion.getparent().getparent() is not None:
        raise SamlError(SamlErrorCode.WRONG_ASSERTION_COUNT, "assertion is not in the Response")
    return assertion


def check_algorithms(document: etree._Element) -> None:
    """Every signature: one Reference to its own parent's ID, allow-listed algorithms."""
    for signature in document.xpath("//ds:Signature", namespaces=NS):
        signed_info = signature.find("ds:SignedInfo", NS)
        if signed_info is None:
            raise SamlError(SamlErrorCode.MALFORMED, "Signature without SignedInfo")
        c14n = signed_info.xpath("ds:CanonicalizationMethod/@Algorithm", namespaces=NS)
        if len(c14n) != 1 or c14n[0] not in _C14N:
            raise SamlError(SamlErrorCode.UNSUPPORTED_TRANSFORM, f"canonicalization {c14n!r}")
        methods = signed_info.xpath("ds:SignatureMethod/@Algorithm", namespaces=NS)
        if len(methods) != 1 or methods[0] not in ALLOWED_SIGNATURE_METHODS:
            raise SamlError(SamlErrorCode.WEAK_ALGORITHM, f"signature method {methods!r}")
        references = signed_info.findall("ds:Reference", NS)
        parent_id = signature.getparent().get("ID") if signature.getparent() is not None else None
        if len(references) != 1 or not parent_id or references[0].get("URI") != f"#{parent_id}":
            raise SamlError(
                SamlErrorCode.BAD_SIGNATURE_REFERENCE,
                "a signature must have one Reference to the ID of the element holding it",
            )
        reference = references[0]
        digests = reference.xpath("ds:DigestMethod/@Algorithm", namespaces=NS)
        if len(digests) != 1 or digests[0] not in ALLOWED_DIGEST_METHODS:
            raise SamlError(SamlErrorCode.WEAK_ALGORITHM, f"digest method {digests!r}")
        for transform in reference.xpath("ds:Transforms/ds:Transform", namespaces=NS):
            # exc-c14n may carry an InclusiveNamespaces child; nothing else may have one.
            odd_children = [c for c in transform if c.tag != _INCLUSIVE_NAMESPACES]
            if transform.get("Algorithm") not in ALLOWED_TRANSFORMS or odd_children:
                raise SamlError(
                    SamlErrorCode.UNSUPPORTED_TRANSFORM, f"transform {transform.get('Algorithm')!r}"
                )


@dataclass(frozen=True, slots=True)
class AssertionTimes:
    """What the replay cache needs from a checked assertion."""

    assertion_id: str
    retain_until: datetime
    """After this instant `complete_login` would refuse the assertion as expired anyway."""


def _check_conditions(
    config: SamlProviderConfig, assertion: etree._Element, now: datetime
) -> datetime | None:
    conditions = assertion.findall(_SAML + "Conditions")
    if len(conditions) != 1:
        raise SamlError(SamlErrorCode.MISSING_CONDITIONS, f"{len(conditions)} Conditions")
    condition = conditions[0]
    skew = config.clock_skew
    not_before = parse_saml_time(condition.get("NotBefore"), "Conditions NotBefore")
    not_on_or_after = parse_saml_time(condition.get("NotOnOrAfter"), "Conditions NotOnOrAfter")
    if not_before is not None and not_before > now + skew:
        raise SamlError(SamlErrorCode.NOT_YET_VALID, "Conditions NotBefore is in the future")
    if not_on_or_after is not None and not_on_or_after <= now - skew:
        raise SamlError(SamlErrorCode.EXPIRED, "Conditions NotOnOrAfter has passed")
    restrictions = 0
    for child in condition:
        if child.tag == _SAML + "AudienceRestriction":
            restrictions += 1
            audiences = [_text(a) for a in child.findall(_SAML + "Audience")]
            # Restrictions AND together, audiences inside one OR (SAML core 2.5.1.4).
            if config.sp_entity_id not in audiences:
                raise SamlError(SamlErrorCode.WRONG_AUDIENCE, "SP is not among the audiences")
        elif child.tag not in (_SAML + "OneTimeUse", _SAML + "ProxyRestriction"):
            raise SamlError(SamlErrorCode.UNSUPPORTED_CONDITION, f"condition {child.tag}")
    if restrictions == 0:
        raise SamlError(SamlErrorCode.WRONG_AUDIENCE, "no AudienceRestriction")
    return not_on_or_after


def _bearer_confirmation(
    config: SamlProviderConfig, assertion: etree._Element, request_id: str, now: datetime
) -> datetime:
    """NotOnOrAfter of the first bearer SubjectConfirmationData that passes every check."""
    skew = config.clock_skew
    first_error: SamlError | None = None
    path = "saml:Subject/saml:SubjectConfirmation[@Method=$m]/saml:SubjectConfirmationData"
    for data in assertion.xpath(path, namespaces=NS, m=_BEARER):
        try:
            if data.get("Recipient") != config.sp_acs_url:
                raise SamlError(SamlErrorCode.WRONG_RECIPIENT, "Recipient is not the ACS URL")
            irt = data.get("InResponseTo")
            if irt is None:
                # The Response-level InResponseTo is outside an assertion-only signature;
                # this one is what binds the signed assertion to the request we sent.
                raise SamlError(
                    SamlErrorCode.UNSOLICITED_RESPONSE, "confirmation lacks InResponseTo"
                )
            if irt != request_id:
                raise SamlError(SamlErrorCode.IN_RESPONSE_TO_MISMATCH, "confirmation InResponseTo")
            not_on_or_after = parse_saml_time(data.get("NotOnOrAfter"), "confirmation NotOnOrAfter")
            if not_on_or_after is None:
                raise SamlError(
                    SamlErrorCode.NO_SUBJECT_CONFIRMATION, "bearer without NotOnOrAfter"
                )
            if not_on_or_after <= now - skew:
                raise SamlError(SamlErrorCode.EXPIRED, "confirmation NotOnOrAfter has passed")
            not_before = parse_saml_time(data.get("NotBefore"), "confirmation NotBefore")
            if not_before is not None and not_before > now + skew:
                raise SamlError(SamlErrorCode.NOT_YET_VALID, "confirmation NotBefore in future")
        except SamlError as exc:
            first_error = first_error or exc
            continue
        return not_on_or_after
    raise first_error or SamlError(SamlErrorCode.NO_SUBJECT_CONFIRMATION, "no bearer confirmation")


def check_assertion(
    config: SamlProviderConfig,
    assertion: etree._Element,
    request_id: str,
    now: datetime,
) -> AssertionTimes:
    """Issuer, times, audience, subject confirmation and statements of the one assertion."""
    assertion_id = assertion.get("ID")
    if not assertion_id:
        raise SamlError(SamlErrorCode.MALFORMED, "assertion has no ID")
    issuers = assertion.findall(_SAML + "Issuer")
    if len(issuers) != 1 or issuers[0].text != config.idp_entity_id:
        raise SamlError(SamlErrorCode.WRONG_ISSUER, "Assertion Issuer is not the IdP")
    issued = parse_saml_time(assertion.get("IssueInstant"), "Assertion IssueInstant")
    if issued is None or issued > now + config.clock_skew:
        raise SamlError(SamlErrorCode.NOT_YET_VALID, "Assertion IssueInstant in the future")
    conditions_end = _check_conditions(config, assertion, now)
    confirmation_end = _bearer_confirmation(config, assertion, request_id, now)
    statements = assertion.findall(_SAML + "AuthnStatement")
    if len(statements) != 1:
        raise SamlError(SamlErrorCode.MISSING_AUTHN_STATEMENT, f"{len(statements)} statements")
    session_end = parse_saml_time(
        statements[0].get("SessionNotOnOrAfter"), "AuthnStatement SessionNotOnOrAfter"
    )
    if session_end is not None and session_end <= now:
        raise SamlError(SamlErrorCode.SESSION_EXPIRED, "SessionNotOnOrAfter has passed")
    ends = [confirmation_end] + ([conditions_end] if conditions_end is not None else [])
    return AssertionTimes(assertion_id, min(ends) + config.clock_skew)
