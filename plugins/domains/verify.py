"""Prove that a maker controls a domain before a custom-domain binding goes live.

Two ways pass, as in Power Pages:

* **CNAME** - the domain itself has a CNAME whose target is exactly the portal's host name
  (compared case-insensitively, trailing dot ignored; only the first hop counts, so a CNAME
  to some other host that in turn points at the portal does *not* pass);
* **TXT** - where a CNAME cannot be used (zone apex, existing records), a TXT record at
  :func:`txt_record_name` holds the token issued by :func:`make_token`. A TXT record made of
  several character strings is joined before comparing, as DNS providers split long values.

:func:`verify_domain` never raises for DNS outcomes: it returns a
:class:`VerificationResult` saying which method passed or why both failed
(:class:`FailureReason`). It raises :class:`ValueError` only for bad input (a domain,
host name, token, nameserver or timeout that cannot be used). Domain names go through
:func:`normalize_domain`, which callers should also use before storing a binding.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import re
import secrets
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

try:  # IDNA 2008 + UTS 46 mapping; dependency of httpx, so normally present.
    import idna as _idna
except ImportError:  # pragma: no cover - falls back to the stdlib's IDNA 2003 codec
    _idna = None

__all__ = [
    "CHALLENGE_LABEL",
    "ExpectedRecord",
    "FailureReason",
    "VerificationMethod",
    "VerificationResult",
    "expected_records",
    "make_token",
    "normalize_domain",
    "txt_record_name",
    "verify_domain",
]

CHALLENGE_LABEL = "_portalis-challenge"
"""Label prepended to a domain to form the name of its TXT challenge record."""

_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.=+/]{16,255}$")


class VerificationMethod(enum.StrEnum):
    """The check that proved control of the domain."""

    CNAME = "cname"
    TXT = "txt"


class FailureReason(enum.StrEnum):
    """Why verification failed; stable values a UI may switch on."""

    NXDOMAIN = "nxdomain"  # the domain does not exist, nor does the TXT name
    NO_RECORD = "no_record"  # the domain exists but has no CNAME, and there is no TXT record
    CNAME_MISMATCH = "cname_mismatch"  # CNAME present but points at another host
    TOKEN_MISMATCH = "token_mismatch"  # TXT record present but does not hold the token
    TIMEOUT = "timeout"  # nameservers did not answer in time; try again
    DNS_ERROR = "dns_error"  # nameservers answered SERVFAIL/REFUSED or similar; try again


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Outcome of :func:`verify_domain`.

    ``verified`` is true exactly when ``method`` is set and ``reason`` is ``None``.
    ``message`` is a sentence for the maker. ``cname_target`` is the normalised CNAME target
    found (if any) and ``txt_values`` the TXT strings found at ``txt_name``.
    """

    domain: str
    verified: bool
    method: VerificationMethod | None
    reason: FailureReason | None
    message: str
    txt_name: str
    cname_target: str | None = None
    txt_values: tuple[str, ...] = ()

    @property
    def retryable(self) -> bool:
        """True when the failure was DNS trouble rather than a wrong or missing record."""
        return self.reason in (FailureReason.TIMEOUT, FailureReason.DNS_ERROR)


@dataclass(frozen=True, slots=True)
class ExpectedRecord:
    """A DNS record the maker may create; either one of :func:`expected_records` suffices."""

    type: str
    name: str
    value: str


def make_token() -> str:
    """Return a fresh verification token: 256 random bits, URL-safe base64 (43 chars)."""
    return secrets.token_urlsafe(32)


def normalize_domain(domain: str) -> str:
    """Return ``domain`` as a lower-case ASCII (IDNA A-label) host name without trailing dot.

    Unicode names are converted with IDNA 2008/UTS 46 (``Bücher.Example`` becomes
    ``xn--bcher-kva.example``); ``xn--`` labels must decode. Raises :class:`ValueError`
    with a message for a maker for: empty input, URLs, ports, whitespace, wildcards, IP
    literals, empty labels, labels other than letters/digits/hyphens, labels over 63 or
    names over 253 characters, single-label names and numeric top-level labels.
    """
    if not isinstance(domain, str):
        raise ValueError(f"domain must be text, not {type(domain).__name__}")
    text = domain.strip()
    if not text:
        raise ValueError("the domain name is empty")
    if "://" in text or "/" in text:
        raise ValueError(
            f"{text!r} looks like a URL; enter only the host name, e.g. www.example.com"
        )
    if any(ch.isspace() for ch in text):
        raise ValueError(f"{text!r} contains whitespace")
    if "*" in text:
        raise ValueError(f"{text!r} is a wildcard; bind each host name separately")
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError(f"{text!r} is an IP address; a custom domain must be a host name")
    if ":" in text or "@" in text:
        raise ValueError(f"{text!r} contains ':' or '@'; enter only the host name, without port")
    if text.endswith("."):
        text = text[:-1]
    if not text.isascii():
        text = _to_ascii(text)
    text = text.lower()
    labels = text.split(".")
    if any(not label for label in labels):
        raise ValueError(f"{domain.strip()!r} has an empty label (leading dot or '..')")
    for label in labels:
        if len(label) > 63:
            raise ValueError(f"label {label[:20]!r}... is longer than 63 characters")
        if not _LDH_LABEL.match(label):
            raise ValueError(f"label {label!r} may contain only letters, digits and inner hyphens")
        if label.startswith("xn--"):
            _check_a_label(label)
    if len(text) > 253:
        raise ValueError("the domain name is longer than 253 characters")
    if len(labels) < 2:
        raise ValueError(f"{text!r} is not a fully qualified name, e.g. portal.example.com")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} ends in a numeric label; it is not a valid host name")
    return text


def _to_ascii(text: str) -> str:
    try:
        if _idna is not None:
            return _idna.encode(text, uts46=True).decode("ascii")
        return text.encode("idna").decode("ascii")  # pragma: no cover
    except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
        raise ValueError(f"{text!r} is not a valid internationalised domain name: {exc}") from exc


def _check_a_label(label: str) -> None:
    try:
        if _idna is not None:
            _idna.decode(label)
        else:  # pragma: no cover
            label.encode("ascii").decode("idna")
    except (UnicodeError, ValueError) as exc:
        raise ValueError(f"label {label!r} is not valid punycode: {exc}") from exc


def txt_record_name(domain: str) -> str:
    """Return the name of the TXT challenge record: ``_portalis-challenge.<domain>``."""
    return f"{CHALLENGE_LABEL}.{normalize_domain(domain)}"


def expected_records(domain: str, *, portal_host: str, token: str) -> tuple[ExpectedRecord, ...]:
    """Return the records that would verify ``domain``: the CNAME, then the TXT alternative."""
    name = normalize_domain(domain)
    return (
        ExpectedRecord("CNAME", name, normalize_domain(portal_host)),
        ExpectedRecord("TXT", txt_record_name(name), _check_token(token)),
    )


def _check_token(token: str) -> str:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise ValueError("the verification token must be 16-255 URL-safe characters")
    return token


@dataclass(frozen=True, slots=True)
class _Lookup:
    status: str  # "ok" | "nodata" | "nxdomain" | "timeout" | "error"
    values: tuple[str, ...] = ()
    error: str = ""


def _make_resolver(
    nameservers: list[tuple[str, int]] | None, timeout: float
) -> dns.asyncresolver.Resolver:
    if not timeout or timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    if nameservers is None:
        resolver = dns.asyncresolver.Resolver()  # the host's resolv.conf
    else:
        if not nameservers:
            raise ValueError("nameservers must not be empty; pass None for the system resolver")
        servers = []
        for address, port in nameservers:
            try:
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise ValueError(f"nameserver {address!r} is not an IP address") from exc
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"nameserver port {port!r} is not in 1-65535")
            servers.append(dns.nameserver.Do53Nameserver(address, port))
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = servers
    resolver.cache = None
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


async def _lookup(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> _Lookup:
    qname = dns.name.from_text(name + ".")
    try:
        answer = await resolver.resolve(qname, rdtype, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return _Lookup("nxdomain")
    except dns.exception.Timeout as exc:
        return _Lookup("timeout", error=str(exc))
    except dns.exception.DNSException as exc:  # NoNameservers (SERVFAIL/REFUSED), YXDOMAIN...
        return _Lookup("error", error=str(exc))
    rrset = answer.rrset
    if rrset is None or rrset.rdtype != dns.rdatatype.from_text(rdtype):
        return _Lookup("nodata")
    if rdtype == "CNAME":
        values = tuple(rr.target.to_text().rstrip(".").lower() for rr in rrset)
    else:
        values = tuple(
            b"".join(rr.strings).decode("utf-8", errors="replace").strip() for rr in rrset
        )
    return _Lookup("ok", values)


async def verify_domain(
    domain: str,
    *,
    portal_host: str,
    token: str,
    nameservers: list[tuple[str, int]] | None = None,
    timeout: float = 5.0,  # noqa: ASYNC109 - dnspython lifetime per lookup, not a cancel scope
) -> VerificationResult:
    """Check DNS for proof that the maker controls ``domain``.

    Looks up, concurrently, the CNAME of ``domain`` and the TXT records at
    :func:`txt_record_name`. ``nameservers`` is a list of ``(ip, port)`` to ask (UDP, with
    dnspython's usual TCP fallback on truncation); ``None`` uses the host's resolver
    configuration. ``timeout`` bounds each lookup, in seconds. No cache is used, so a
    retry sees fresh data (subject to the nameservers' own caches).

    Passes with :attr:`VerificationMethod.CNAME` if the CNAME target equals
    ``portal_host``, else with :attr:`VerificationMethod.TXT` if a TXT value equals
    ``token`` (constant-time comparison; a token is 16-255 characters from
    ``A-Z a-z 0-9 _ - . = + /``, as :func:`make_token` makes). Otherwise the failure reason
    is, in order of precedence: TIMEOUT, DNS_ERROR (the result could have passed - retry),
    CNAME_MISMATCH, TOKEN_MISMATCH, NXDOMAIN, NO_RECORD.
    """
    name = normalize_domain(domain)
    host = normalize_domain(portal_host)
    _check_token(token)
    txt_name = txt_record_name(name)
    resolver = _make_resolver(nameservers, timeout)
    cname, txt = await asyncio.gather(
        _lookup(resolver, name, "CNAME"), _lookup(resolver, txt_name, "TXT")
    )
    target = cname.values[0] if cname.values else None
    found = {"cname_target": target, "txt_values": txt.values}

    def result(
        method: VerificationMethod | None, reason: FailureReason | None, message: str
    ) -> VerificationResult:
        return VerificationResult(
            name, method is not None, method, reason, message, txt_name, **found
        )

    if target == host:
        return result(VerificationMethod.CNAME, None, f"{name} has a CNAME to {host}.")
    token_bytes = token.encode()
    if any(secrets.compare_digest(value.encode(), token_bytes) for value in txt.values):
        return result(
            VerificationMethod.TXT, None, f"The TXT record at {txt_name} holds the token."
        )

    fix = f"Create a CNAME from {name} to {host}, or a TXT record at {txt_name} with the token."
    if "timeout" in (cname.status, txt.status):
        return result(
            None,
            FailureReason.TIMEOUT,
            f"The DNS servers did not answer within {timeout:g} s. Try again in a few minutes.",
        )
    errors = [lk.error for lk in (cname, txt) if lk.status == "error"]
    if errors:
        return result(
            None,
            FailureReason.DNS_ERROR,
            f"The DNS servers could not answer for {name} ({errors[0]}). "
            "Check the domain's DNS hosting, then try again.",
        )
    if target is not None:
        return result(
            None,
            FailureReason.CNAME_MISMATCH,
            f"{name} has a CNAME to {target}, not to {host}. Change the CNAME target to {host}"
            f" or add a TXT record at {txt_name} with the token.",
        )
    if txt.values:
        return result(
            None,
            FailureReason.TOKEN_MISMATCH,
            f"The TXT record at {txt_name} does not hold this domain's token "
            f"({len(txt.values)} value(s) found). Copy the token exactly as shown.",
        )
    if cname.status == "nxdomain":
        return result(None, FailureReason.NXDOMAIN, f"{name} does not exist in DNS. {fix}")
    return result(
        None,
        FailureReason.NO_RECORD,
        f"{name} has no CNAME and {txt_name} has no TXT record. {fix}",
    )
