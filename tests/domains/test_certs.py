"""Certificate checks against certificates generated here: root -> intermediate -> leaf."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portalis.plugins.domains.certs import (
    MAX_INPUT_BYTES,
    CertificateError,
    CertificateInfo,
    ErrorCode,
    validate_certificate,
)

DOMAIN = "www.customer.example"
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PEM = serialization.Encoding.PEM


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    public_key,
    issuer: x509.Certificate | None,
    issuer_key,
    *,
    ca: bool = False,
    sans: tuple[str, ...] | None = (DOMAIN,),
    not_before: dt.datetime = NOW - 30 * DAY,
    not_after: dt.datetime = NOW + 60 * DAY,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    algorithm: hashes.HashAlgorithm | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer is not None else _name(subject))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca and sans is not None:
        names = [x509.DNSName(n) for n in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if not ca and eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        return builder.sign(issuer_key, None)
    return builder.sign(issuer_key, algorithm or hashes.SHA256())


# sha256WithRSAEncryption and the legacy OIDs cryptography no longer signs with.
_OID_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_LEGACY_RSA = {
    "sha1": ("06092a864886f70d010105", hashes.SHA1()),
    "md5": ("06092a864886f70d010104", hashes.MD5()),
}


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _resign_legacy(
    cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey, name: str
) -> x509.Certificate:
    """Re-sign ``cert`` with SHA-1/MD5, which ``CertificateBuilder`` refuses to do."""
    oid_hex, algorithm = _LEGACY_RSA[name]
    oid = bytes.fromhex(oid_hex)
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(_OID_SHA256_RSA) == 1
    tbs = tbs.replace(_OID_SHA256_RSA, oid)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), algorithm)
    algorithm_id = _der(0x30, oid + b"\x05\x00")
    der = _der(0x30, tbs + algorithm_id + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


@dataclass
class Pki:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    inter_key: rsa.RSAPrivateKey
    inter: x509.Certificate
    leaf_key: rsa.RSAPrivateKey
    leaf: x509.Certificate
    other_key: rsa.RSAPrivateKey

    def issue(self, public_key=None, **kwargs) -> x509.Certificate:
        """A leaf for ``DOMAIN`` signed by the intermediate; kwargs override the defaults."""
        return _cert(
            "leaf", public_key or self.leaf_key.public_key(), self.inter, self.inter_key, **kwargs
        )


@pytest.fixture(scope="module")
def pki() -> Pki:
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _cert("Test Root CA", root_key.public_key(), None, root_key, ca=True,
                 not_before=NOW - 900 * DAY, not_after=NOW + 900 * DAY)  # fmt: skip
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter = _cert("Test Issuing CA 1", inter_key.public_key(), root, root_key, ca=True,
                  not_before=NOW - 300 * DAY, not_after=NOW + 300 * DAY)  # fmt: skip
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _cert("leaf", leaf_key.public_key(), inter, inter_key)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Pki(root_key, root, inter_key, inter, leaf_key, leaf, other_key)


def pem(*items) -> bytes:
    out = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            out += item.public_bytes(PEM)
        else:
            out += item.private_bytes(
                PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
    return out


def check(blob: bytes, domain: str = DOMAIN, **kwargs) -> CertificateInfo:
    kwargs.setdefault("now", NOW)
    return validate_certificate(domain, blob, **kwargs)


def fails(code: ErrorCode, blob: bytes, domain: str = DOMAIN, **kwargs) -> CertificateError:
    with pytest.raises(CertificateError) as caught:
        check(blob, domain, **kwargs)
    assert caught.value.code == code, caught.value
    assert caught.value.code == code.value  # codes compare equal to their strings
    assert len(str(caught.value)) > 20
    return caught.value


# --- accepted uploads ------------------------------------------------------------------


def test_pem_bundle_leaf_intermediate_key(pki: Pki) -> None:
    info = check(pem(pki.leaf, pki.inter, pki.leaf_key))
    assert info.domain == DOMAIN
    assert info.subject_names == (DOMAIN,)
    assert info.common_name == "leaf"
    assert info.issuer == "CN=Test Issuing CA 1"
    assert info.not_after == pki.leaf.not_valid_after_utc
    assert info.not_before == pki.leaf.not_valid_before_utc
    assert info.fingerprint_sha256 == pki.leaf.fingerprint(hashes.SHA256()).hex()
    assert len(info.fingerprint_sha256) == 64
    assert info.chain_length == 2
    assert info.key_type == "RSA-2048"
    assert info.signature_hash == "sha256"
    chain = x509.load_pem_x509_certificates(info.chain_pem)
    assert chain == [pki.leaf, pki.inter]
    key = serialization.load_pem_private_key(info.key_pem, None)
    assert key.private_numbers() == pki.leaf_key.private_numbers()
    assert b"PRIVATE KEY" not in repr(info).encode()


def test_root_included_and_any_order(pki: Pki) -> None:
    info = check(pem(pki.root, pki.leaf_key, pki.inter, pki.leaf))
    assert info.chain_length == 3
    assert x509.load_pem_x509_certificates(info.chain_pem) == [pki.leaf, pki.inter, pki.root]


def test_unrelated_extra_certificates_are_dropped(pki: Pki) -> None:
    stray = _cert("stray", pki.other_key.public_key(), None, pki.other_key)
    info = check(pem(pki.leaf, stray, pki.inter, pki.leaf_key))
    assert info.chain_length == 2


def test_key_passed_separately(pki: Pki) -> None:
    info = check(pem(pki.leaf, pki.inter), key_pem=pem(pki.leaf_key))
    assert info.chain_length == 2


def test_encrypted_pem_key(pki: Pki) -> None:
    encrypted = pki.leaf_key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"s3cret")
    )
    assert check(pem(pki.leaf, pki.inter) + encrypted, password=b"s3cret").key_type == "RSA-2048"
    assert check(pem(pki.leaf, pki.inter), key_pem=encrypted, password="s3cret").chain_length == 2
    fails(ErrorCode.KEY_PASSWORD, pem(pki.leaf, pki.inter) + encrypted)
    fails(ErrorCode.KEY_PASSWORD, pem(pki.leaf, pki.inter) + encrypted, password=b"wrong")


def test_password_for_an_unencrypted_key_is_ignored(pki: Pki) -> None:
    assert check(pem(pki.leaf, pki.inter, pki.leaf_key), password=b"unused").chain_length == 2


def _pfx(key, cert, cas, password: bytes) -> bytes:
    encryption = serialization.BestAvailableEncryption(password)
    return pkcs12.serialize_key_and_certificates(b"portal", key, cert, cas, encryption)


def test_pfx_with_right_password(pki: Pki) -> None:
    blob = _pfx(pki.leaf_key, pki.leaf, [pki.inter, pki.root], b"pfx-pass")
    info = check(blob, password=b"pfx-pass")
    assert info.chain_length == 3
    assert info.fingerprint_sha256 == pki.leaf.fingerprint(hashes.SHA256()).hex()
    assert check(blob, password="pfx-pass").chain_length == 3


def test_pfx_with_wrong_or_missing_password(pki: Pki) -> None:
    blob = _pfx(pki.leaf_key, pki.leaf, [pki.inter], b"pfx-pass")
    error = fails(ErrorCode.PFX_PASSWORD, blob, password=b"nope")
    assert "password" in error.message
    fails(ErrorCode.PFX_PASSWORD, blob)


def test_pfx_without_key(pki: Pki) -> None:
    blob = _pfx(None, pki.leaf, [pki.inter], b"pfx-pass")
    fails(ErrorCode.NO_PRIVATE_KEY, blob, password=b"pfx-pass")


def test_pfx_rules_apply_too(pki: Pki) -> None:
    blob = _pfx(pki.leaf_key, pki.leaf, None, b"pfx-pass")
    fails(ErrorCode.INCOMPLETE_CHAIN, blob, password=b"pfx-pass")


@pytest.mark.parametrize(
    ("curve", "label"), [(ec.SECP256R1(), "EC-P-256"), (ec.SECP384R1(), "EC-P-384")]
)
def test_ec_leaf(pki: Pki, curve: ec.EllipticCurve, label: str) -> None:
    key = ec.generate_private_key(curve)
    assert check(pem(pki.issue(key.public_key()), pki.inter, key)).key_type == label


@pytest.mark.parametrize("algorithm", [hashes.SHA384(), hashes.SHA512()])
def test_larger_sha2_hashes(pki: Pki, algorithm: hashes.HashAlgorithm) -> None:
    info = check(pem(pki.issue(algorithm=algorithm), pki.inter, pki.leaf_key))
    assert info.signature_hash == algorithm.name


def test_wildcard_covers_one_label(pki: Pki) -> None:
    leaf = pki.issue(sans=("*.customer.example", "customer.example"))
    blob = pem(leaf, pki.inter, pki.leaf_key)
    assert check(blob, "WWW.customer.example").subject_names == (
        "*.customer.example",
        "customer.example",
    )
    assert check(blob, "customer.example").domain == "customer.example"
    fails(ErrorCode.NAME_MISMATCH, blob, "a.b.customer.example")
    fails(ErrorCode.NAME_MISMATCH, blob, "customer.example.evil")
    fails(ErrorCode.NAME_MISMATCH, pem(pki.issue(sans=("*.customer.example",)), pki.inter,
                                       pki.leaf_key), "customer.example")  # fmt: skip


def test_self_signed_leaf_passes_with_chain_of_one(pki: Pki) -> None:
    leaf = _cert("self", pki.leaf_key.public_key(), None, pki.leaf_key)
    assert check(pem(leaf, pki.leaf_key)).chain_length == 1


def test_naive_now_is_utc(pki: Pki) -> None:
    after = pki.leaf.not_valid_after_utc.replace(tzinfo=None)
    check(pem(pki.leaf, pki.inter, pki.leaf_key), now=after - dt.timedelta(seconds=1))
    fails(ErrorCode.EXPIRED, pem(pki.leaf, pki.inter, pki.leaf_key), now=after + DAY)


# --- one failure per rule --------------------------------------------------------------


def test_unreadable_inputs(pki: Pki) -> None:
    fails(ErrorCode.UNREADABLE, b"")
    fails(ErrorCode.UNREADABLE, b"hello, this is not a certificate")
    fails(ErrorCode.UNREADABLE, b"-----BEGIN SOMETHING-----\nAAAA\n-----END SOMETHING-----\n")
    broken = b"-----BEGIN CERTIFICATE-----\nMIIBroken\n-----END CERTIFICATE-----\n"
    fails(ErrorCode.UNREADABLE, broken + pem(pki.leaf_key))
    fails(ErrorCode.TOO_LARGE, b"-----BEGIN " + b"A" * MAX_INPUT_BYTES)


def test_missing_parts(pki: Pki) -> None:
    fails(ErrorCode.NO_CERTIFICATE, pem(pki.leaf_key))
    error = fails(ErrorCode.NO_PRIVATE_KEY, pem(pki.leaf, pki.inter))
    assert "private key" in error.message
    fails(ErrorCode.MULTIPLE_KEYS, pem(pki.leaf, pki.inter, pki.leaf_key, pki.other_key))
    fails(
        ErrorCode.MULTIPLE_KEYS, pem(pki.leaf, pki.inter, pki.leaf_key), key_pem=pem(pki.other_key)
    )


def test_der_certificate_with_separate_key(pki: Pki) -> None:
    der = pki.leaf.public_bytes(serialization.Encoding.DER)
    fails(ErrorCode.NO_PRIVATE_KEY, der)
    fails(ErrorCode.INCOMPLETE_CHAIN, der, key_pem=pem(pki.leaf_key))
    assert check(der, key_pem=pem(pki.inter, pki.leaf_key)).chain_length == 2


def test_key_does_not_match_leaf(pki: Pki) -> None:
    error = fails(ErrorCode.KEY_MISMATCH, pem(pki.leaf, pki.inter, pki.other_key))
    assert "does not belong" in error.message


def test_weak_rsa_key(pki: Pki) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    error = fails(ErrorCode.WEAK_KEY, pem(pki.issue(weak.public_key()), pki.inter, weak))
    assert "1024" in error.message and "2048" in error.message


def test_small_or_unsupported_ec_curves(pki: Pki) -> None:
    small = ec.generate_private_key(ec.SECP224R1())
    fails(ErrorCode.WEAK_KEY, pem(pki.issue(small.public_key()), pki.inter, small))
    koblitz = ec.generate_private_key(ec.SECP256K1())
    fails(ErrorCode.UNSUPPORTED_KEY, pem(pki.issue(koblitz.public_key()), pki.inter, koblitz))


def test_ed25519_key_is_unsupported(pki: Pki) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    fails(ErrorCode.UNSUPPORTED_KEY, pem(pki.issue(key.public_key()), pki.inter, key))


@pytest.mark.parametrize(("legacy", "shown"), [("sha1", "SHA-1"), ("md5", "MD5")])
def test_weak_leaf_signature(pki: Pki, legacy: str, shown: str) -> None:
    leaf = _resign_legacy(pki.leaf, pki.inter_key, legacy)
    assert leaf.signature_hash_algorithm.name == legacy
    # A valid signature, only with a weak hash:
    pki.inter_key.public_key().verify(
        leaf.signature,
        leaf.tbs_certificate_bytes,
        padding.PKCS1v15(),
        leaf.signature_hash_algorithm,
    )
    error = fails(ErrorCode.WEAK_SIGNATURE, pem(leaf, pki.inter, pki.leaf_key))
    assert shown in error.message


def test_weak_intermediate_signature(pki: Pki) -> None:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("RSA Root", root_key.public_key(), None, root_key, ca=True)
    inter = _cert("Test Issuing CA 1", pki.inter_key.public_key(), root, root_key, ca=True)
    inter_sha1 = _resign_legacy(inter, root_key, "sha1")
    assert check(pem(pki.leaf, inter, pki.leaf_key)).chain_length == 2
    error = fails(ErrorCode.WEAK_SIGNATURE, pem(pki.leaf, inter_sha1, pki.leaf_key))
    assert "intermediate" in error.message
    # With the root present too, the weak hash is reported, not a broken link.
    fails(ErrorCode.WEAK_SIGNATURE, pem(pki.leaf, inter_sha1, root, pki.leaf_key))


def test_name_not_covered(pki: Pki) -> None:
    error = fails(ErrorCode.NAME_MISMATCH, pem(pki.leaf, pki.inter, pki.leaf_key), "shop.example")
    assert DOMAIN in error.message and "shop.example" in error.message


def test_common_name_alone_does_not_count(pki: Pki) -> None:
    leaf = _cert(DOMAIN, pki.leaf_key.public_key(), pki.inter, pki.inter_key, sans=None)
    error = fails(ErrorCode.NAME_MISMATCH, pem(leaf, pki.inter, pki.leaf_key))
    assert "Subject Alternative Name" in error.message


def test_expired_and_not_yet_valid(pki: Pki) -> None:
    blob = pem(pki.leaf, pki.inter, pki.leaf_key)
    error = fails(ErrorCode.EXPIRED, blob, now=pki.leaf.not_valid_after_utc + DAY)
    assert "expired" in error.message
    error = fails(ErrorCode.NOT_YET_VALID, blob, now=pki.leaf.not_valid_before_utc - DAY)
    assert "not valid until" in error.message
    past = pki.issue(not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    fails(ErrorCode.EXPIRED, pem(past, pki.inter, pki.leaf_key))


def test_expired_intermediate(pki: Pki) -> None:
    inter = _cert("Test Issuing CA 1", pki.inter_key.public_key(), pki.root, pki.root_key,
                  ca=True, not_before=NOW - 300 * DAY, not_after=NOW - DAY)  # fmt: skip
    error = fails(ErrorCode.EXPIRED, pem(pki.leaf, inter, pki.leaf_key))
    assert "intermediate" in error.message


def test_extended_key_usage(pki: Pki) -> None:
    client_only = pki.issue(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    error = fails(ErrorCode.WRONG_USAGE, pem(client_only, pki.inter, pki.leaf_key))
    assert "client authentication" in error.message
    both = pki.issue(eku=(ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH))
    assert check(pem(both, pki.inter, pki.leaf_key)).chain_length == 2
    assert check(pem(pki.issue(eku=None), pki.inter, pki.leaf_key)).chain_length == 2


def test_missing_intermediate(pki: Pki) -> None:
    error = fails(ErrorCode.INCOMPLETE_CHAIN, pem(pki.leaf, pki.leaf_key))
    assert "Test Issuing CA 1" in error.message
    fails(ErrorCode.INCOMPLETE_CHAIN, pem(pki.leaf, pki.root, pki.leaf_key))


def test_intermediate_that_did_not_sign_the_leaf(pki: Pki) -> None:
    # Same subject name as the real issuer, different key: names match, signature fails.
    impostor = _cert("Test Issuing CA 1", pki.other_key.public_key(), pki.root, pki.root_key,
                     ca=True)  # fmt: skip
    error = fails(ErrorCode.BAD_CHAIN_SIGNATURE, pem(pki.leaf, impostor, pki.leaf_key))
    assert "not signed" in error.message
    # The genuine intermediate alongside the impostor is still found.
    assert check(pem(pki.leaf, impostor, pki.inter, pki.leaf_key)).chain_length == 2


def test_intermediate_not_signed_by_included_root(pki: Pki) -> None:
    other_root_key = ec.generate_private_key(ec.SECP256R1())
    fake_root = _cert("Test Root CA", other_root_key.public_key(), None, other_root_key, ca=True)
    fails(ErrorCode.BAD_CHAIN_SIGNATURE, pem(pki.leaf, pki.inter, fake_root, pki.leaf_key))


def test_invalid_domain_is_a_plain_value_error(pki: Pki) -> None:
    with pytest.raises(ValueError, match="wildcard") as caught:
        check(pem(pki.leaf, pki.inter, pki.leaf_key), "*.customer.example")
    assert not isinstance(caught.value, CertificateError)


def test_error_repr_and_codes() -> None:
    error = CertificateError("expired", "gone")
    assert error.code is ErrorCode.EXPIRED
    assert repr(error) == "CertificateError('expired', 'gone')"
    assert len({c.value for c in ErrorCode}) == len(ErrorCode)
    with pytest.raises(ValueError):
        CertificateError("no_such_code", "x")
