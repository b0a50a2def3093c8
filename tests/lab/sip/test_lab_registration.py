"""LabGbDevice <-> LabRegistrar over real UDP sockets on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from safecity.errors import LabError
from safecity.lab.sip import LabGbDevice, LabRegistrar

if TYPE_CHECKING:
    from conftest import Testbed


Make = Callable[..., Any]


async def test_device_registers_with_digest_and_gets_date(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server, local = hosts(), hosts()
    registrar: LabRegistrar = await make_registrar(server, qop=True)
    device: LabGbDevice = await make_device(gb.device_config(server, local, heartbeat_interval=5))

    assert await device.wait_for_state("registered", "auth_failed", timeout=10) == "registered"
    reg = registrar.registration(gb.DEVICE_ID)
    assert reg is not None
    assert reg.contact == f"sip:{gb.DEVICE_ID}@{local}:5060"
    assert reg.source == (local, 5060)
    assert reg.expires_at - reg.registered_at == pytest.approx(3600)
    # The device read the platform's Date header (same host clock: offset near zero).
    assert device.platform_clock_offset is not None
    assert abs(device.platform_clock_offset) < 1.0


async def test_wrong_password_is_forbidden_and_device_reports_auth_failed(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(
        gb.device_config(server, hosts(), password="not-" + gb.PASSWORD))

    assert await device.wait_for_state("auth_failed", "registered", timeout=10) == "auth_failed"
    assert device.last_status == 403
    assert registrar.registrations() == []


async def test_unknown_device_is_refused(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server, subscribers={})
    device: LabGbDevice = await make_device(gb.device_config(server, hosts()))

    assert await device.wait_for_state("auth_failed", "registered", timeout=10) == "auth_failed"
    assert device.last_status == 403
    assert registrar.registrations() == []


async def test_added_subscriber_registers_on_next_retry(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server, subscribers={})
    device: LabGbDevice = await make_device(gb.device_config(server, hosts()))
    await device.wait_for_state("auth_failed", timeout=10)

    registrar.add_subscriber(gb.DEVICE_ID, gb.PASSWORD)
    assert await device.wait_for_state("registered", timeout=10) == "registered"


async def test_keepalive_updates_last_keepalive(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts()))
    await device.wait_for_state("registered", timeout=10)

    await gb.eventually(lambda: device.keepalives_answered >= 1)
    first = registrar.registration(gb.DEVICE_ID)
    assert first is not None and first.last_keepalive is not None
    seen = first.last_keepalive
    await gb.eventually(lambda: device.keepalives_answered >= 3)
    later = registrar.registration(gb.DEVICE_ID)
    assert later is not None and later.last_keepalive is not None
    assert later.last_keepalive > seen
    assert time.time() - later.last_keepalive < 5


async def test_refreshes_before_expiry(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts(), expires=1,
                                                          heartbeat_interval=5))
    await device.wait_for_state("registered", timeout=10)
    first = registrar.registration(gb.DEVICE_ID)
    assert first is not None

    # Two refreshes: the binding never lapsed in between (else the registrar purges it).
    await gb.eventually(lambda: (r := registrar.registration(gb.DEVICE_ID)) is not None
                     and r.register_count >= 3)
    refreshed = registrar.registration(gb.DEVICE_ID)
    assert refreshed is not None
    assert refreshed.expires_at > first.expires_at
    assert refreshed.call_id == first.call_id  # refreshes keep the Call-ID
    assert device.state == "registered"


async def test_stop_deregisters(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts()))
    await device.wait_for_state("registered", timeout=10)
    assert registrar.registration(gb.DEVICE_ID) is not None

    await device.stop()
    assert device.state == "idle"
    assert registrar.registration(gb.DEVICE_ID) is None


async def test_registrar_down_makes_device_unreachable_then_it_recovers(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts()))
    await device.wait_for_state("registered", timeout=10)
    count = device.register_count

    registrar.set_fault("down")
    assert await device.wait_for_state("unreachable", timeout=10) == "unreachable"
    registrar.set_fault(None)
    assert await device.wait_for_state("registered", timeout=10) == "registered"
    assert device.register_count > count


async def test_forgotten_device_reregisters_after_keepalive_refused(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts(), retry_interval=30))
    await device.wait_for_state("registered", timeout=10)

    # A platform restart loses its bindings; the next keepalive is refused with 404 and the
    # device registers again at once (not after the 30 s retry interval).
    count = device.register_count
    registrar.remove_subscriber(gb.DEVICE_ID)
    registrar.add_subscriber(gb.DEVICE_ID, gb.PASSWORD)
    await gb.eventually(lambda: device.register_count > count, timeout=10)
    assert device.state == "registered"
    assert registrar.registration(gb.DEVICE_ID) is not None


async def test_catalog_query_collects_every_page(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(
        gb.device_config(server, hosts(), channels=gb.channels(10), heartbeat_interval=5))
    await device.wait_for_state("registered", timeout=10)

    items = await registrar.query_catalog(gb.DEVICE_ID, timeout=10)

    assert [(i.device_id, i.name) for i in items] == gb.channels(10)  # 3 pages of <= 4
    assert {i.status for i in items} == {"ON"}
    assert {i.civil_code for i in items} == {"340200"}
    assert {i.parent_id for i in items} == {gb.DEVICE_ID}


async def test_catalog_of_device_without_channels_is_empty(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(
        gb.device_config(server, hosts(), channels=[], heartbeat_interval=5))
    await device.wait_for_state("registered", timeout=10)

    assert await registrar.query_catalog(gb.DEVICE_ID, timeout=10) == []


async def test_catalog_of_unregistered_device_is_an_error(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make) -> None:
    registrar: LabRegistrar = await make_registrar(hosts())
    with pytest.raises(LabError, match="is not registered"):
        await registrar.query_catalog(gb.DEVICE_ID, timeout=1)


async def test_reconfigure_moves_device_to_another_platform(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    first_host, second_host, local = hosts(), hosts(), hosts()
    first: LabRegistrar = await make_registrar(first_host)
    second: LabRegistrar = await make_registrar(second_host)
    device: LabGbDevice = await make_device(gb.device_config(first_host, local))
    await device.wait_for_state("registered", timeout=10)

    await device.reconfigure(gb.device_config(second_host, local))
    await device.wait_for_state("registered", timeout=10)
    assert first.registration(gb.DEVICE_ID) is None  # de-registered from the old platform
    assert second.registration(gb.DEVICE_ID) is not None

    await device.reconfigure(gb.device_config(second_host, local, enabled=False))
    assert device.state == "idle"
    assert second.registration(gb.DEVICE_ID) is None


async def test_device_status_reports_the_device_clock(
        gb: Testbed, hosts: Callable[[], str], make_registrar: Make, make_device: Make) -> None:
    server = hosts()
    registrar: LabRegistrar = await make_registrar(server)
    device: LabGbDevice = await make_device(
        gb.device_config(server, hosts(), heartbeat_interval=5), clock_offset=120.0)
    await device.wait_for_state("registered", timeout=10)

    status = await registrar.query_device(gb.DEVICE_ID, "DeviceStatus", timeout=10)

    assert (status["Result"], status["Online"]) == ("OK", "ONLINE")
    device_time = datetime.strptime(status["DeviceTime"], "%Y-%m-%dT%H:%M:%S").timestamp()
    assert device_time - time.time() == pytest.approx(120, abs=3)
    # ... and the device sees the platform's Date as 2 minutes behind its own clock.
    assert device.platform_clock_offset == pytest.approx(-120, abs=3)


def test_registrar_spec_rejects_a_short_server_id(gb: Testbed) -> None:
    from safecity.lab.sip import RegistrarSpec

    with pytest.raises(LabError, match="server_id must be 20 digits"):
        RegistrarSpec("p", "3402", "3402000000", "127.32.0.1")


def test_password_is_not_in_config_repr(gb: Testbed) -> None:
    assert gb.PASSWORD not in repr(gb.device_config("127.32.0.1", "127.32.0.2"))
