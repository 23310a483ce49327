"""A small authoritative DNS server (dnslib, UDP on 127.0.0.1, free port) for the notebooks.

:func:`start_zone` starts it; :meth:`Zone.add` adds records (A, AAAA, CNAME, TXT) while it
runs, and every query reads the current records. A name with records of another type gets
an empty answer; an unknown name gets NXDOMAIN. :attr:`Zone.queries` lists what was asked.
Point a portal at it with ``Domains/Nameservers: 127.0.0.1:<zone.port>``.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

__all__ = ["Zone", "start_zone"]

_RDATA = {"A": A, "AAAA": AAAA, "CNAME": CNAME, "TXT": lambda v: TXT([v])}
_RUNNING: list[Zone] = []


@dataclass
class Zone(BaseResolver):
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    queries: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    _server: Any = None

    def add(self, name: str, rtype: str, value: str) -> None:
        self.records.setdefault((name.lower().rstrip("."), rtype), []).append(value)

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        for value in self.records.get((qname, qtype), []):
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, qtype),
                                rdata=_RDATA[qtype](value), ttl=60))
        if not reply.rr and not any(n == qname or n.endswith("." + qname)
                                    for n, _ in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    def stop(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
            self._server.server.shutdown()
            self._server.server.server_close()


def start_zone() -> Zone:
    """Serve an empty zone on a free UDP port of 127.0.0.1 (stopped at exit at the latest)."""
    zone = Zone()
    logger = DNSLogger(log="-recv,-send,-request,-reply,-truncated,-error,-data",
                       logf=lambda _: None)
    zone._server = DNSServer(zone, address="127.0.0.1", port=0, logger=logger)
    zone.port = zone._server.server.server_address[1]
    threading.Thread(target=zone._server.server.serve_forever,
                     kwargs={"poll_interval": 0.02}, daemon=True).start()
    _RUNNING.append(zone)
    return zone


@atexit.register
def _clean_up() -> None:
    for zone in list(_RUNNING):
        with contextlib.suppress(Exception):
            zone.stop()
