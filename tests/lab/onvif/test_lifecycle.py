"""Persistence, re-addressing, reboot and fault injection of lab devices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from onvif_lab_support import ADMIN, HTTP_PORT, make_spec, next_host, subcodes, within

from safecity.errors import LabError
from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab


async def _hostname(spec: OnvifDeviceSpec, host: str | None = None,
                    password: str = ADMIN[1]) -> str:
    cam = ONVIFCamera(host or spec.host, spec.http_port, ADMIN[0], password)
    try:
        dm = await cam.create_devicemgmt_service()
        return str((await within(dm.GetHostname(), 10)).Name)
    finally:
        await cam.close()


async def _refused(host: str, port: int = HTTP_PORT) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except OSError:
        return True
    writer.close()
    return False


async def _until(cond: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_state_persists_across_close_and_start(tmp_path: Path) -> None:
    spec = make_spec("persist")
    lab = await OnvifLab.start([spec], tmp_path)
    try:
        cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
        try:
            dm = await cam.create_devicemgmt_service()
            await within(dm.SetHostname({"Name": "kept-name"}))
            await within(dm.CreateUsers({"User": [
                {"Username": "viewer", "Password": "V1ewer-pass", "UserLevel": "User"}]}))
        finally:
            await cam.close()
    finally:
        await lab.close()
    assert (tmp_path / "persist.json").exists()
    lab = await OnvifLab.start([spec], tmp_path)
    try:
        assert await _hostname(spec) == "kept-name"
        users = lab.device_state("persist")["users"]
        assert isinstance(users, list) and [u["username"] for u in users] == ["admin", "viewer"]
    finally:
        await lab.close()


async def test_set_network_interfaces_moves_the_device(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    old_host, new_host = next_host(), next_host()
    mapping = {"10.34.1.23": old_host, "10.34.7.50": new_host}
    spec = make_spec("mover", host=old_host)
    lab = await lab_factory(spec, address_map=mapping.__getitem__)
    cam = ONVIFCamera(old_host, HTTP_PORT, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        reply = await within(dm.SetNetworkInterfaces({
            "InterfaceToken": "eth0",
            "NetworkInterface": {"Enabled": True, "IPv4": {
                "Enabled": True, "DHCP": False,
                "Manual": [{"Address": "10.34.7.50", "PrefixLength": 24}]}}}))
        assert reply is False  # RebootNeeded (zeep unwraps the single response part)
    finally:
        await cam.close()
    await lab.settle()
    assert await _refused(old_host)
    assert await _hostname(spec, new_host) == "mover"
    state = lab.device_state("mover")
    assert (state["listen_host"], state["address"], state["phase"]) == (
        new_host, "10.34.7.50", "up")
    # The new address survives a restart: the device comes back where it was moved to.
    await lab.close()
    lab2 = await lab_factory(spec, address_map=mapping.__getitem__)
    assert lab2.device_state("mover")["listen_host"] == new_host
    assert await _hostname(spec, new_host) == "mover"


async def test_network_change_lost_and_recovery(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    old_host, new_host = next_host(), next_host()
    mapping = {"10.34.1.23": old_host, "10.34.7.51": new_host}
    spec = make_spec("lost", host=old_host)
    lab = await lab_factory(spec, address_map=mapping.__getitem__)
    lab.set_fault("lost", "network_change_lost")
    cam = ONVIFCamera(old_host, HTTP_PORT, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.SetNetworkInterfaces({
            "InterfaceToken": "eth0", "NetworkInterface": {"IPv4": {
                "Enabled": True, "DHCP": False,
                "Manual": [{"Address": "10.34.7.51", "PrefixLength": 24}]}}}))
    finally:
        await cam.close()
    await lab.settle()
    assert lab.device_state("lost")["phase"] == "lost"
    assert await _refused(old_host) and await _refused(new_host)
    lab.clear_faults("lost")  # a technician brings it up at its configured address
    await lab.settle()
    assert await _hostname(spec, new_host) == "lost"


async def test_reboot_goes_offline_and_returns_unless_stuck(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    lab, spec = camera
    cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        assert "Rebooting" in await within(dm.SystemReboot())
    finally:
        await cam.close()
    await _until(lambda: _refused(spec.host))
    await lab.settle()
    assert await _hostname(spec) == "cam1"
    lab.set_fault("cam1", "stuck_after_reboot")
    cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.SystemReboot())
    finally:
        await cam.close()
    await lab.settle()
    assert lab.device_state("cam1")["phase"] == "rebooting"
    assert await _refused(spec.host)
    lab.clear_faults("cam1")
    await lab.settle()
    assert await _hostname(spec) == "cam1"


async def test_faults_offline_reject_credentials_clock_slow_drop(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    lab, spec = camera
    lab.set_fault("cam1", "offline")
    await lab.settle()
    assert await _refused(spec.host)
    lab.clear_faults("cam1")
    await lab.settle()
    assert await _hostname(spec) == "cam1"

    lab.set_fault("cam1", "reject", "GetHostname")
    with pytest.raises(zeep.exceptions.Fault) as rejected:
        await _hostname(spec)
    assert subcodes(rejected.value) == ["InvalidArgVal", "OperationProhibited"]

    lab.clear_faults("cam1")
    lab.set_fault("cam1", "wrong_credentials", "Ch4nged-by-someone")
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await _hostname(spec)
    assert subcodes(refused.value) == ["NotAuthorized"]
    assert await _hostname(spec, password="Ch4nged-by-someone") == "cam1"

    lab.clear_faults("cam1")
    lab.set_fault("cam1", "clock_skew", "900")
    state = lab.device_state("cam1")
    assert state["clock_offset_s"] == 900.0
    with pytest.raises(zeep.exceptions.Fault):  # host-time signature now 15 min stale
        await _hostname(spec)

    lab.clear_faults("cam1")
    lab.set_fault("cam1", "slow", "0.3")
    started = time.monotonic()
    assert await _hostname(spec) == "cam1"
    assert time.monotonic() - started >= 0.3

    lab.clear_faults("cam1")
    lab.set_fault("cam1", "drop", "1")
    url = f"http://{spec.host}:{HTTP_PORT}/onvif/device_service"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        async with s.post(url, data=b"x") as first:
            assert first.status == 400  # served (a malformed request, answered)
        with pytest.raises(aiohttp.ClientError):
            async with s.post(url, data=b"x") as second:
                await second.read()
    with pytest.raises(LabError, match="unknown fault"):
        lab.set_fault("cam1", "melted")


async def test_network_change_needing_reboot_applies_on_reboot(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    old_host, new_host = next_host(), next_host()
    mapping = {"10.34.1.23": old_host, "10.34.7.52": new_host}
    spec = make_spec("rebooter", host=old_host, network_reboot_needed=True)
    lab = await lab_factory(spec, address_map=mapping.__getitem__)
    cam = ONVIFCamera(old_host, HTTP_PORT, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        assert await within(dm.SetNetworkInterfaces({
            "InterfaceToken": "eth0", "NetworkInterface": {"IPv4": {
                "Enabled": True, "DHCP": False,
                "Manual": [{"Address": "10.34.7.52", "PrefixLength": 24}]}}})) is True
        await lab.settle()
        assert (await within(dm.GetHostname())).Name == "rebooter"  # still on the old address
        await within(dm.SystemReboot())
    finally:
        await cam.close()
    await lab.settle()
    assert await _refused(old_host)
    assert await _hostname(spec, new_host) == "rebooter"


async def test_nvr_profile_serves_one_profile_pair_per_channel(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("nvr", "hikvision/DS-7632NI-K2", onvif_users=(
        ADMIN + ("Administrator",),))
    await lab_factory(spec)
    cam = ONVIFCamera(spec.host, HTTP_PORT, *ADMIN)
    try:
        await within(cam.update_xaddrs())
        media = await cam.create_media_service()
        profiles = await within(media.GetProfiles())
        assert len(profiles) == 64
        uri = await within(media.GetStreamUri({"ProfileToken": profiles[-2].token, "StreamSetup": {
            "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}}))
        assert uri.Uri.endswith("/Streaming/Channels/3201")
    finally:
        await cam.close()
