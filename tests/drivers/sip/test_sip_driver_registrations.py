"""safecity.drivers.sip.list_registrations: Kamailio JSON-RPC ul.dump over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from safecity.drivers.sip import PlatformRegistration, list_registrations
from safecity.errors import DeviceRejected, DeviceTimeout, DeviceUnreachable

if TYPE_CHECKING:
    from conftest import Peers

KAMAILIO_DUMP = Path(__file__).parent / "kamailio_5_6_ul_dump.json"

Serve = Callable[[web.Response], Awaitable[str]]


@pytest.fixture
async def serve_http(peers: Peers) -> AsyncIterator[Serve]:
    """A real HTTP server answering POST /RPC with a fixed reply (a recorded Kamailio one)."""
    runners: list[web.AppRunner] = []

    async def serve(reply: web.Response) -> str:
        async def handle(request: web.Request) -> web.Response:
            payload = await request.json()
            assert payload["method"] == "ul.dump" and payload["jsonrpc"] == "2.0"
            return reply

        app = web.Application()
        app.router.add_post("/RPC", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        host = peers.host()
        await web.TCPSite(runner, host, 5080).start()
        return f"http://{host}:5080/RPC"

    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_lab_registrations_are_listed(peers: Peers) -> None:
    server = peers.host()
    await peers.registrar(server, rpc_port=5080)
    device = await peers.device(server)
    await device.wait_for_state("registered", timeout=10)
    await peers.eventually(lambda: device.keepalives_answered >= 1)

    found = await list_registrations(f"http://{server}:5080/RPC", timeout=5)

    assert len(found) == 1
    reg = found[0]
    assert reg.device_id == peers.DEVICE_ID
    assert reg.contact == f"sip:{peers.DEVICE_ID}@{device.config.local_host}:5060"
    assert reg.expires is not None and 3590 <= reg.expires <= 3600
    assert reg.user_agent == "safecity-lab-ipc/1"
    assert reg.last_keepalive_message is not None  # the lab's optional MANSCDP keepalive
    assert reg.last_seen is not None and abs(time.time() - reg.last_seen) < 5


async def test_stopped_device_disappears_from_the_list(peers: Peers) -> None:
    server = peers.host()
    await peers.registrar(server, rpc_port=5080)
    device = await peers.device(server)
    await device.wait_for_state("registered", timeout=10)
    await device.stop()

    assert await list_registrations(f"http://{server}:5080/RPC", timeout=5) == []


async def test_kamailio_5_6_dump_is_parsed(serve_http: Serve) -> None:
    url = await serve_http(web.Response(body=KAMAILIO_DUMP.read_bytes(),
                                        content_type="application/json"))

    found = await list_registrations(url, timeout=5)

    # The "expired" contact is not a registration; "permanent" has no expiry.
    assert found == [
        PlatformRegistration(device_id="34020000001320000001",
                             contact="sip:34020000001320000001@10.1.2.3:5060", expires=3512,
                             last_seen=1700000100.0, user_agent="IP Camera"),
        PlatformRegistration(device_id="34020000001180000001",
                             contact="sip:34020000001180000001@10.1.2.9:5060", expires=None,
                             last_seen=1700000050.0,
                             user_agent="kamailio SIP Router - RPC Server"),
    ]


async def test_jsonrpc_error_is_rejected(serve_http: Serve) -> None:
    url = await serve_http(web.json_response(
        {"jsonrpc": "2.0", "error": {"code": 500, "message": "Method Not Found"}, "id": 1}))
    with pytest.raises(DeviceRejected, match="ul.dump: JSON-RPC error 500: Method Not Found"):
        await list_registrations(url, timeout=5)


async def test_unexpected_shape_is_rejected(serve_http: Serve) -> None:
    url = await serve_http(web.Response(body=json.dumps(
        {"jsonrpc": "2.0", "result": {"Domain": "location"}, "id": 1}),
        content_type="application/json"))
    with pytest.raises(DeviceRejected, match="unexpected ul.dump shape"):
        await list_registrations(url, timeout=5)


async def test_http_error_is_rejected(serve_http: Serve) -> None:
    url = await serve_http(web.Response(status=500, text="boom"))
    with pytest.raises(DeviceRejected, match="ul.dump: HTTP 500"):
        await list_registrations(url, timeout=5)


async def test_closed_port_is_unreachable(peers: Peers) -> None:
    url = f"http://{peers.host()}:5080/RPC"
    with pytest.raises(DeviceUnreachable, match=f"^{url}: ul.dump: "):
        await list_registrations(url, timeout=5)


async def test_platform_down_times_out(peers: Peers) -> None:
    server = peers.host()
    registrar = await peers.registrar(server, rpc_port=5080)
    registrar.set_fault("down")
    with pytest.raises(DeviceTimeout, match="no answer in 0.5s"):
        await list_registrations(f"http://{server}:5080/RPC", timeout=0.5)
    registrar.set_fault(None)
    assert await asyncio.wait_for(
        list_registrations(f"http://{server}:5080/RPC", timeout=5), 10) == []
