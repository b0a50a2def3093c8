"""WS-Discovery responder: answers a Probe sent to the device's <host>:3702 with ProbeMatches.

Unicast only: the lab never joins the multicast group, so no lab packet can leave loopback.
A NonDiscoverable device stays silent, as ONVIF requires.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import cast
from xml.sax.saxutils import escape

from lxml import etree

from safecity.lab.onvif.soap import SAFE_PARSER, SOAP12, WSA

log = logging.getLogger(__name__)

DISCOVERY_PORT = 3702
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA_2004 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DN = "http://www.onvif.org/ver10/network/wsdl"
MAX_DATAGRAM = 64 * 1024
_OUR_TYPES = {"NetworkVideoTransmitter", "Device"}


def endpoint_uuid(serial: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'safecity-lab:' + serial)}"


class ProbeAnswer:
    """What a device says about itself in ProbeMatches (computed per probe: it can change)."""

    __slots__ = ("endpoint", "scopes", "xaddrs")

    def __init__(self, endpoint: str, xaddrs: str, scopes: list[str]) -> None:
        self.endpoint, self.xaddrs, self.scopes = endpoint, xaddrs, scopes


def _probe_matches(relates_to: str, answer: ProbeAnswer, addressing: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<env:Envelope xmlns:env="{SOAP12}" xmlns:wsa="{addressing}" xmlns:d="{WSD}"'
        f' xmlns:dn="{DN}" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><env:Header>'
        f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
        f"<wsa:RelatesTo>{escape(relates_to)}</wsa:RelatesTo>"
        f"<wsa:To>{addressing}/role/anonymous</wsa:To>"
        f"<wsa:Action>{WSD}/ProbeMatches</wsa:Action>"
        f"</env:Header><env:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<wsa:EndpointReference><wsa:Address>{answer.endpoint}</wsa:Address>"
        f"</wsa:EndpointReference>"
        f"<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        f"<d:Scopes>{escape(' '.join(answer.scopes))}</d:Scopes>"
        f"<d:XAddrs>{escape(answer.xaddrs)}</d:XAddrs>"
        f"<d:MetadataVersion>1</d:MetadataVersion>"
        f"</d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>"
    ).encode()


def answer_probe(data: bytes, answer: ProbeAnswer | None) -> bytes | None:
    """The ProbeMatches reply to ``data``, or None (not a probe, filtered out, or silent)."""
    if answer is None or len(data) > MAX_DATAGRAM:
        return None
    try:
        root = etree.fromstring(data, SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None
    probe = root.find(f".//{{{WSD}}}Probe")
    if probe is None:
        return None
    types = (probe.findtext(f"{{{WSD}}}Types") or "").split()
    if types and not any(t.rpartition(":")[2] in _OUR_TYPES for t in types):
        return None
    wanted_scopes = (probe.findtext(f"{{{WSD}}}Scopes") or "").split()
    if any(not any(s.startswith(w.rstrip("/")) for s in answer.scopes) for w in wanted_scopes):
        return None
    addressing = WSA_2004
    msg_id = root.findtext(f".//{{{WSA_2004}}}MessageID")
    if msg_id is None:
        msg_id = root.findtext(f".//{{{WSA}}}MessageID")
        addressing = WSA if msg_id is not None else WSA_2004
    return _probe_matches((msg_id or "").strip(), answer, addressing)


class DiscoveryResponder(asyncio.DatagramProtocol):
    """One per device; ``describe`` returns None while the device must stay silent."""

    def __init__(self, describe: Callable[[], ProbeAnswer | None]) -> None:
        self.describe = describe
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        reply = answer_probe(data, self.describe())
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("discovery socket error: %s", exc)
