"""Check a maker's TLS certificate for a custom domain before it is served.

:func:`validate_certificate` accepts what makers have: a PEM bundle (certificates and the
private key in one blob, or the key passed separately as ``key_pem``; an encrypted key is
opened with ``password``), or a PFX/PKCS#12 file with its password. It either returns a
:class:`CertificateInfo` - including the chain and key re-encoded as PEM, ready for a proxy
- or raises :class:`CertificateError` whose ``code`` (an :class:`ErrorCode`, which compares
equal to its string value) names the one rule that failed and whose message tells the maker
what to do. Rules are checked in this order:

1. the input is readable and holds exactly one private key and at least one certificate;
2. the key matches a certificate (that one is the *leaf*);
3. the key is RSA >= 2048 bits or EC on P-256/P-384/P-521;
4. the leaf is signed with SHA-256/384/512 (not SHA-1/MD5);
5. a SAN DNS name covers the domain (``*`` only as the whole left-most label, matching
   exactly one label; the Common Name is ignored, as browsers do);
6. the leaf is valid at ``now`` (not expired, not yet-valid);
7. an extended key usage extension, if present, includes serverAuth;
8. the chain is complete: unless the leaf is self-issued, a certificate whose subject is
   the leaf's issuer must be present, and each link's signature must verify; the walk goes
   on up while issuers are present. Intermediates (not self-issued roots) must also be
   SHA-2 signed and currently valid. Certificates not on the chain are dropped.

Trust in a root is not checked: the root normally lives in the browsers' stores, not in
the upload. A self-issued leaf passes rule 8.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .verify import normalize_domain

__all__ = [
    "MAX_INPUT_BYTES",
    "CertificateError",
    "CertificateInfo",
    "ErrorCode",
    "validate_certificate",
]

MAX_INPUT_BYTES = 1024 * 1024
"""Largest certificate upload (PEM bundle, PFX or key) accepted."""

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}
_SHA2 = {"sha256", "sha384", "sha512"}
_USAGE_NAMES = {  # others are shown as dotted OIDs
    ExtendedKeyUsageOID.CLIENT_AUTH: "client authentication",
    ExtendedKeyUsageOID.CODE_SIGNING: "code signing",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "e-mail protection",
}
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


class ErrorCode(enum.StrEnum):
    """One distinct code per rule; stable values a UI may switch on."""

    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"
    PFX_PASSWORD = "pfx_password"
    KEY_PASSWORD = "key_password"
    NO_CERTIFICATE = "no_certificate"
    NO_PRIVATE_KEY = "no_private_key"
    MULTIPLE_KEYS = "multiple_keys"
    KEY_MISMATCH = "key_mismatch"
    UNSUPPORTED_KEY = "unsupported_key"
    WEAK_KEY = "weak_key"
    WEAK_SIGNATURE = "weak_signature"
    NAME_MISMATCH = "name_mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_USAGE = "wrong_usage"
    INCOMPLETE_CHAIN = "incomplete_chain"
    BAD_CHAIN_SIGNATURE = "bad_chain_signature"


class CertificateError(ValueError):
    """A certificate upload broke a rule; ``code`` says which, ``message`` how to fix it."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message

    def __repr__(self) -> str:
        return f"CertificateError({self.code.value!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a validated upload holds.

    ``subject_names`` are the SAN DNS names (lower-case, as in the certificate);
    ``fingerprint_sha256`` is the leaf's DER SHA-256 in lower-case hex without separators;
    ``chain_length`` counts the leaf and every certificate linked above it in the upload;
    ``key_type`` reads like ``RSA-2048`` or ``EC-P-256``. ``chain_pem`` is that chain, leaf
    first; ``key_pem`` is the private key as *unencrypted* PKCS#8 PEM - store it with
    owner-only permissions. Neither appears in ``repr``.
    """

    domain: str
    subject_names: tuple[str, ...]
    common_name: str | None
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    chain_length: int
    key_type: str
    signature_hash: str
    chain_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)


def validate_certificate(
    domain: str,
    pem_or_pfx: bytes,
    *,
    password: bytes | str | None = None,
    key_pem: bytes | None = None,
    now: datetime | None = None,
) -> CertificateInfo:
    """Check an uploaded certificate for ``domain``; see the module docstring for the rules.

    ``pem_or_pfx`` is a PEM bundle (anything containing ``-----BEGIN``) or PFX/PKCS#12
    bytes. ``password`` opens a PFX or an encrypted PEM key (a ``str`` is UTF-8 encoded).
    ``now`` defaults to the current time; a naive value is taken as UTC. Raises
    :class:`ValueError` if ``domain`` is not a valid host name, and
    :class:`CertificateError` for anything wrong with the upload.
    """
    name = normalize_domain(domain)
    if isinstance(password, str):
        password = password.encode()
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)

    certs, keys = _load(pem_or_pfx, password)
    if key_pem is not None:
        extra_certs, extra_keys = _load(key_pem, password)
        certs, keys = certs + extra_certs, keys + extra_keys
    if not certs:
        raise CertificateError(
            ErrorCode.NO_CERTIFICATE,
            "No certificate was found. Upload the certificate (PEM 'BEGIN CERTIFICATE' "
            "blocks or a PFX file).",
        )
    unique = {_spki(k.public_key()): k for k in keys}
    if not unique:
        raise CertificateError(
            ErrorCode.NO_PRIVATE_KEY,
            "No private key was found. Include the key in the upload, or use a PFX file "
            "exported with its private key.",
        )
    if len(unique) > 1:
        message = "The upload holds more than one private key; include only this certificate's."
        raise CertificateError(ErrorCode.MULTIPLE_KEYS, message)
    [(key_id, key)] = unique.items()
    leaf = next((c for c in certs if _spki(c.public_key()) == key_id), None)
    if leaf is None:
        raise CertificateError(
            ErrorCode.KEY_MISMATCH,
            f"The private key does not belong to the certificate {_label(certs[0])}. "
            "Upload the key that was generated with this certificate's request.",
        )
    key_type = _check_key(key)
    _check_signature(leaf, "The certificate")
    names = _check_names(leaf, name)
    _check_dates(leaf, when, "The certificate")
    _check_usage(leaf)
    chain = _build_chain(leaf, [c for c in certs if c is not leaf], when)

    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertificateInfo(
        domain=name,
        subject_names=names,
        common_name=str(cn[0].value) if cn else None,
        issuer=leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
        chain_length=len(chain),
        key_type=key_type,
        signature_hash=leaf.signature_hash_algorithm.name,  # type: ignore[union-attr]
        chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


# --- loading ---------------------------------------------------------------------------


def _load(data: bytes, password: bytes | None) -> tuple[list[x509.Certificate], list]:
    if not isinstance(data, bytes | bytearray) or not data:
        raise CertificateError(
            ErrorCode.UNREADABLE, "The upload is empty; choose a PEM or PFX certificate file."
        )
    if len(data) > MAX_INPUT_BYTES:
        raise CertificateError(
            ErrorCode.TOO_LARGE, f"The upload is larger than {MAX_INPUT_BYTES // 1024} KiB."
        )
    data = bytes(data)
    if b"-----BEGIN " in data:
        return _load_pem(data, password)
    if data[:1] != b"\x30":  # every DER structure, PKCS#12 included, is a SEQUENCE
        raise CertificateError(
            ErrorCode.UNREADABLE,
            "The file is neither PEM text nor a PFX/PKCS#12 file. Export the certificate "
            "as PEM (with chain and key) or as PFX with its private key.",
        )
    try:  # a lone DER certificate (.cer/.crt) - it cannot hold the key
        return [x509.load_der_x509_certificate(data)], []
    except ValueError:
        pass
    try:
        bundle = pkcs12.load_pkcs12(data, password)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            ErrorCode.PFX_PASSWORD,
            "The PFX file could not be opened: the password is wrong or missing, or the "
            "file is damaged. Enter the password used when the PFX was exported.",
        ) from exc
    certs = [bundle.cert.certificate] if bundle.cert is not None else []
    certs += [c.certificate for c in bundle.additional_certs]
    return certs, [bundle.key] if bundle.key is not None else []


def _load_pem(data: bytes, password: bytes | None) -> tuple[list[x509.Certificate], list]:
    certs: list[x509.Certificate] = []
    keys: list = []
    for number, match in enumerate(_PEM_BLOCK.finditer(data), start=1):
        label, block = match.group(1), match.group(0)
        if label == b"CERTIFICATE":
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError as exc:
                raise CertificateError(
                    ErrorCode.UNREADABLE,
                    f"PEM block {number} (certificate) is damaged: {exc}",
                ) from exc
        elif label in _KEY_LABELS:
            keys.append(_load_pem_key(block, password, number))
    if not certs and not keys:
        raise CertificateError(ErrorCode.UNREADABLE, "The PEM text has no certificate or key.")
    return certs, keys


def _load_pem_key(block: bytes, password: bytes | None, number: int) -> object:
    try:
        return serialization.load_pem_private_key(block, password)
    except TypeError as exc:
        if password is not None:  # the key is not encrypted; the password was for a PFX
            return _load_pem_key(block, None, number)
        message = "The private key is encrypted. Enter the password that protects it."
        raise CertificateError(ErrorCode.KEY_PASSWORD, message) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if password is not None:
            message = "The private key could not be decrypted: check the password."
        else:
            message = f"PEM block {number} (private key) is damaged or of an unknown kind."
        raise CertificateError(
            ErrorCode.KEY_PASSWORD if password else ErrorCode.UNREADABLE, message
        ) from exc


# --- rules -----------------------------------------------------------------------------


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _label(cert: x509.Certificate) -> str:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return repr(str(cn[0].value)) if cn else f"'{cert.subject.rfc4514_string()}'"


def _self_issued(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer


def _check_key(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise CertificateError(
                ErrorCode.WEAK_KEY,
                f"The RSA key has {key.key_size} bits; at least 2048 are required. "
                "Request a new certificate with a 2048-bit (or larger) key.",
            )
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curve = _CURVES.get(key.curve.name)
        if curve:
            return f"EC-{curve}"
        code = ErrorCode.WEAK_KEY if key.curve.key_size < 256 else ErrorCode.UNSUPPORTED_KEY
        message = f"The EC curve {key.curve.name} is too weak or not supported by browsers."
        raise CertificateError(code, message + " Use P-256 or P-384.")
    raise CertificateError(
        ErrorCode.UNSUPPORTED_KEY,
        f"{type(key).__name__.removeprefix('_')} keys are not supported; use RSA or ECDSA.",
    )


def _check_signature(cert: x509.Certificate, what: str) -> None:
    try:
        algorithm = cert.signature_hash_algorithm
        hash_name = algorithm.name if algorithm is not None else "none"
    except UnsupportedAlgorithm:
        hash_name = "an unknown algorithm"
    if hash_name not in _SHA2:
        shown = {"sha1": "SHA-1", "md5": "MD5"}.get(hash_name, hash_name)
        raise CertificateError(
            ErrorCode.WEAK_SIGNATURE,
            f"{what} is signed with {shown}, which browsers reject. Have it reissued with SHA-256.",
        )


def _check_names(leaf: x509.Certificate, domain: str) -> tuple[str, ...]:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertificateError(
            ErrorCode.NAME_MISMATCH,
            f"The certificate has no Subject Alternative Names, so browsers will not accept "
            f"it for {domain}. Request one that lists {domain}.",
        ) from None
    names = tuple(n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName))
    if not any(_name_matches(pattern, domain) for pattern in names):
        listed = ", ".join(names) or "no DNS names"
        raise CertificateError(
            ErrorCode.NAME_MISMATCH,
            f"The certificate is for {listed}, not {domain}. Upload a certificate that "
            f"lists {domain} (or a matching *. wildcard).",
        )
    return names


def _name_matches(pattern: str, domain: str) -> bool:
    """Exact match, or ``*.rest`` matching exactly one extra left-most label."""
    if pattern == domain:
        return True
    if not pattern.startswith("*."):
        return False
    rest = pattern[2:]
    head, _, tail = domain.partition(".")
    return bool(head) and "*" not in rest and rest.count(".") >= 1 and tail == rest


def _check_dates(cert: x509.Certificate, when: datetime, what: str) -> None:
    if when > cert.not_valid_after_utc:
        raise CertificateError(
            ErrorCode.EXPIRED,
            f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC. "
            "Upload a renewed certificate.",
        )
    if when < cert.not_valid_before_utc:
        raise CertificateError(
            ErrorCode.NOT_YET_VALID,
            f"{what} is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC. "
            "Upload it after that time, or check the server clock.",
        )


def _check_usage(leaf: x509.Certificate) -> None:
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if ExtendedKeyUsageOID.SERVER_AUTH not in usages:
        names = ", ".join(_USAGE_NAMES.get(u, u.dotted_string) for u in usages) or "nothing"
        raise CertificateError(
            ErrorCode.WRONG_USAGE,
            f"The certificate may be used only for {names}, not for a web server "
            "(serverAuth). Request a TLS server certificate.",
        )


def _build_chain(
    leaf: x509.Certificate, pool: list[x509.Certificate], when: datetime
) -> list[x509.Certificate]:
    """Walk issuer links up from ``leaf``; intermediates get the hash and date rules."""
    chain, current = [leaf], leaf
    while not _self_issued(current):
        candidates = [c for c in pool if c.subject == current.issuer]
        if not candidates:
            break
        for candidate in candidates:
            try:
                current.verify_directly_issued_by(candidate)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                continue
            break
        else:
            raise CertificateError(
                ErrorCode.BAD_CHAIN_SIGNATURE,
                f"{_label(current)} was not signed by the included certificate "
                f"{_label(candidates[0])}, although the names match. Upload the chain "
                "your certificate authority issued with this certificate.",
            )
        chain.append(candidate)
        pool.remove(candidate)
        current = candidate
        if not _self_issued(current):  # checked before its own link is verified
            what = f"The intermediate certificate {_label(current)}"
            _check_signature(current, what)
            _check_dates(current, when, what)
    if len(chain) == 1 and not _self_issued(leaf):
        raise CertificateError(
            ErrorCode.INCOMPLETE_CHAIN,
            f"The intermediate certificate {leaf.issuer.rfc4514_string()!r} is missing. "
            "Upload the full chain (your certificate followed by the intermediates from "
            "your certificate authority).",
        )
    return chain
