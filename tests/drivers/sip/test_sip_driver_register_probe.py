"""safecity.drivers.sip.register_probe against the lab registrar and against SIPp."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from safecity.drivers.sip import register_probe
from safecity.errors import DeviceUnreachable

if TYPE_CHECKING:
    from conftest import Peers

GB_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


@pytest.mark.parametrize("qop", [False, True])
async def test_right_password_gets_200_with_date_and_leaves_nothing_behind(
        peers: Peers, qop: bool) -> None:
    server = peers.host()
    registrar = await peers.registrar(server, qop=qop)

    result = await register_probe(server, 5060, peers.DEVICE_ID, peers.PASSWORD,
                                  peers.SERVER_ID, peers.DOMAIN, expires=120,
                                  local_host=peers.host())

    assert (result.status, result.challenged, result.expires) == (200, True, 120)
    assert result.date is not None and GB_DATE.match(result.date)
    assert registrar.registrations() == []  # unregistered again (Expires: 0)


async def test_probe_can_keep_its_binding(peers: Peers) -> None:
    server, local = peers.host(), peers.host()
    registrar = await peers.registrar(server)

    result = await register_probe(server, 5060, peers.DEVICE_ID, peers.PASSWORD,
                                  peers.SERVER_ID, peers.DOMAIN, local_host=local,
                                  unregister=False)

    assert result.status == 200
    reg = registrar.registration(peers.DEVICE_ID)
    assert reg is not None and reg.contact.startswith(f"sip:{peers.DEVICE_ID}@{local}:")


@pytest.mark.parametrize(("device_id", "password"), [
    ("34020000001320000009", "wrong"),          # known device, wrong password
    ("34020000001320000777", "driver-Pass-1"),  # unknown device
])
async def test_refusals_are_results(peers: Peers, device_id: str, password: str) -> None:
    server = peers.host()
    registrar = await peers.registrar(server)

    result = await register_probe(server, 5060, device_id, password, peers.SERVER_ID,
                                  peers.DOMAIN, local_host=peers.host())

    assert (result.status, result.challenged, result.expires) == (403, True, None)
    assert registrar.registrations() == []


async def test_third_party_registrar_accepts_the_driver_digest(peers: Peers) -> None:
    server = peers.host()
    proc = await peers.sipp_registrar(server)  # verifies the digest itself (verifyauth)

    result = await register_probe(server, 5060, peers.DEVICE_ID, peers.PASSWORD,
                                  peers.SERVER_ID, peers.DOMAIN, local_host=peers.host(),
                                  unregister=False)

    assert (result.status, result.date, result.expires) == (200, "2020-01-02T03:04:05.678", 3600)
    assert await proc.wait() == 0


async def test_third_party_registrar_rejects_a_wrong_password(peers: Peers) -> None:
    server = peers.host()
    await peers.sipp_registrar(server)

    result = await register_probe(server, 5060, peers.DEVICE_ID, "wrong", peers.SERVER_ID,
                                  peers.DOMAIN, local_host=peers.host(), unregister=False)

    assert result.status == 403


async def test_silent_registrar_is_unreachable(peers: Peers) -> None:
    with pytest.raises(DeviceUnreachable,
                       match=f"^{peers.SERVER_ID}: register: no answer from"):
        await register_probe(peers.host(), 5060, peers.DEVICE_ID, peers.PASSWORD,
                             peers.SERVER_ID, peers.DOMAIN, timeout=0.8,
                             local_host=peers.host())
