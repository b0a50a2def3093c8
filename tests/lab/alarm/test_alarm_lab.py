"""The simulated alarm host: its JSON API over real sockets (aiohttp's digest client), its
GB/T 28181 agent registering with a LabRegistrar, its catalog of alarm points, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from alarm_lab_support import (
    DEVICE_ID,
    IN_IDS,
    OUT_IDS,
    SERVER_ID,
    call,
    make_spec,
    next_host,
)

from safecity.lab.alarm import AlarmLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec

Start = Callable[..., Awaitable[AlarmLab]]
SIP_PASSWORD = "Gb-al4rm-pass"


def gb_body(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "enabled": True, "server_id": SERVER_ID, "server_domain": "3402000000",
        "server_ip": "10.42.9.2", "server_port": 5060, "device_id": DEVICE_ID,
        "password": SIP_PASSWORD, "expires": 3600, "heartbeat_s": 60, "heartbeat_count": 3,
        "local_port": 5060, "alarm_in_ids": IN_IDS, "alarm_out_ids": OUT_IDS}
    body.update(kw)
    return body


async def test_api_needs_digest_and_describes_the_device(alarm_lab: Start) -> None:
    spec = make_spec("ah-info")
    await alarm_lab(spec)
    status, _, challenge = await call("GET", spec.host, "/api/device", auth=None)
    assert status == 401 and challenge.startswith("Digest ")
    status, _, _ = await call("GET", spec.host, "/api/device", auth=("admin", "888888"))
    assert status == 401  # the factory password no longer works: the installer changed it
    status, info, _ = await call("GET", spec.host, "/api/device")
    assert status == 200
    assert (info["model"], info["alarm_inputs"], info["alarm_outputs"]) == ("AH-16", 16, 4)
    status, gb, _ = await call("GET", spec.host, "/api/gb28181")
    assert status == 200 and gb["enabled"] is False and "password" not in gb


async def test_bad_settings_are_refused_whole(alarm_lab: Start) -> None:
    spec = make_spec("ah-bad")
    lab = await alarm_lab(spec)
    for body, error in (
            (gb_body(expires=10), "expires: expected an integer in 60..864000"),
            (gb_body(alarm_out_ids=OUT_IDS * 5), "alarm_out_ids: this device has 4 (got 5)"),
            (gb_body(device_id="123"), "device_id: expected a 20-digit GB/T 28181 ID"),
            (gb_body(zones=3), "zones: unknown key")):
        status, doc, _ = await call("PUT", spec.host, "/api/gb28181", body)
        assert (status, doc) == (400, {"error": error})
    assert lab.device_state("ah-bad")["gb28181"]["enabled"] is False  # type: ignore[index]


async def test_settings_make_it_register_with_its_alarm_points(alarm_lab: Start) -> None:
    reg_host = next_host()
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: SIP_PASSWORD}))
    try:
        spec = make_spec("ah-gb")
        lab = await alarm_lab(spec, address_map={"10.42.9.2": reg_host}.__getitem__)
        status, doc, _ = await call("PUT", spec.host, "/api/gb28181", gb_body())
        assert (status, doc) == (200, {"status": "ok"})
        await lab.settle()
        deadline = time.monotonic() + 10
        while not [r for r in registrar.registrations() if r.device_id == DEVICE_ID]:
            assert time.monotonic() < deadline, lab.device_state("ah-gb")["gb28181_agent"]
            await asyncio.sleep(0.05)
        items = await registrar.query_catalog(DEVICE_ID)
        assert sorted(i.device_id for i in items) == sorted(IN_IDS + OUT_IDS)
        _, gb, _ = await call("GET", spec.host, "/api/gb28181")
        assert gb == {k: v for k, v in gb_body().items() if k != "password"}

        lab.set_fault("ah-gb", "offline")
        await lab.settle()
        assert lab.status()[0]["phase"] == "down"
        assert not [r for r in registrar.registrations() if r.device_id == DEVICE_ID]
        try:
            await call("GET", spec.host, "/api/device")
            raise AssertionError("an offline alarm host answered")
        except OSError:  # refused: nothing listens any more
            pass
        lab.clear_faults("ah-gb")
        await lab.settle()
        deadline = time.monotonic() + 10
        while lab.device_state("ah-gb")["gb28181_agent"] != "registered":
            assert time.monotonic() < deadline, lab.device_state("ah-gb")["gb28181_agent"]
            await asyncio.sleep(0.05)
        await lab.close()  # de-register while the platform still listens
    finally:
        await registrar.close()


async def test_settings_survive_a_restart(alarm_lab: Start) -> None:
    spec = make_spec("ah-keep")
    lab = await alarm_lab(spec)
    status, _, _ = await call("PUT", spec.host, "/api/gb28181",
                              {"alarm_in_ids": IN_IDS, "server_domain": "3402000000"})
    assert status == 200
    state_dir = lab.state_dir
    await lab.close()
    again = await AlarmLab.start([spec], state_dir, str)
    try:
        _, gb, _ = await call("GET", spec.host, "/api/gb28181")
        assert (gb["alarm_in_ids"], gb["server_domain"]) == (IN_IDS, "3402000000")
    finally:
        await again.close()
