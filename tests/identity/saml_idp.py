"""A test SAML identity provider: keys, Response templates, signing and encryption.

Documents are generated and signed here (never copied from fixtures): RSA-2048 keys and
self-signed certificates come from `cryptography` (once per process per name), Responses
from `ResponseSpec`, signatures from `OneLogin_Saml2_Utils.add_sign` or, for deliberately
odd signatures, from xmlsec templates.
"""

from __future__ import annotations

import base64
import functools
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils

__all__ = [
    "ACS_URL",
    "IDP_ENTITY_ID",
    "IDP_SSO_URL",
    "NS",
    "REQUEST_ID",
    "SP_ENTITY_ID",
    "KeyPair",
    "ResponseSpec",
    "b64",
    "build_response",
    "decode_redirect",
    "encrypt_assertion",
    "keypair",
    "saml_time",
    "sign_element",
    "sign_with_reference",
    "signed_response",
]

IDP_ENTITY_ID = "https://idp.example.org/saml/metadata"
IDP_SSO_URL = "https://idp.example.org/saml/sso"
SP_ENTITY_ID = "https://portal.example.com/saml/metadata"
ACS_URL = "https://portal.example.com/saml/acs"
REQUEST_ID = "ONELOGIN_5f1c0c0e-test-request"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS, "xenc": C.NS_XENC}


@dataclass(frozen=True)
class KeyPair:
    """A PEM private key and the self-signed certificate for it."""

    key_pem: str
    cert_pem: str


@functools.cache
def keypair(common_name: str) -> KeyPair:
    """An RSA-2048 key and self-signed certificate, made once per process per name."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return KeyPair(key_pem, cert.public_bytes(serialization.Encoding.PEM).decode())


def saml_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    return "_" + uuid.uuid4().hex


@dataclass
class ResponseSpec:
    """Every knob of a generated Response. None omits the element or attribute.

    Time fields are offsets from `base_time` (default: now).
    """

    in_response_to: str | None = REQUEST_ID
    sc_in_response_to: str | None = REQUEST_ID
    destination: str | None = ACS_URL
    recipient: str | None = ACS_URL
    response_issuer: str | None = IDP_ENTITY_ID
    assertion_issuer: str = IDP_ENTITY_ID
    audiences: list[list[str]] = field(default_factory=lambda: [[SP_ENTITY_ID]])
    extra_conditions: str = ""
    name_id: str | None = "alice@example.com"
    name_id_format: str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    attributes: dict[str, list[str]] = field(
        default_factory=lambda: {
            CLAIMS + "emailaddress": ["alice@example.com"],
            CLAIMS + "givenname": ["Alice"],
            CLAIMS + "surname": ["Liddell"],
            "groups": ["staff", "portal-admins"],
        }
    )
    sc_method: str = BEARER
    status: str = SUCCESS
    response_id: str = field(default_factory=_new_id)
    assertion_id: str = field(default_factory=_new_id)
    session_index: str | None = "_session-1"
    base_time: datetime | None = None
    issue_offset: timedelta = timedelta(seconds=-5)
    not_before: timedelta | None = timedelta(seconds=-30)
    not_on_or_after: timedelta | None = timedelta(minutes=5)
    sc_not_before: timedelta | None = None
    sc_not_on_or_after: timedelta | None = timedelta(minutes=5)
    session_not_on_or_after: timedelta | None = timedelta(hours=8)
    raw_times: dict[str, str] = field(default_factory=dict)
    """Overrides of rendered times by name, for malformed-time tests."""

    def time(self, name: str, offset: timedelta | None) -> str | None:
        if name in self.raw_times:
            return self.raw_times[name]
        if offset is None:
            return None
        return saml_time((self.base_time or datetime.now(UTC)) + offset)


def _attr(name: str, value: str | None) -> str:
    return "" if value is None else f" {name}={quoteattr(value)}"


def _assertion(spec: ResponseSpec) -> str:
    restrictions = "".join(
        "<saml:AudienceRestriction>"
        + "".join(f"<saml:Audience>{escape(a)}</saml:Audience>" for a in audiences)
        + "</saml:AudienceRestriction>"
        for audiences in spec.audiences
    )
    name_id = ""
    if spec.name_id is not None:
        name_id = (
            f"<saml:NameID{_attr('Format', spec.name_id_format)}>"
            f"{escape(spec.name_id)}</saml:NameID>"
        )
    attributes = "".join(
        f"<saml:Attribute Name={quoteattr(name)}>"
        + "".join(
            f'<saml:AttributeValue xsi:type="xs:string">{escape(v)}</saml:AttributeValue>'
            for v in values
        )
        + "</saml:Attribute>"
        for name, values in spec.attributes.items()
    )
    statement = (
        f"<saml:AttributeStatement>{attributes}</saml:AttributeStatement>" if attributes else ""
    )
    sc_data = (
        "<saml:SubjectConfirmationData"
        + _attr("InResponseTo", spec.sc_in_response_to)
        + _attr("Recipient", spec.recipient)
        + _attr("NotBefore", spec.time("sc_not_before", spec.sc_not_before))
        + _attr("NotOnOrAfter", spec.time("sc_not_on_or_after", spec.sc_not_on_or_after))
        + "/>"
    )
    return (
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"'
        ' xmlns:xs="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' ID="{spec.assertion_id}" Version="2.0"'
        f' IssueInstant="{spec.time("issue", spec.issue_offset)}">'
        f"<saml:Issuer>{escape(spec.assertion_issuer)}</saml:Issuer>"
        f"<saml:Subject>{name_id}"
        f"<saml:SubjectConfirmation Method={quoteattr(spec.sc_method)}>{sc_data}"
        "</saml:SubjectConfirmation></saml:Subject>"
        "<saml:Conditions"
        + _attr("NotBefore", spec.time("not_before", spec.not_before))
        + _attr("NotOnOrAfter", spec.time("not_on_or_after", spec.not_on_or_after))
        + f">{restrictions}{spec.extra_conditions}</saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{spec.time("issue", spec.issue_offset)}"'
        + _attr("SessionIndex", spec.session_index)
        + _attr("SessionNotOnOrAfter", spec.time("session", spec.session_not_on_or_after))
        + "><saml:AuthnContext><saml:AuthnContextClassRef>"
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"{statement}</saml:Assertion>"
    )


def _strip_declaration(xml: str) -> str:
    return xml.split("?>", 1)[1].lstrip() if xml.startswith("<?xml") else xml


def build_response(spec: ResponseSpec, assertions: list[str] | None = None) -> str:
    """The Response XML around `assertions` (default: one unsigned assertion from spec)."""
    body = "".join(
        _strip_declaration(a)
        for a in (assertions if assertions is not None else [_assertion(spec)])
    )
    issuer = (
        ""
        if spec.response_issuer is None
        else f"<saml:Issuer>{escape(spec.response_issuer)}</saml:Issuer>"
    )
    return (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"'
        ' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"'
        f' ID="{spec.response_id}" Version="2.0"'
        f' IssueInstant="{spec.time("issue", spec.issue_offset)}"'
        + _attr("Destination", spec.destination)
        + _attr("InResponseTo", spec.in_response_to)
        + f">{issuer}"
        f'<samlp:Status><samlp:StatusCode Value="{spec.status}"/></samlp:Status>'
        f"{body}</samlp:Response>"
    )


def sign_element(
    xml: str,
    signer: KeyPair,
    *,
    sign_algorithm: str = C.RSA_SHA256,
    digest_algorithm: str = C.SHA256,
) -> str:
    """Sign the element holding the document's first saml:Issuer (add_sign's rule): pass a
    standalone Assertion to sign it, a Response to sign the Response."""
    signed = OneLogin_Saml2_Utils.add_sign(
        xml,
        signer.key_pem,
        signer.cert_pem,
        sign_algorithm=sign_algorithm,
        digest_algorithm=digest_algorithm,
    )
    return signed.decode() if isinstance(signed, bytes) else signed


def signed_response(
    spec: ResponseSpec,
    signer: KeyPair,
    *,
    sign_assertion: bool = True,
    sign_response: bool = False,
    sign_algorithm: str = C.RSA_SHA256,
    digest_algorithm: str = C.SHA256,
    encrypt_for: KeyPair | None = None,
) -> str:
    """The usual IdP output: assertion signed, then (optionally) encrypted, then
    (optionally) the whole Response signed."""
    assertion = _assertion(spec)
    if sign_assertion:
        assertion = sign_element(
            assertion, signer, sign_algorithm=sign_algorithm, digest_algorithm=digest_algorithm
        )
    xml = build_response(spec, [assertion])
    if encrypt_for is not None:
        xml = encrypt_assertion(xml, encrypt_for.cert_pem)
    if sign_response:
        xml = sign_element(
            xml, signer, sign_algorithm=sign_algorithm, digest_algorithm=digest_algorithm
        )
    return xml


def sign_with_reference(xml: str, holder_xpath: str, reference_uri: str, signer: KeyPair) -> str:
    """A cryptographically valid signature placed after the Issuer of the element at
    `holder_xpath` but whose Reference points at `reference_uri`."""
    root = etree.fromstring(xml.encode())
    holder = root.xpath(holder_xpath, namespaces=NS)[0]
    signature = xmlsec.template.create(
        root, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds"
    )
    holder.find("saml:Issuer", NS).addnext(signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri=reference_uri)
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    xmlsec.tree.add_ids(root, ["ID"])
    context = xmlsec.SignatureContext()
    key = xmlsec.Key.from_memory(signer.key_pem, xmlsec.KeyFormat.PEM, None)
    key.load_cert_from_memory(signer.cert_pem, xmlsec.KeyFormat.PEM)
    context.key = key
    context.sign(signature)
    return etree.tostring(root).decode()


def encrypt_assertion(xml: str, recipient_cert_pem: str) -> str:
    """Replace the Response's Assertion by an EncryptedAssertion (AES-256-GCM content key,
    RSA-OAEP key transport to `recipient_cert_pem`)."""
    root = etree.fromstring(xml.encode())
    assertion = root.find("saml:Assertion", NS)
    wrapper = etree.Element(f"{{{C.NS_SAML}}}EncryptedAssertion")
    assertion.addprevious(wrapper)
    wrapper.append(assertion)
    template = xmlsec.template.encrypted_data_create(
        root, xmlsec.Transform.AES256_GCM, type=xmlsec.EncryptionType.ELEMENT, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.Transform.RSA_OAEP)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(recipient_cert_pem, xmlsec.KeyFormat.CERT_PEM, None))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.KeyData.AES, 256, xmlsec.KeyDataType.SESSION)
    context.encrypt_xml(template, assertion)
    return etree.tostring(root).decode()


def b64(xml: str | bytes) -> str:
    """The SAMLResponse form value for `xml`."""
    return base64.b64encode(xml.encode() if isinstance(xml, str) else xml).decode()


def decode_redirect(url: str) -> tuple[etree._Element, dict[str, list[str]], str]:
    """(AuthnRequest element, query parameters, raw query string) of an HTTP-Redirect URL."""
    query = urlsplit(url).query
    params = parse_qs(query, keep_blank_values=True)
    inflated = zlib.decompress(base64.b64decode(params["SAMLRequest"][0]), -15)
    return etree.fromstring(inflated), params, query
