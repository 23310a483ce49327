"""A real authoritative DNS server for tests: dnslib over UDP on 127.0.0.1, free port.

Tests edit :attr:`ZoneServer.records` (and ``servfail``) while the server runs; each query
reads the current state. Behaviour follows a plain authoritative server:

* a name with records of the asked type gets them (a CNAME query returns the CNAME);
* a name that exists with other types only gets NOERROR and an empty answer (NODATA);
* a name that is neither in ``records`` nor an ancestor of a name in it gets NXDOMAIN;
* a name in ``servfail`` gets SERVFAIL;
* a query for a name in ``drop`` is never answered (the client times out).

:func:`silent_udp_socket` gives a bound UDP port that never answers, for timeouts.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, TXT, A, DNSError, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

__all__ = ["ZoneServer", "running_zone", "silent_udp_socket"]

_RDATA = {"A": A, "AAAA": AAAA, "CNAME": CNAME, "TXT": TXT}


@dataclass
class ZoneServer:
    """Zone contents keyed by (lower-case name without trailing dot, type)."""

    records: dict[tuple[str, str], list[str | list[str]]] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    port: int = 0
    queries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, rtype: str, *values: str | list[str]) -> None:
        """Add records; a TXT value given as a list becomes one record of several strings."""
        self.records.setdefault((name.lower().rstrip("."), rtype), []).extend(values)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def _exists(self, name: str) -> bool:
        return any(n == name or n.endswith("." + name) for n, _ in self.records)

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        if qname in self.drop:
            raise DNSError(f"dropping query for {qname}")  # dnslib then sends nothing
        if qname in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        values = self.records.get((qname, qtype))
        if values:
            for value in values:
                rdata = _rdata(qtype, value)
                reply.add_answer(RR(request.q.qname, getattr(QTYPE, qtype), rdata=rdata, ttl=60))
        elif not self._exists(qname):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def _rdata(rtype: str, value: str | list[str]) -> object:
    if rtype == "TXT":
        return TXT(value if isinstance(value, list) else [value])
    return _RDATA[rtype](value)


class _Resolver(BaseResolver):
    def __init__(self, zone: ZoneServer) -> None:
        self.zone = zone

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        return self.zone.resolve(request, handler)


@contextlib.contextmanager
def running_zone() -> Iterator[ZoneServer]:
    """Run a :class:`ZoneServer` on 127.0.0.1 (UDP, free port) for the ``with`` block."""
    zone = ZoneServer()
    logger = DNSLogger(
        log="-recv,-send,-request,-reply,-truncated,-error,-data", logf=lambda _: None
    )
    server = DNSServer(_Resolver(zone), address="127.0.0.1", port=0, logger=logger)
    zone.port = server.server.server_address[1]
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield zone
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def silent_udp_socket() -> Iterator[tuple[str, int]]:
    """A bound UDP port on 127.0.0.1 that swallows every query, so lookups time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()
    finally:
        sock.close()
