"""Third-party interop: SIPp (Debian sip-tester) against the lab's registrar and device."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from safecity.lab.sip import LabGbDevice, LabRegistrar

if TYPE_CHECKING:
    from conftest import Sipp, Testbed

Make = Callable[..., Any]


async def test_sipp_registers_against_lab_registrar_with_digest(
        gb: Testbed, make_registrar: Make, sipp: Sipp, hosts: Callable[[], str]) -> None:
    server, client = hosts(), hosts()
    registrar: LabRegistrar = await make_registrar(server, qop=True)
    proc = await sipp.start("register_digest_uac.xml", "-i", client, "-p", "5060",
                            "-key", "server_id", gb.SERVER_ID, "-key", "domain", gb.DOMAIN,
                            "-key", "device_id", gb.DEVICE_ID,
                            "-au", gb.DEVICE_ID, "-ap", gb.PASSWORD, f"{server}:5060")
    run = await sipp.wait(proc)

    assert run.returncode == 0, run.output
    reg = registrar.registration(gb.DEVICE_ID)
    assert reg is not None
    assert reg.contact == f"sip:{gb.DEVICE_ID}@{client}:5060"
    assert reg.user_agent == "SIPp"


async def test_sipp_with_wrong_password_is_refused(
        gb: Testbed, make_registrar: Make, sipp: Sipp, hosts: Callable[[], str]) -> None:
    server, client = hosts(), hosts()
    registrar: LabRegistrar = await make_registrar(server)
    proc = await sipp.start("register_digest_uac.xml", "-i", client, "-p", "5060",
                            "-key", "server_id", gb.SERVER_ID, "-key", "domain", gb.DOMAIN,
                            "-key", "device_id", gb.DEVICE_ID,
                            "-au", gb.DEVICE_ID, "-ap", "wrong", "-recv_timeout", "3s",
                            f"{server}:5060")
    run = await sipp.wait(proc)

    assert run.returncode != 0  # the scenario expected 200 and got 403
    assert "403" in run.output
    assert registrar.registrations() == []


async def _start_sipp_registrar(gb: Testbed, sipp: Sipp, host: str) -> Any:
    proc = await sipp.start("registrar_uas.xml", "-i", host, "-p", "5060",
                            "-key", "domain", gb.DOMAIN, "-key", "device_id", gb.DEVICE_ID,
                            "-key", "password", gb.PASSWORD)
    await gb.eventually(lambda: gb.udp_port_bound(host, 5060), timeout=10)
    return proc


async def test_lab_device_registers_with_sipp_registrar(
        gb: Testbed, make_device: Make, sipp: Sipp, hosts: Callable[[], str]) -> None:
    server = hosts()
    proc = await _start_sipp_registrar(gb, sipp, server)
    device: LabGbDevice = await make_device(gb.device_config(server, hosts(),
                                                             heartbeat_interval=30))

    # sipp verified the digest answer itself (verifyauth) before sending 200.
    assert await device.wait_for_state("registered", "auth_failed", timeout=10) == "registered"
    run = await sipp.wait(proc)
    assert run.returncode == 0, run.output
    # The device took the time from sipp's Date header (2020-01-02T03:04:05.678).
    assert device.platform_clock_offset is not None
    assert device.platform_clock_offset < -(time.time() - 1.6e9)


async def test_lab_device_with_wrong_password_fails_sipp_verification(
        gb: Testbed, make_device: Make, sipp: Sipp, hosts: Callable[[], str]) -> None:
    server = hosts()
    proc = await _start_sipp_registrar(gb, sipp, server)
    device: LabGbDevice = await make_device(
        gb.device_config(server, hosts(), password="wrong", heartbeat_interval=30,
                         retry_interval=30))

    assert await device.wait_for_state("registered", "auth_failed", timeout=10) == "auth_failed"
    run = await sipp.wait(proc)
    assert run.returncode != 0
