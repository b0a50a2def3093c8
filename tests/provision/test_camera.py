"""apply_camera_state against the lab: check mode, apply, idempotence, moves and faults.

Device state is verified through the simulator (``lab.device_state``), not the code under test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from onvif_driver_support import DAHUA, GENERIC, HIK, HIK_ENCODER
from provision_support import ADMIN_PW, DNS, NTP, AddressPlan, desired, device, target

from safecity.drivers.vendor import Gb28181Settings
from safecity.lab.onvif import EncoderSettings, OnvifDeviceSpec, OnvifLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec
from safecity.provision.audit import AuditLog
from safecity.provision.camera import apply_camera_state
from safecity.provision.result import MASK

LabFactory = Callable[..., Awaitable[OnvifLab]]
FACTORY_DAHUA = ("admin", "admin")


def _names(users: object) -> list[str]:
    assert isinstance(users, list)
    return sorted(u["username"] for u in users)


async def test_misconfigured_device_check_mode_apply_and_second_run(
        lab_factory: LabFactory) -> None:
    plan = AddressPlan()
    spec = device(plan, "dah-a", DAHUA, "10.35.2.10", users=(
        ("admin", "admin", "Administrator"), ("888888", "888888ab", "Administrator")),
        ntp_servers=("192.0.2.1",), encoders={"1:main": EncoderSettings("H264", 1280, 720, 10,
                                                                         1024, 20)})
    lab = await lab_factory(spec)
    want = desired(spec, remove_users=["888888"])
    before = lab.device_state("dah-a")

    check = await apply_camera_state(target(plan, spec, FACTORY_DAHUA), want, check_mode=True)
    assert not check.failed, check.error
    assert check.changed
    settings = {c.setting for c in check.diff}
    assert {"time.ntp_servers", "users.admin.password", "users.888888", "users.operator",
            "encoders.1:main.codec", "encoders.1:main.resolution", "discoverable",
            "hostname"} <= settings
    assert lab.device_state("dah-a") == before  # check mode changed nothing
    assert "Vault" not in check.to_json() and "888888ab" not in check.to_json()

    result = await apply_camera_state(target(plan, spec, FACTORY_DAHUA), want, check_mode=False)
    assert not result.failed, result.error
    assert result.changed and result.diff == check.diff
    state = lab.device_state("dah-a")
    assert state["ntp_servers"] == list(NTP) and state["dns_servers"] == list(DNS)
    assert (state["hostname"], state["date_time_type"], state["discoverable"]) == (
        "dah-a-prov", "NTP", False)
    assert _names(state["users"]) == ["admin", "operator", "viewer"]
    enc = state["encoders"]["1:main"]  # type: ignore[index]
    assert (enc["codec"], enc["width"], enc["height"], enc["gop"]) == ("H265", 2688, 1520, 50)
    assert str(result.evidence["stream_uri"]).startswith("rtsp://")

    # The factory password no longer works; the vault one does; nothing is left to do.
    again = await apply_camera_state(target(plan, spec, FACTORY_DAHUA, ("admin", ADMIN_PW)),
                                     want, check_mode=False)
    assert (again.failed, again.changed, again.diff) == (False, False, [])


async def test_factory_new_hikvision_is_activated_then_provisioned(
        lab_factory: LabFactory) -> None:
    plan = AddressPlan()
    spec = device(plan, "hik-new", HIK, "10.35.3.10", factory_new=True, users=())
    lab = await lab_factory(spec)
    want = desired(spec)

    check = await apply_camera_state(target(plan, spec), want, check_mode=True)
    assert (check.failed, check.changed) == (False, True)
    assert [c.setting for c in check.diff] == ["activation"]
    assert lab.device_state("hik-new")["active"] is False

    result = await apply_camera_state(target(plan, spec), want, check_mode=False)
    assert not result.failed, result.error
    state = lab.device_state("hik-new")
    assert (state["active"], state["onvif_enabled"]) == (True, True)
    assert _names(state["users"]) == ["admin"]  # the device (web) account
    assert _names(state["onvif_users"]) == ["admin", "operator", "viewer"]
    assert state["hostname"] == "hik-new-prov" and state["ntp_servers"] == list(NTP)
    assert [c.setting for c in result.diff][:3] == ["activation", "onvif.enabled", "users.admin"]
    assert {"level": "Administrator", "password": MASK} in [c.new for c in result.diff]

    again = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW)), want,
                                     check_mode=False)
    assert (again.failed, again.changed, again.diff) == (False, False, [])


async def _isapi_status(spec: OnvifDeviceSpec, host: str, user: str, password: str) -> int:
    """An independent ISAPI sign-in (raw aiohttp digest, not the code under test)."""
    url = f"http://{host}:{spec.http_port}/ISAPI/System/deviceInfo"
    async with aiohttp.ClientSession(middlewares=(aiohttp.DigestAuthMiddleware(user, password),),
                                     timeout=aiohttp.ClientTimeout(total=5)) as http, \
            http.get(url) as resp:
        return resp.status


async def test_hikvision_web_admin_password_is_rotated_masked_and_confirmed(
        lab_factory: LabFactory, tmp_path: Path) -> None:
    plan = AddressPlan()
    old = ("admin", "Old-Hik-pw1")
    spec = device(plan, "hik-old", HIK, "10.35.3.20", users=(old + ("Administrator",),),
                  onvif_users=(old + ("Administrator",),))
    lab = await lab_factory(spec)
    host = plan(spec.network.address)
    want = desired(spec)
    before = lab.device_state("hik-old")

    check = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW), old), want,
                                     check_mode=True)
    assert not check.failed, check.error
    rotation = [c for c in check.diff if c.setting == "vendor_users.admin.password"]
    assert rotation and (rotation[0].old, rotation[0].new) == (MASK, MASK)
    assert lab.device_state("hik-old") == before
    assert await _isapi_status(spec, host, *old) == 200

    result = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW), old), want,
                                      check_mode=False)
    assert not result.failed, result.error
    assert result.evidence["vendor_admin_rotated"] is True
    assert "vendor_users.admin.password" in [c.setting for c in result.diff]
    assert await _isapi_status(spec, host, "admin", ADMIN_PW) == 200
    assert await _isapi_status(spec, host, *old) == 401
    log = AuditLog(tmp_path)
    log.append([result])
    written = "".join(p.read_text() for p in (tmp_path / "audit").iterdir())
    assert '"setting": "vendor_users.admin.password"' in written
    assert ADMIN_PW not in written and old[1] not in written and old[1] not in result.to_json()

    again = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW), old), want,
                                     check_mode=False)
    assert (again.failed, again.changed, again.diff) == (False, False, [])


async def test_address_change_moves_the_device_and_is_reported(lab_factory: LabFactory) -> None:
    plan = AddressPlan()
    spec = device(plan, "gen-mv", GENERIC, "10.35.4.10")
    lab = await lab_factory(spec, address_map=plan)
    want = desired(spec, ip="10.35.5.20")
    result = await apply_camera_state(target(plan, spec, ("admin", "Adm1n-pass")), want,
                                      check_mode=False, resolve_address=plan.resolve,
                                      move_timeout=5)
    assert not result.failed, result.error
    assert result.evidence["address"] == "10.35.5.20"
    assert result.evidence["address_change"] == {"from": "10.35.4.10", "to": "10.35.5.20",
                                                 "confirmed": True}
    state = lab.device_state("gen-mv")
    assert (state["address"], state["gateway"], state["listen_host"]) == (
        "10.35.5.20", "10.35.5.1", plan("10.35.5.20"))
    again = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW),
                                            address="10.35.5.20"), want, check_mode=False,
                                     resolve_address=plan.resolve)
    assert (again.failed, again.changed) == (False, False)


async def test_address_change_that_never_comes_back_keeps_the_old_address(
        lab_factory: LabFactory) -> None:
    plan = AddressPlan()
    spec = device(plan, "gen-lost", GENERIC, "10.35.6.10")
    lab = await lab_factory(spec, address_map=plan)
    lab.set_fault("gen-lost", "network_change_lost")
    want = desired(spec, ip="10.35.7.20")
    result = await apply_camera_state(target(plan, spec, ("admin", "Adm1n-pass")), want,
                                      check_mode=False, resolve_address=plan.resolve,
                                      move_timeout=1.0)
    assert result.failed and result.changed
    assert result.error is not None and result.error.startswith(
        "gen-lost: network: no answer at the new address 10.35.7.20")
    assert "recorded address stays 10.35.6.10" in result.error
    assert result.evidence["address"] == "10.35.6.10"
    assert result.evidence["address_change"] == {"from": "10.35.6.10", "to": "10.35.7.20",
                                                 "confirmed": False}
    # The fault clears, the device comes up where it was told to go; a re-run from the
    # unchanged inventory (old address) finds it there and converges.
    lab.clear_faults("gen-lost")
    await lab.settle()
    rerun = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW)), want,
                                     check_mode=False, resolve_address=plan.resolve)
    assert not rerun.failed, rerun.error
    assert rerun.evidence["address"] == "10.35.7.20"
    assert any("found at the planned address" in w for w in rerun.warnings)


async def test_gb28181_settings_make_the_device_register(lab_factory: LabFactory) -> None:
    plan = AddressPlan()
    reg_host = plan("10.35.0.2")
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="city", server_id="34020000002000000001", domain="3402000000", host=reg_host,
        subscribers={"34020000001320000351": "Gb-s3cret1"}))
    try:
        spec = device(plan, "hik-gb", HIK, "10.35.8.10",
                      onvif_users=(("admin", "Adm1n-pass", "Administrator"),))
        lab = await lab_factory(spec, address_map=plan)
        gb = Gb28181Settings(
            enabled=True, server_id="34020000002000000001", server_domain="3402000000",
            server_ip="10.35.0.2", server_port=5060, device_id="34020000001320000351",
            password="Gb-s3cret1", expires=3600, heartbeat_s=60, heartbeat_count=3,
            channel_ids=("34020000001310000351",))
        want = desired(spec, gb=gb)
        result = await apply_camera_state(target(plan, spec, ("admin", "Adm1n-pass")), want,
                                          check_mode=False)
        assert not result.failed, result.error
        assert "gb28181.enabled" in {c.setting for c in result.diff}
        await lab.settle()
        deadline = time.monotonic() + 10
        while "34020000001320000351" not in [r.device_id for r in registrar.registrations()]:
            assert time.monotonic() < deadline, lab.device_state("hik-gb")["gb28181_agent"]
            await asyncio.sleep(0.05)
        # The device (ISAPI) account keeps its password (see gaps); the ONVIF one was rotated.
        again = await apply_camera_state(target(plan, spec, ("admin", ADMIN_PW),
                                                ("admin", "Adm1n-pass")), want, check_mode=False)
        assert (again.failed, again.changed) == (False, False), again.error
        await lab.close()
    finally:
        await registrar.close()


async def test_faults_fail_one_device_each_and_reruns_converge(lab_factory: LabFactory) -> None:
    plan = AddressPlan()
    specs = [device(plan, "b-ok", HIK_ENCODER, "10.35.9.10",
                    onvif_users=(("admin", "Adm1n-pass", "Administrator"),)),
             device(plan, "b-off", GENERIC, "10.35.9.11"),
             device(plan, "b-pw", GENERIC, "10.35.9.12"),
             device(plan, "b-rej", DAHUA, "10.35.9.13"),
             device(plan, "b-slow", GENERIC, "10.35.9.14")]
    lab = await lab_factory(*specs)
    lab.set_fault("b-off", "offline")
    lab.set_fault("b-pw", "wrong_credentials", "Someone-else1")
    lab.set_fault("b-rej", "reject", "SetHostname")
    lab.set_fault("b-slow", "slow", "2")
    await lab.settle()
    creds = ("admin", "Adm1n-pass")

    async def run_all() -> dict[str, object]:
        results = await asyncio.gather(*(apply_camera_state(
            target(plan, s, creds, ("admin", ADMIN_PW), timeout=1.0), desired(s),
            check_mode=False) for s in specs))
        return {r.device: r for r in results}

    started = time.monotonic()
    first = await run_all()
    assert time.monotonic() - started < 15
    ok = first["b-ok"]
    assert not ok.failed and ok.changed, ok.error  # type: ignore[attr-defined]
    enc = lab.device_state("b-ok")["encoders"]
    assert sorted(enc) == [f"{c}:{k}" for c in range(1, 5) for k in ("main", "sub")]  # type: ignore[arg-type]
    errors = {n: r.error for n, r in first.items() if r.failed}  # type: ignore[attr-defined]
    assert sorted(errors) == ["b-off", "b-pw", "b-rej", "b-slow"]
    assert errors["b-off"].startswith("b-off: GetSystemDateAndTime: cannot connect")  # type: ignore[union-attr]
    assert errors["b-pw"].startswith("b-pw: ONVIF login: none of")  # type: ignore[union-attr]
    assert errors["b-rej"].startswith("b-rej: SetHostname: ")  # type: ignore[union-attr]
    assert errors["b-slow"].startswith("b-slow: ") and "no answer within 1 s" in errors["b-slow"]  # type: ignore[operator]

    for s in specs:
        lab.clear_faults(s.name)
    await lab.settle()
    second = await run_all()
    assert [n for n, r in second.items() if r.failed] == []  # type: ignore[attr-defined]
    third = await run_all()
    assert [n for n, r in third.items() if r.changed] == []  # type: ignore[attr-defined]
