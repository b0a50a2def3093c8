"""Malformed, oversized and hostile datagrams: answered 400 or ignored, never fatal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from safecity.lab.sip import LabGbDevice, LabRegistrar

if TYPE_CHECKING:
    from conftest import RawUdp, Testbed

Make = Callable[..., Any]


def request(gb: Testbed, host: str, *, cseq: str = "1 MESSAGE", body: bytes = b"",
            content_type: str = "Application/MANSCDP+xml", length: int | None = None,
            call_id: str = "bad-input-1") -> bytes:
    head = (f"MESSAGE sip:{gb.SERVER_ID}@{gb.DOMAIN} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:5060;rport;branch=z9hG4bK-{call_id}\r\n"
            f"From: <sip:{gb.DEVICE_ID}@{gb.DOMAIN}>;tag=abc\r\n"
            f"To: <sip:{gb.SERVER_ID}@{gb.DOMAIN}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n\r\n")
    return head.encode() + body


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                  b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>&lol2;</DeviceID>"
                  b"</Notify>")


@pytest.mark.parametrize(("name", "kwargs", "status"), [
    ("bad CSeq", {"cseq": "one MESSAGE"}, b"SIP/2.0 400 "),
    ("Content-Length beyond body", {"body": b"<x/>", "length": 400}, b"SIP/2.0 400 "),
    ("not XML", {"body": b"<Notify><CmdType>Keep"}, b"SIP/2.0 400 "),
    ("XML with DTD entities", {"body": BILLION_LAUGHS}, b"SIP/2.0 400 "),
    ("wrong content type", {"body": b"hello", "content_type": "text/plain"}, b"SIP/2.0 415 "),
])
async def test_malformed_requests_get_an_error_answer(
        gb: Testbed, make_registrar: Make, raw_udp: tuple[RawUdp, str], hosts: Callable[[], str],
        name: str, kwargs: dict[str, Any], status: bytes) -> None:
    server = hosts()
    await make_registrar(server)
    peer, host = raw_udp
    peer.send(request(gb, host, **kwargs), (server, 5060))
    answer = await peer.receive()
    assert answer.startswith(status), name
    assert b"Call-ID: bad-input-1" in answer


async def test_garbage_is_ignored_and_service_continues(
        gb: Testbed, make_registrar: Make, make_device: Make, raw_udp: tuple[RawUdp, str],
        hosts: Callable[[], str]) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    peer, _ = raw_udp
    junk = [
        b"", b"\x00" * 10, b"\xff\xfe garbage \r\n\r\n", b"hello world",
        b"SIP/2.0 200 OK\r\n\r\n",                      # a stray response
        b"REGISTER sip:x SIP/2.0\r\nVia: broken\r\n\r\n",  # no From/To/Call-ID/CSeq
        b"INVITE sip:a@b SIP/2.0\r\n" + b"X-Pad: " + b"a" * 30000 + b"\r\n\r\n",  # oversized
        bytes(range(256)) * 4,
    ]
    for datagram in junk:
        peer.send(datagram, (server, 5060))
    # The same malformed datagram to the device side as well.
    device: LabGbDevice = await make_device(gb.device_config(server, hosts(),
                                                             heartbeat_interval=5))
    for datagram in junk:
        peer.send(datagram, (device.config.local_host, 5060))

    assert await device.wait_for_state("registered", timeout=10) == "registered"
    items = await registrar.query_catalog(gb.DEVICE_ID, timeout=10)
    assert len(items) == 3
    # Nothing answered the junk (no request-shaped headers to route an answer with).
    assert peer.received.empty()


async def test_device_refuses_queries_from_a_foreign_platform(
        gb: Testbed, make_registrar: Make, make_device: Make, raw_udp: tuple[RawUdp, str],
        hosts: Callable[[], str]) -> None:
    server = hosts()
    await make_registrar(server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts(),
                                                             heartbeat_interval=5))
    await device.wait_for_state("registered", timeout=10)
    peer, host = raw_udp
    query = request(gb, host, body=b"<Query><CmdType>Catalog</CmdType><SN>7</SN>"
                                   b"<DeviceID>x</DeviceID></Query>")
    # From is the device's own ID here, not the platform's: 403.
    peer.send(query, (device.config.local_host, 5060))
    assert (await peer.receive()).startswith(b"SIP/2.0 403 ")
