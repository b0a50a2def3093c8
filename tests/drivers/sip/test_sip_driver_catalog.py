"""safecity.drivers.sip.query_catalog against the lab's GB/T 28181 device, over UDP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from safecity.drivers.sip import CatalogItem, query_catalog
from safecity.errors import AuthFailed, DeviceUnreachable

if TYPE_CHECKING:
    from conftest import Peers


async def test_catalog_has_every_channel_across_pages(peers: Peers) -> None:
    server = peers.host()
    await peers.registrar(server)
    device = await peers.device(server, channels=peers.channels(10), heartbeat_interval=5)
    await device.wait_for_state("registered", timeout=10)

    items = await query_catalog(device.config.local_host, 5060, peers.DEVICE_ID,
                                peers.SERVER_ID, peers.DOMAIN, timeout=10,
                                local_host=peers.host())

    # 10 channels in pages of 4; names survive GB2312 through two independent codecs.
    assert [(i.device_id, i.name) for i in items] == peers.channels(10)
    assert items[0] == CatalogItem(
        device_id=peers.channels(1)[0][0], name="卡口 1 gate", civil_code="340200",
        parent_id=peers.DEVICE_ID, status="ON", manufacturer="safecity-lab", model="IPC-LAB",
        address="Address")


async def test_catalog_of_a_device_without_channels_is_empty(peers: Peers) -> None:
    server = peers.host()
    await peers.registrar(server)
    device = await peers.device(server, channels=[], heartbeat_interval=5)
    await device.wait_for_state("registered", timeout=10)

    assert await query_catalog(device.config.local_host, 5060, peers.DEVICE_ID,
                               peers.SERVER_ID, peers.DOMAIN, timeout=10,
                               local_host=peers.host()) == []


async def test_device_refuses_a_platform_it_does_not_belong_to(peers: Peers) -> None:
    server = peers.host()
    await peers.registrar(server)
    device = await peers.device(server, heartbeat_interval=5)
    await device.wait_for_state("registered", timeout=10)

    with pytest.raises(AuthFailed, match=f"^{peers.DEVICE_ID}: catalog: 403"):
        await query_catalog(device.config.local_host, 5060, peers.DEVICE_ID,
                            "34020000002000000099", peers.DOMAIN, timeout=5,
                            local_host=peers.host())


async def test_silent_device_is_unreachable(peers: Peers) -> None:
    with pytest.raises(DeviceUnreachable, match="no answer from"):
        await query_catalog(peers.host(), 5060, peers.DEVICE_ID, peers.SERVER_ID,
                            peers.DOMAIN, timeout=0.8, local_host=peers.host())
