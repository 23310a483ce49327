"""The client address behind reverse proxies, and allow/deny rules over it.

:func:`client_address` believes ``X-Forwarded-For`` or RFC 7239 ``Forwarded`` only when the
TCP peer is a trusted proxy, and then walks the hops right to left, stopping at the first
address that is not a trusted proxy. Entries a client writes itself sit to the *left* of
what its first trusted proxy appends, so prepending addresses cannot move the result.

:class:`IpRules` holds an allow list and a deny list (addresses and CIDR ranges, IPv4 and
IPv6) and :meth:`IpRules.decide` answers with a :class:`Decision`. Deny wins over allow; an
empty allow list allows everyone not denied.

IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``) are treated as the IPv4 address
everywhere: in peers, header entries, trusted proxies and rules. Results are always
unmapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Literal

__all__ = [
    "Decision",
    "IPAddress",
    "IPNetwork",
    "IpRules",
    "client_address",
    "parse_networks",
]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_PORT = re.compile(r"^(?:\d{1,5}|_[A-Za-z0-9._-]+)$")  # RFC 7239 node-port, obfuscated too
_OWS = " \t"


def _unmap(addr: IPAddress) -> IPAddress:
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _unmap_network(net: IPNetwork) -> IPNetwork:
    mapped = net.network_address
    if isinstance(mapped, IPv6Address) and mapped.ipv4_mapped is not None and net.prefixlen >= 96:
        return IPv4Network(f"{mapped.ipv4_mapped}/{net.prefixlen - 96}")
    return net


def _parse_node(text: str) -> IPAddress | None:
    """An address from an XFF entry or a Forwarded ``for=`` value; None if unusable.

    Accepts ``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1``, ``[2001:db8::1]``,
    ``[2001:db8::1]:443`` (optionally in double quotes). ``unknown``, obfuscated
    identifiers (``_hidden``) and anything malformed give None.
    """
    node = text.strip(_OWS)
    if len(node) >= 2 and node[0] == node[-1] == '"':
        node = node[1:-1]
    try:
        if node.startswith("["):
            host, sep, rest = node[1:].partition("]")
            if not sep or (rest and not (rest[0] == ":" and _PORT.match(rest[1:]))):
                return None
            addr = IPv6Address(host)
        elif node.count(":") == 1:
            host, port = node.split(":")
            if not _PORT.match(port):
                return None
            addr = IPv4Address(host)
        else:
            addr = ip_address(node)
    except ValueError:
        return None
    return _unmap(addr)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """All values of ``name`` (any case), comma-joined in order; None if absent."""
    values = [v for k, v in headers.items() if k.lower() == name]
    return ",".join(values) if values else None


def _forwarded_for(value: str) -> list[str | None] | None:
    """The ``for=`` value of each Forwarded element (None where absent).

    Returns None when the header is not well-formed enough to split into elements
    (unterminated quote, a parameter without ``=``, a repeated parameter, stray text).
    """
    elements: list[str | None] = []
    params: dict[str, str] = {}
    i, n = 0, len(value)
    while True:
        while i < n and value[i] in _OWS:
            i += 1
        if i < n and value[i] == ",":  # empty list element
            i += 1
            continue
        if i >= n:
            return elements
        eq = value.find("=", i)
        name = value[i:eq].strip(_OWS).lower() if eq >= 0 else ""
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name) or name in params:
            return None
        i = eq + 1
        if i < n and value[i] == '"':
            chars, i = [], i + 1
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(value[i])
                i += 1
            if i >= n:
                return None
            i += 1
            params[name] = "".join(chars)
        else:
            start = i
            while i < n and value[i] not in ';,"' + _OWS:
                i += 1
            params[name] = value[start:i]
        while i < n and value[i] in _OWS:
            i += 1
        if i < n and value[i] == ";":
            i += 1
            continue
        if i < n and value[i] != ",":
            return None
        elements.append(params.get("for"))
        params = {}


def _as_network(item: IPNetwork | IPAddress | str) -> IPNetwork:
    if isinstance(item, IPv4Network | IPv6Network):
        return _unmap_network(item)
    return _unmap_network(ip_network(str(item).strip(), strict=False))


def _within(addr: IPAddress, net: IPNetwork) -> bool:
    return addr.version == net.version and addr in net


def _trusted(addr: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(_within(addr, net) for net in networks)


def client_address(
    peer: str,
    headers: Mapping[str, str],
    trusted_proxies: Sequence[IPNetwork | IPAddress | str],
    *,
    header: Literal["auto", "x-forwarded-for", "forwarded"] = "auto",
) -> IPAddress:
    """Return the address of the client that made the request.

    ``peer`` is the TCP peer (``host``, ``host:port`` or ``[v6]:port``); a peer that is not
    an address raises :class:`ValueError`. ``headers`` is looked up case-insensitively
    (several values of one header are joined in order). ``trusted_proxies`` are networks
    (or addresses/strings) of the proxies in front of the app.

    If the peer is not a trusted proxy it is the answer, whatever the headers say.
    Otherwise the chosen header's hops are walked right to left: trusted proxies are
    skipped and the first other address is returned. If the walk reaches a hop that is
    ``unknown``, obfuscated or malformed - or the header is missing or unparseable - the
    last trusted hop reached is returned; if every hop is trusted, the left-most one.

    ``header`` picks the header: ``"x-forwarded-for"`` or ``"forwarded"`` use only that
    one; ``"auto"`` uses X-Forwarded-For when present, else Forwarded. Name the header
    your proxy sets when it sets only ``Forwarded``: a proxy passes the other header
    through from the client untouched, and ``"auto"`` would then believe a client-written
    X-Forwarded-For.
    """
    start = _parse_node(peer) if isinstance(peer, str) else None
    if start is None:
        raise ValueError(f"peer {peer!r} is not an IP address")
    networks = [_as_network(item) for item in trusted_proxies]
    if not _trusted(start, networks):
        return start

    xff = _header(headers, "x-forwarded-for") if header != "forwarded" else None
    hops: list[str | None] | None
    if xff is not None:
        hops = [entry.strip(_OWS) or None for entry in xff.split(",")]
    elif header != "x-forwarded-for" and (fwd := _header(headers, "forwarded")) is not None:
        hops = _forwarded_for(fwd)
    else:
        hops = None

    last = start
    for hop in reversed(hops or []):
        addr = _parse_node(hop) if hop is not None else None
        if addr is None:
            return last
        if not _trusted(addr, networks):
            return addr
        last = addr
    return last


# --- allow / deny rules ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether an address may pass, why (a sentence for logs and admins), and which rule."""

    allowed: bool
    reason: str
    rule: IPNetwork | None = None


def parse_networks(text: str, *, label: str = "list") -> tuple[IPNetwork, ...]:
    """Parse addresses and CIDR ranges separated by commas or newlines.

    Blank entries and ``#`` comments (to the end of the line) are ignored. A bare address
    becomes a /32 or /128. Mapped IPv6 (``::ffff:10.0.0.0/104``) becomes IPv4
    (``10.0.0.0/8``). Raises :class:`ValueError` naming every bad entry, e.g. a range with
    host bits set (``10.0.0.1/24``), which is rejected with the network it probably meant.
    """
    entries = []
    for line in text.splitlines():
        entries += [e.strip() for e in line.split("#", 1)[0].split(",")]
    networks: list[IPNetwork] = []
    problems: list[str] = []
    for number, entry in enumerate((e for e in entries if e), start=1):
        try:
            networks.append(_parse_entry(entry))
        except ValueError as exc:
            problems.append(f"entry {number} {entry!r}: {exc}")
    if problems:
        raise ValueError(f"{label}: " + "; ".join(problems))
    return tuple(networks)


def _parse_entry(entry: str) -> IPNetwork:
    address, slash, prefix = entry.partition("/")
    try:
        addr = ip_address(address.strip("[]"))
    except ValueError:
        raise ValueError("not an IPv4/IPv6 address or CIDR range (e.g. 10.0.0.0/8)") from None
    if slash:
        if not prefix.isdigit():
            raise ValueError(f"prefix length {prefix!r} is not a number")
        maximum = addr.max_prefixlen
        if int(prefix) > maximum:
            raise ValueError(
                f"prefix length /{prefix} is too long for IPv{addr.version} (max /{maximum})"
            )
        try:
            network = ip_network(f"{addr}/{int(prefix)}")
        except ValueError:
            meant = ip_network(f"{addr}/{int(prefix)}", strict=False)
            raise ValueError(f"host bits are set; did you mean {meant}?") from None
    else:
        network = ip_network(addr)
    return _unmap_network(network)


class IpRules:
    """An allow list and a deny list of networks; immutable after construction.

    Entries may be networks, addresses or strings (``"10.0.0.0/8"``, ``"2001:db8::1"``);
    bad strings raise :class:`ValueError` as in :func:`parse_networks`.
    """

    __slots__ = ("allow", "deny")

    allow: tuple[IPNetwork, ...]
    deny: tuple[IPNetwork, ...]

    def __init__(
        self,
        allow: Iterable[IPNetwork | IPAddress | str] = (),
        deny: Iterable[IPNetwork | IPAddress | str] = (),
    ) -> None:
        object.__setattr__(self, "allow", self._coerce(allow, "allow list"))
        object.__setattr__(self, "deny", self._coerce(deny, "deny list"))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("IpRules is immutable")

    @staticmethod
    def _coerce(items: Iterable[IPNetwork | IPAddress | str], label: str) -> tuple[IPNetwork, ...]:
        if isinstance(items, str):
            return parse_networks(items, label=label)
        result: list[IPNetwork] = []
        for item in items:
            if isinstance(item, str):
                result += parse_networks(item, label=label)
            elif isinstance(item, IPv4Address | IPv6Address):
                result.append(_unmap_network(ip_network(item)))
            else:
                result.append(_unmap_network(item))
        return tuple(result)

    @classmethod
    def parse(cls, allow: str = "", deny: str = "") -> IpRules:
        """Build rules from two comma/newline separated strings (see :func:`parse_networks`)."""
        return cls(
            parse_networks(allow, label="allow list"), parse_networks(deny, label="deny list")
        )

    def __repr__(self) -> str:
        allow, deny = ([str(n) for n in nets] for nets in (self.allow, self.deny))
        return f"IpRules(allow={allow}, deny={deny})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IpRules):
            return NotImplemented
        return (self.allow, self.deny) == (other.allow, other.deny)

    def __hash__(self) -> int:
        return hash((self.allow, self.deny))

    def decide(self, addr: IPAddress | str) -> Decision:
        """Deny if a deny entry contains ``addr``; else allow if the allow list is empty or
        an entry contains it; else deny. A string that is not an address raises ValueError.
        """
        client = _unmap(ip_address(addr.strip() if isinstance(addr, str) else addr))
        for net in self.deny:
            if _within(client, net):
                return Decision(False, f"{client} is denied by {net}", net)
        if not self.allow:
            return Decision(True, f"{client} is allowed: the allow list is empty")
        for net in self.allow:
            if _within(client, net):
                return Decision(True, f"{client} is allowed by {net}", net)
        return Decision(False, f"{client} is not on the allow list")
