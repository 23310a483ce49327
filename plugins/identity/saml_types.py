"""The vocabulary of the SAML service provider: its configuration, its result, its refusals.

Everything here is plain data. `SamlProviderConfig` validates itself when built, so a
config that exists is one the SAML functions in `portalis.plugins.identity.saml` can use;
`SamlIdentity` is only ever built from a response that passed every check; `SamlError`
is the only exception those functions raise for a refused response, and its `code` is
one of `SamlErrorCode` (stable strings, safe to log and to show in an admin view, never
containing attacker-chosen text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

__all__ = [
    "NAMEID_EMAIL",
    "NAMEID_PERSISTENT",
    "NAMEID_TRANSIENT",
    "NAMEID_UNSPECIFIED",
    "SamlError",
    "SamlErrorCode",
    "SamlIdentity",
    "SamlProviderConfig",
]

NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_MAX_CLOCK_SKEW = timedelta(minutes=10)


class SamlErrorCode(StrEnum):
    """Why a SAML response was refused. Values are stable and may be stored or matched on."""

    MALFORMED = "malformed"
    """Not base64, not XML, too large, has a DTD, fails the SAML schema, or bad timestamps."""
    STATUS_NOT_SUCCESS = "status_not_success"
    """The IdP answered with a non-Success status (user cancelled, denied, ...)."""
    WRONG_ASSERTION_COUNT = "wrong_assertion_count"
    """Not exactly one assertion, encrypted or not, anywhere in the document."""
    ENCRYPTION_REQUIRED = "encryption_required"
    """The config wants encrypted assertions and this one is plain."""
    UNDECRYPTABLE = "undecryptable"
    """An encrypted assertion or NameID that this SP has no key for, or cannot decrypt."""
    UNSIGNED_ASSERTION = "unsigned_assertion"
    """The assertion carries no signature (a signed Response alone is not enough)."""
    UNSIGNED_MESSAGE = "unsigned_message"
    """The config wants the Response itself signed and it is not."""
    BAD_SIGNATURE_REFERENCE = "bad_signature_reference"
    """A signature's Reference does not point at the element that holds it."""
    UNEXPECTED_SIGNATURE = "unexpected_signature"
    """A signature on some other element, or more signatures than one per element."""
    INVALID_SIGNATURE = "invalid_signature"
    """The signature does not verify with the configured IdP certificate."""
    WEAK_ALGORITHM = "weak_algorithm"
    """A signature or digest algorithm other than SHA-256/384/512 (SHA-1 included)."""
    UNSUPPORTED_TRANSFORM = "unsupported_transform"
    """A canonicalization or transform outside the exclusive/inclusive c14n allow-list."""
    UNSOLICITED_RESPONSE = "unsolicited_response"
    """No InResponseTo, or no login was started (`expected_request_id=None`)."""
    IN_RESPONSE_TO_MISMATCH = "in_response_to_mismatch"
    """InResponseTo names another request than the one this browser started."""
    WRONG_DESTINATION = "wrong_destination"
    """Response Destination missing or not exactly the configured ACS URL."""
    WRONG_RECIPIENT = "wrong_recipient"
    """SubjectConfirmationData Recipient missing or not exactly the configured ACS URL."""
    WRONG_AUDIENCE = "wrong_audience"
    """No AudienceRestriction, or one that does not name this SP's entity id."""
    WRONG_ISSUER = "wrong_issuer"
    """Response or Assertion Issuer is not the configured IdP entity id."""
    NOT_YET_VALID = "not_yet_valid"
    """A NotBefore (Conditions or SubjectConfirmationData) or IssueInstant in the future."""
    EXPIRED = "expired"
    """A NotOnOrAfter (Conditions or SubjectConfirmationData) in the past."""
    SESSION_EXPIRED = "session_expired"
    """The AuthnStatement's SessionNotOnOrAfter is in the past."""
    NO_SUBJECT_CONFIRMATION = "no_subject_confirmation"
    """No bearer SubjectConfirmation with SubjectConfirmationData."""
    UNSUPPORTED_CONDITION = "unsupported_condition"
    """A Conditions child this SP does not understand (SAML core 2.5.1.1: refuse)."""
    MISSING_CONDITIONS = "missing_conditions"
    """The assertion has no (or several) Conditions elements."""
    MISSING_AUTHN_STATEMENT = "missing_authn_statement"
    """The assertion has no (or several) AuthnStatement elements."""
    MISSING_NAME_ID = "missing_name_id"
    """No NameID, or an empty one."""
    DUPLICATE_ATTRIBUTE = "duplicate_attribute"
    """Two Attribute elements with the same Name."""
    ENCRYPTED_ATTRIBUTE = "encrypted_attribute"
    """An EncryptedAttribute; not supported."""
    REPLAYED_ASSERTION = "replayed_assertion"
    """This assertion id was accepted before (`remember_assertion` returned False)."""
    INVALID_RESPONSE = "invalid_response"
    """Refused by the toolkit for a reason with no more specific code here."""


class SamlError(Exception):
    """A refused SAML response. `code` is a `SamlErrorCode`; `message` is for logs only
    (it may quote values from the untrusted document)."""

    def __init__(self, code: SamlErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


def _require_url(name: str, value: str, *, allow_query: bool) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL, got {value!r}")
    if parts.fragment or (parts.query and not allow_query):
        raise ValueError(f"{name} must not carry a {'fragment' if parts.fragment else 'query'}")


@dataclass(frozen=True, slots=True)
class SamlProviderConfig:
    """One trusted SAML identity provider, as this portal (the SP) sees it.

    Building one validates it (`ValueError` otherwise): URLs are absolute http(s), the
    certificates and key parse, and the SP key and certificate come together or not at all.
    """

    idp_entity_id: str
    """The IdP's entity id; Response and Assertion Issuer must equal it exactly."""
    idp_sso_url: str
    """The IdP's SingleSignOnService URL for the HTTP-Redirect binding."""
    idp_x509_cert: str
    """The IdP's signing certificate, PEM. Only signatures by its key are accepted."""
    sp_entity_id: str
    """This portal's entity id; every AudienceRestriction must name it."""
    sp_acs_url: str
    """The absolute AssertionConsumerService URL, configured, never taken from a request's
    Host header. Destination and Recipient must equal it exactly (no query, no fragment)."""
    sp_private_key: str | None = None
    """PEM private key. When set, AuthnRequests are signed (RSA-SHA256) and encrypted
    assertions addressed to `sp_x509_cert` can be decrypted."""
    sp_x509_cert: str | None = None
    """PEM certificate matching `sp_private_key`, published in the SP metadata."""
    want_messages_signed: bool = False
    """Also require a signature on the Response element (the assertion is always required
    to be signed)."""
    want_assertions_encrypted: bool = False
    """Refuse plain assertions; needs `sp_private_key`."""
    name_id_format: str = NAMEID_UNSPECIFIED
    """NameIDPolicy Format requested in the AuthnRequest and listed in the metadata."""
    email_attribute: str | None = _CLAIMS + "emailaddress"
    """Attribute Name carrying the email; None to ignore. Falls back to an emailAddress
    NameID."""
    given_name_attribute: str | None = _CLAIMS + "givenname"
    """Attribute Name carrying the given (first) name; None to ignore."""
    family_name_attribute: str | None = _CLAIMS + "surname"
    """Attribute Name carrying the family (last) name; None to ignore."""
    trust_email: bool = False
    """The IdP verifies email addresses, so `SamlIdentity.email_verified` may be True and
    the identity plugin may link this identity to an existing contact by email."""
    clock_skew: timedelta = field(default=timedelta(minutes=2))
    """Tolerance for the IdP's clock in Portalis's own time checks (0 to 10 minutes)."""

    def __post_init__(self) -> None:
        for name in ("idp_entity_id", "sp_entity_id"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name} must not be empty")
        _require_url("idp_sso_url", self.idp_sso_url, allow_query=True)
        _require_url("sp_acs_url", self.sp_acs_url, allow_query=False)
        try:
            x509.load_pem_x509_certificate(self.idp_x509_cert.encode())
        except ValueError as exc:
            raise ValueError("idp_x509_cert is not a PEM certificate") from exc
        if (self.sp_private_key is None) != (self.sp_x509_cert is None):
            raise ValueError("sp_private_key and sp_x509_cert go together")
        if self.sp_private_key is not None and self.sp_x509_cert is not None:
            try:
                load_pem_private_key(self.sp_private_key.encode(), password=None)
                x509.load_pem_x509_certificate(self.sp_x509_cert.encode())
            except (ValueError, TypeError) as exc:
                raise ValueError("sp_private_key / sp_x509_cert do not parse as PEM") from exc
        if self.want_assertions_encrypted and self.sp_private_key is None:
            raise ValueError("want_assertions_encrypted needs sp_private_key")
        if not timedelta(0) <= self.clock_skew <= _MAX_CLOCK_SKEW:
            raise ValueError("clock_skew must be between 0 and 10 minutes")


@dataclass(frozen=True, slots=True)
class SamlIdentity:
    """A person the configured IdP vouched for, from one verified, unreplayed assertion.

    `(issuer, subject)` is the stable external identity key only for persistent (or
    stable unspecified/email) NameID formats; a transient NameID changes every login.
    """

    issuer: str
    """The IdP entity id (equal to `SamlProviderConfig.idp_entity_id`)."""
    subject: str
    """The NameID value, full text (comments inside it are dropped, never truncate it)."""
    name_id_format: str | None
    """The NameID Format attribute, if the IdP sent one."""
    email: str | None
    """From `email_attribute` (first value), else an emailAddress-format NameID."""
    email_verified: bool
    """True only when `trust_email` is set and an email is present."""
    given_name: str | None
    family_name: str | None
    attributes: dict[str, tuple[str, ...]]
    """Every attribute by Name, values stripped, empty values dropped."""
    session_not_on_or_after: datetime | None
    """AuthnStatement SessionNotOnOrAfter (UTC, aware): end the local session by then."""
    session_index: str | None
    """AuthnStatement SessionIndex, for a later single logout."""
    assertion_id: str
    """The assertion's ID, as passed to `remember_assertion`."""
