"""Bad input, HTTP digest instead of WS-Security, WS-Discovery and many devices in one lab."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from lxml import etree
from onvif import ONVIFCamera
from onvif_lab_support import (
    ADMIN,
    HTTP_PORT,
    NS,
    fault_subcodes,
    make_spec,
    post_soap,
    soap,
    within,
)

from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab

TDS = "http://www.onvif.org/ver10/device/wsdl"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"


async def test_malformed_unknown_and_oversized_requests(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    a, b = make_spec("edge-a"), make_spec("edge-b")
    await lab_factory(a, b)
    url = f"http://{a.host}:{HTTP_PORT}/onvif/device_service"
    status, ctype, doc = await post_soap(url, b"<s:Envelope><not-closed>")
    assert status == 400 and ctype.startswith("application/soap+xml")
    assert fault_subcodes(doc) == ["ter:WellFormed"]
    assert doc is not None and doc.findtext(".//env:Code/env:Value", namespaces=NS) == "env:Sender"
    status, _, doc = await post_soap(url, soap(f'<tds:FlyToTheMoon xmlns:tds="{TDS}"/>'))
    assert status == 500 and fault_subcodes(doc) == ["ter:ActionNotSupported"]
    status, _, doc = await post_soap(  # a device operation posted to the media service
        f"http://{a.host}:{HTTP_PORT}/onvif/media_service",
        soap(f'<tds:GetHostname xmlns:tds="{TDS}"/>'))
    assert status == 500 and fault_subcodes(doc) == ["ter:ActionNotSupported"]
    billion = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
               + soap(f'<tds:SetHostname xmlns:tds="{TDS}"><tds:Name>&b;</tds:Name>'
                      "</tds:SetHostname>").split(b"?>", 1)[1])
    status, _, doc = await post_soap(url, billion)
    assert status == 400  # refused as a sender fault; the parser never expands entities
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as s, \
            s.post(url, data=b"<" + b"a" * (1024 * 1024 + 10)) as r:
        assert r.status == 413
    # The lab keeps serving every device, including the one that got the garbage.
    for spec in (a, b):
        cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
        try:
            dm = await cam.create_devicemgmt_service()
            assert (await within(dm.GetHostname())).Name == spec.name
        finally:
            await cam.close()


async def test_http_digest_instead_of_ws_security(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("digest", "dahua/IPC-HFW2431S-S-S2")
    await lab_factory(spec)
    url = f"http://{spec.host}:{HTTP_PORT}/onvif/device_service"
    body = soap(f'<tds:GetHostname xmlns:tds="{TDS}"/>')
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as s, \
            s.post(url, data=body, headers=headers) as r:
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Digest ")
    async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=15),
            middlewares=(aiohttp.DigestAuthMiddleware(*ADMIN),)) as s, \
            s.post(url, data=body, headers=headers) as r:
        assert r.status == 200
        doc = etree.fromstring(await r.read())
        assert doc.findtext(".//tt:Name", namespaces=NS) == "digest"


def _probe(types: str = "dn:NetworkVideoTransmitter") -> tuple[bytes, str]:
    msg_id = f"urn:uuid:{uuid.uuid4()}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        f'xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><e:Header>'
        f"<w:MessageID>{msg_id}</w:MessageID>"
        "<w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
        f"<w:Action>{WSD}/Probe</w:Action></e:Header><e:Body><d:Probe>"
        f"<d:Types>{types}</d:Types></d:Probe></e:Body></e:Envelope>").encode(), msg_id


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.replies.put_nowait(data)


async def _probe_device(spec: OnvifDeviceSpec, types: str = "dn:NetworkVideoTransmitter",
                        wait: float = 5.0) -> tuple[bytes | None, str]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        _Collector, local_addr=("127.0.0.1", 0))
    try:
        payload, msg_id = _probe(types)
        transport.sendto(payload, (spec.host, 3702))
        try:
            return await asyncio.wait_for(proto.replies.get(), wait), msg_id
        except TimeoutError:
            return None, msg_id
    finally:
        transport.close()


async def test_ws_discovery_probe_answered_unless_non_discoverable(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("disco")
    await lab_factory(spec)
    reply, msg_id = await _probe_device(spec)
    assert reply is not None
    doc = etree.fromstring(reply)
    ns = {"d": WSD, "w": "http://schemas.xmlsoap.org/ws/2004/08/addressing"}
    assert doc.findtext(".//w:RelatesTo", namespaces=ns) == msg_id
    assert doc.findtext(".//d:XAddrs", namespaces=ns) == (
        f"http://{spec.host}:{HTTP_PORT}/onvif/device_service")
    assert "onvif://www.onvif.org/name/disco" in (doc.findtext(".//d:Scopes", namespaces=ns)
                                                  or "")
    # A probe for a type the device is not gets no answer (checked with a short wait).
    other, _ = await _probe_device(spec, "x:Printer", wait=0.3)
    assert other is None
    cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.SetDiscoveryMode({"DiscoveryMode": "NonDiscoverable"}))
    finally:
        await cam.close()
    silent, _ = await _probe_device(spec, wait=0.3)
    assert silent is None


async def test_one_lab_serves_many_devices(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    specs = [make_spec(f"bulk{i}") for i in range(100)]
    lab = await lab_factory(*specs)
    assert len(lab.status()) == 100 and {d["phase"] for d in lab.status()} == {"up"}

    async def hostname(spec: OnvifDeviceSpec) -> str:
        status, _, doc = await post_soap(
            f"http://{spec.host}:{HTTP_PORT}/onvif/device_service",
            soap(f'<tds:GetSystemDateAndTime xmlns:tds="{TDS}"/>'))
        assert status == 200 and doc is not None
        return spec.name

    names = await asyncio.gather(*(hostname(s) for s in specs[::10]))
    assert names == [s.name for s in specs[::10]]
