"""How a `SamlProviderConfig` is put to python3-saml (`onelogin.saml2`), and back.

Callers may rely on: every settings object is built fresh from the config with
`strict=True` and every `security` option spelled out (no toolkit default is trusted);
the request-like dict handed to the toolkit is derived from the configured ACS URL only;
toolkit refusals come back as `SamlError` with a `SamlErrorCode`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from .saml_types import SamlError, SamlErrorCode, SamlProviderConfig

__all__ = ["request_data", "toolkit_error", "toolkit_settings"]

# The toolkit falls back to reading `<base>/certs/{sp.key,sp.crt,idp.crt}` when a key or
# cert is empty, with <base> defaulting to site-packages. Point it at a folder that does
# not exist so that nothing on disk can ever stand in for the configured material.
_NO_FILES_BASE = str(Path(__file__).parent / "_saml_no_toolkit_files_")

V = OneLogin_Saml2_ValidationError
_VALIDATION_CODES: dict[int, SamlErrorCode] = {
    V.UNSUPPORTED_SAML_VERSION: SamlErrorCode.MALFORMED,
    V.MISSING_ID: SamlErrorCode.MALFORMED,
    V.INVALID_XML_FORMAT: SamlErrorCode.MALFORMED,
    V.MISSING_STATUS: SamlErrorCode.MALFORMED,
    V.MISSING_STATUS_CODE: SamlErrorCode.MALFORMED,
    V.STATUS_CODE_IS_NOT_SUCCESS: SamlErrorCode.STATUS_NOT_SUCCESS,
    V.WRONG_NUMBER_OF_ASSERTIONS: SamlErrorCode.WRONG_ASSERTION_COUNT,
    V.WRONG_SIGNED_ELEMENT: SamlErrorCode.UNEXPECTED_SIGNATURE,
    V.UNEXPECTED_SIGNED_ELEMENTS: SamlErrorCode.UNEXPECTED_SIGNATURE,
    V.WRONG_NUMBER_OF_SIGNATURES_IN_RESPONSE: SamlErrorCode.UNEXPECTED_SIGNATURE,
    V.WRONG_NUMBER_OF_SIGNATURES_IN_ASSERTION: SamlErrorCode.UNEXPECTED_SIGNATURE,
    V.WRONG_NUMBER_OF_SIGNATURES: SamlErrorCode.UNEXPECTED_SIGNATURE,
    V.ID_NOT_FOUND_IN_SIGNED_ELEMENT: SamlErrorCode.BAD_SIGNATURE_REFERENCE,
    V.DUPLICATED_ID_IN_SIGNED_ELEMENTS: SamlErrorCode.BAD_SIGNATURE_REFERENCE,
    V.INVALID_SIGNED_ELEMENT: SamlErrorCode.BAD_SIGNATURE_REFERENCE,
    V.DUPLICATED_REFERENCE_IN_SIGNED_ELEMENTS: SamlErrorCode.BAD_SIGNATURE_REFERENCE,
    V.INVALID_SIGNATURE: SamlErrorCode.INVALID_SIGNATURE,
    V.DEPRECATED_SIGNATURE_METHOD: SamlErrorCode.WEAK_ALGORITHM,
    V.DEPRECATED_DIGEST_METHOD: SamlErrorCode.WEAK_ALGORITHM,
    V.NO_SIGNED_ASSERTION: SamlErrorCode.UNSIGNED_ASSERTION,
    V.NO_SIGNATURE_FOUND: SamlErrorCode.UNSIGNED_ASSERTION,
    V.NO_SIGNED_MESSAGE: SamlErrorCode.UNSIGNED_MESSAGE,
    V.WRONG_INRESPONSETO: SamlErrorCode.IN_RESPONSE_TO_MISMATCH,
    V.NO_ENCRYPTED_ASSERTION: SamlErrorCode.ENCRYPTION_REQUIRED,
    V.NO_ENCRYPTED_NAMEID: SamlErrorCode.ENCRYPTION_REQUIRED,
    V.KEYINFO_NOT_FOUND_IN_ENCRYPTED_DATA: SamlErrorCode.UNDECRYPTABLE,
    V.CHILDREN_NODE_NOT_FOUND_IN_KEYINFO: SamlErrorCode.UNDECRYPTABLE,
    V.UNSUPPORTED_RETRIEVAL_METHOD: SamlErrorCode.UNDECRYPTABLE,
    V.MISSING_CONDITIONS: SamlErrorCode.MISSING_CONDITIONS,
    V.ASSERTION_TOO_EARLY: SamlErrorCode.NOT_YET_VALID,
    V.ASSERTION_EXPIRED: SamlErrorCode.EXPIRED,
    V.RESPONSE_EXPIRED: SamlErrorCode.EXPIRED,
    V.SESSION_EXPIRED: SamlErrorCode.SESSION_EXPIRED,
    V.WRONG_NUMBER_OF_AUTHSTATEMENTS: SamlErrorCode.MISSING_AUTHN_STATEMENT,
    V.ENCRYPTED_ATTRIBUTES: SamlErrorCode.ENCRYPTED_ATTRIBUTE,
    V.WRONG_DESTINATION: SamlErrorCode.WRONG_DESTINATION,
    V.EMPTY_DESTINATION: SamlErrorCode.WRONG_DESTINATION,
    V.WRONG_AUDIENCE: SamlErrorCode.WRONG_AUDIENCE,
    V.ISSUER_MULTIPLE_IN_RESPONSE: SamlErrorCode.WRONG_ISSUER,
    V.ISSUER_NOT_FOUND_IN_ASSERTION: SamlErrorCode.WRONG_ISSUER,
    V.WRONG_ISSUER: SamlErrorCode.WRONG_ISSUER,
    V.WRONG_SUBJECTCONFIRMATION: SamlErrorCode.NO_SUBJECT_CONFIRMATION,
    V.NO_NAMEID: SamlErrorCode.MISSING_NAME_ID,
    V.EMPTY_NAMEID: SamlErrorCode.MISSING_NAME_ID,
    V.SP_NAME_QUALIFIER_NAME_MISMATCH: SamlErrorCode.WRONG_AUDIENCE,
    V.DUPLICATED_ATTRIBUTE_NAME_FOUND: SamlErrorCode.DUPLICATE_ATTRIBUTE,
}


def toolkit_settings(config: SamlProviderConfig) -> OneLogin_Saml2_Settings:
    """A fresh, strict toolkit settings object for `config` (the toolkit mutates the dict
    it is given, so one is never shared)."""
    has_key = config.sp_private_key is not None
    settings: dict[str, Any] = {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": config.sp_entity_id,
            "assertionConsumerService": {
                "url": config.sp_acs_url,
                "binding": C.BINDING_HTTP_POST,
            },
            "NameIDFormat": config.name_id_format,
            "x509cert": config.sp_x509_cert or "",
            "privateKey": config.sp_private_key or "",
        },
        "idp": {
            "entityId": config.idp_entity_id,
            "singleSignOnService": {
                "url": config.idp_sso_url,
                "binding": C.BINDING_HTTP_REDIRECT,
            },
            "x509cert": config.idp_x509_cert,
            # An empty fingerprint makes the toolkit verify against x509cert only, never
            # against a certificate carried inside the response.
            "certFingerprint": "",
            "certFingerprintAlgorithm": "sha256",
        },
        "security": {
            "nameIdEncrypted": False,
            "authnRequestsSigned": has_key,
            "logoutRequestSigned": has_key,
            "logoutResponseSigned": has_key,
            "signMetadata": False,
            "wantMessagesSigned": config.want_messages_signed,
            "wantAssertionsSigned": True,
            "wantAssertionsEncrypted": config.want_assertions_encrypted,
            "wantNameId": True,
            "wantNameIdEncrypted": False,
            "wantAttributeStatement": False,
            # The default (True) asks for PasswordProtectedTransport "exact", which makes
            # IdPs refuse users who signed in with MFA, Kerberos or a smart card.
            "requestedAuthnContext": False,
            "requestedAuthnContextComparison": "exact",
            "failOnAuthnContextMismatch": False,
            "allowRepeatAttributeName": False,
            # Operator-configured URLs such as http://idp:8080 (a compose service name)
            # are legitimate; the default would refuse them as "invalid".
            "allowSingleLabelDomains": True,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "metadataValidUntil": None,
            "metadataCacheDuration": None,
        },
    }
    try:
        return OneLogin_Saml2_Settings(settings, custom_base_path=_NO_FILES_BASE)
    except OneLogin_Saml2_Error as exc:
        raise ValueError(f"SAML toolkit refused the configuration: {exc}") from exc


def request_data(
    config: SamlProviderConfig, saml_response_b64: str | None = None
) -> dict[str, Any]:
    """The request-like dict the toolkit reads "the current URL" from, built from the
    configured ACS URL so that a forged Host or X-Forwarded-* header cannot move it."""
    parts = urlsplit(config.sp_acs_url)
    data: dict[str, Any] = {
        "https": "on" if parts.scheme == "https" else "off",
        "http_host": parts.netloc,
        "script_name": parts.path,
        "get_data": {},
        "post_data": {},
    }
    if saml_response_b64 is not None:
        data["post_data"] = {"SAMLResponse": saml_response_b64}
    return data


def toolkit_error(exc: Exception) -> SamlError:
    """Translate anything the toolkit raised while parsing or validating a response."""
    if isinstance(exc, OneLogin_Saml2_ValidationError):
        code = _VALIDATION_CODES.get(exc.code, SamlErrorCode.INVALID_RESPONSE)
        return SamlError(code, f"toolkit: {exc}")
    if isinstance(exc, OneLogin_Saml2_Error):
        if exc.code == OneLogin_Saml2_Error.PRIVATE_KEY_NOT_FOUND:
            return SamlError(SamlErrorCode.UNDECRYPTABLE, "encrypted content, no SP key")
        return SamlError(SamlErrorCode.INVALID_RESPONSE, f"toolkit: {exc}")
    return SamlError(SamlErrorCode.INVALID_RESPONSE, f"toolkit: {type(exc).__name__}: {exc}")
