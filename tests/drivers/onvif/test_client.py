"""OnvifClient against the lab's simulated devices, over real sockets."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import pytest
from onvif_driver_support import ADMIN, DAHUA, HIK, HTTP_PORT, make_spec, next_host

from safecity.drivers.onvif import OnvifClient
from safecity.drivers.onvif.models import NewUser
from safecity.drivers.onvif.wsdl_cache import shared_document
from safecity.errors import AuthFailed, DeviceRejected, DeviceTimeout, DeviceUnreachable
from safecity.lab.onvif import OnvifLab

LabFactory = Callable[..., Awaitable[OnvifLab]]


async def test_generic_device_settings_round_trip(lab_factory: LabFactory) -> None:
    spec = make_spec("gen1")
    lab = await lab_factory(spec)
    async with OnvifClient("gen1", spec.host, HTTP_PORT, *ADMIN) as cam:
        info = await cam.get_device_information()
        assert (info.model, info.serial) == ("ONVIF-PTZ-2MP", "SN-gen1")
        await cam.set_hostname("cam-0001")
        await cam.set_ntp(["10.35.0.10", "ntp.city.local"])
        await cam.set_dns(["10.35.0.53"])
        await cam.set_system_date_and_time(ntp=True, timezone="CST-8")
        await cam.create_users([NewUser("viewer", "V1ewer-pass", "User")])
        await cam.set_discovery_mode(False)
        assert await cam.get_hostname() == "cam-0001"
        assert (await cam.get_ntp()).servers == ("10.35.0.10", "ntp.city.local")
        assert (await cam.get_dns()).servers == ("10.35.0.53",)
        assert [(u.username, u.level) for u in await cam.get_users()] == [
            ("admin", "Administrator"), ("viewer", "User")]
        assert await cam.get_discovery_mode() is False
        nic = (await cam.get_network_interfaces())[0]
        assert (nic.address, nic.prefix_length, nic.dhcp) == ("10.35.1.23", 24, False)
        assert await cam.get_default_gateway() == ("10.35.1.1",)
        profiles = await cam.get_profiles()
        assert [p.key for p in profiles] == ["1:main", "1:sub"]
        uris = await cam.get_stream_uris(profiles[0].token)
        assert uris.stream.startswith("rtsp://") and uris.snapshot
    state = lab.device_state("gen1")  # read through the simulator, not the code under test
    assert (state["hostname"], state["ntp_servers"], state["dns_servers"]) == (
        "cam-0001", ["10.35.0.10", "ntp.city.local"], ["10.35.0.53"])
    assert (state["date_time_type"], state["discoverable"]) == ("NTP", False)


async def test_hikvision_like_media10_digest_and_separate_onvif_users(
        lab_factory: LabFactory) -> None:
    spec = make_spec("hik1", HIK, onvif_users=(("onvif", "0nvif-Pass", "Administrator"),))
    lab = await lab_factory(spec)
    async with OnvifClient("hik1", spec.host, HTTP_PORT, "onvif", "0nvif-Pass",
                           http_auth="digest", media="media") as cam:
        # The ONVIF list is separate from the device (web) accounts.
        assert [u.username for u in await cam.get_users()] == ["onvif"]
        main = next(p for p in await cam.get_profiles() if p.key == "1:main")
        assert main.encoder is not None and main.encoder.codec == "H265"
        opts = await cam.get_video_encoder_configuration_options(main.encoder.token)
        assert opts.bitrate_kbps == (32, 16384)  # from the unparsed tt:Extension/tt:H264 block
        assert "2560x1440" in opts.resolutions
        await cam.set_video_encoder_configuration(main.encoder.token, codec="H265", width=1920,
                                                  height=1080, fps=20, bitrate_kbps=3072, gop=40)
    with pytest.raises(AuthFailed):  # the web admin is no ONVIF user
        async with OnvifClient("hik1", spec.host, HTTP_PORT, *ADMIN, http_auth="digest") as cam:
            await cam.get_hostname()
    enc = lab.device_state("hik1")["encoders"]["1:main"]  # type: ignore[index]
    assert (enc["codec"], enc["width"], enc["fps"], enc["bitrate_kbps"], enc["gop"]) == (
        "H265", 1920, 20, 3072, 40)


async def test_dahua_like_media2_encoder_round_trip(lab_factory: LabFactory) -> None:
    spec = make_spec("dah1", DAHUA)
    lab = await lab_factory(spec)
    async with OnvifClient("dah1", spec.host, HTTP_PORT, *ADMIN, http_auth="digest",
                           media="media2") as cam:
        sub = next(p for p in await cam.get_profiles() if p.key == "1:sub")
        assert sub.encoder is not None
        opts = await cam.get_video_encoder_configuration_options(sub.encoder.token)
        assert set(opts.codecs) == {"H264", "H265"} and opts.gop == (1, 150)
        assert opts.problem("H264", "704x576", 30, 512, 30) == "frame rate 30 outside 1..25"
        await cam.set_video_encoder_configuration(sub.encoder.token, codec="H265", width=1280,
                                                  height=720, fps=10, bitrate_kbps=768, gop=20)
        again = await cam.get_video_encoder_configuration(sub.encoder.token)
        assert (again.codec, again.resolution, again.fps, again.gop) == ("H265", "1280x720", 10, 20)
        assert (await cam.get_stream_uris(sub.token)).stream.endswith("subtype=1")
    enc = lab.device_state("dah1")["encoders"]["1:sub"]  # type: ignore[index]
    assert (enc["codec"], enc["height"], enc["bitrate_kbps"]) == ("H265", 720, 768)


async def test_clock_hours_off_is_signed_with_device_time(lab_factory: LabFactory) -> None:
    spec = make_spec("skew1", clock_offset_s=-5 * 3600)
    lab = await lab_factory(spec)
    lab.set_fault("skew1", "clock_skew", str(2 * 3600 + 17))
    async with OnvifClient("skew1", spec.host, HTTP_PORT, *ADMIN) as cam:
        assert abs(cam.clock_offset_s - (-3 * 3600 + 17)) < 5
        assert await cam.get_hostname() == "skew1"  # WS-Security accepted
        # Switching the device to NTP resets its clock: the client re-syncs its signing.
        await cam.set_ntp(["10.35.0.10"])
        await cam.set_system_date_and_time(ntp=True, timezone="CST-8")
        assert await cam.get_hostname() == "skew1"


async def test_wrong_password_is_auth_failed_with_device_name(lab_factory: LabFactory) -> None:
    spec = make_spec("pw1")
    await lab_factory(spec)
    with pytest.raises(AuthFailed, match=r"^pw1: GetHostname: credentials refused"):
        async with OnvifClient("pw1", spec.host, HTTP_PORT, "admin", "Wrong-pass1") as cam:
            await cam.get_hostname()
    with pytest.raises(AuthFailed, match=r"^pw1: "):
        async with OnvifClient("pw1", spec.host, HTTP_PORT, "admin", "Wrong-pass1",
                               http_auth="digest") as cam:
            await cam.get_hostname()


async def test_offline_device_is_unreachable_quickly(lab_factory: LabFactory) -> None:
    spec = make_spec("off1")
    lab = await lab_factory(spec)
    lab.set_fault("off1", "offline")
    await lab.settle()
    started = time.monotonic()
    with pytest.raises(DeviceUnreachable, match=r"^off1: GetSystemDateAndTime: "):
        async with OnvifClient("off1", spec.host, HTTP_PORT, *ADMIN, timeout=3.0):
            pass
    assert time.monotonic() - started < 2.0
    with pytest.raises(DeviceUnreachable, match="cannot connect"):  # nobody listens there
        async with OnvifClient("ghost", next_host(), HTTP_PORT, *ADMIN, timeout=3.0):
            pass


async def test_slow_device_times_out(lab_factory: LabFactory) -> None:
    spec = make_spec("slow1")
    lab = await lab_factory(spec)
    async with OnvifClient("slow1", spec.host, HTTP_PORT, *ADMIN, timeout=0.5) as cam:
        lab.set_fault("slow1", "slow", "3")
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"^slow1: GetHostname: no answer within 0.5 s"):
            await cam.get_hostname()
        assert time.monotonic() - started < 2.5


async def test_rejected_setting_and_bad_value_are_device_rejected(
        lab_factory: LabFactory) -> None:
    spec = make_spec("rej1")
    lab = await lab_factory(spec)
    lab.set_fault("rej1", "reject", "SetHostname")
    async with OnvifClient("rej1", spec.host, HTTP_PORT, *ADMIN) as cam:
        with pytest.raises(DeviceRejected, match=r"^rej1: SetHostname: .*refused"):
            await cam.set_hostname("new-name")
        token = (await cam.get_profiles())[0].encoder.token  # type: ignore[union-attr]
        with pytest.raises(DeviceRejected, match=r"^rej1: SetVideoEncoderConfiguration: .*"):
            await cam.set_video_encoder_configuration(token, codec="H264", width=1920,
                                                      height=1080, fps=60, bitrate_kbps=2048,
                                                      gop=50)
    assert lab.device_state("rej1")["hostname"] == "rej1"


async def test_connection_dropped_mid_reply_is_unreachable(lab_factory: LabFactory) -> None:
    spec = make_spec("drop1")
    lab = await lab_factory(spec)
    async with OnvifClient("drop1", spec.host, HTTP_PORT, *ADMIN) as cam:
        lab.set_fault("drop1", "drop", "0")
        with pytest.raises(DeviceUnreachable, match=r"^drop1: GetHostname: "):
            await cam.get_hostname()


async def test_network_interface_change_reports_reboot_and_moves(
        lab_factory: LabFactory) -> None:
    old, new = next_host(), next_host()
    spec = make_spec("mov1", host=old)
    lab = await lab_factory(spec, address_map={"10.35.1.23": old, "10.35.9.9": new}.__getitem__)
    async with OnvifClient("mov1", old, HTTP_PORT, *ADMIN) as cam:
        nic = (await cam.get_network_interfaces())[0]
        assert await cam.set_network_interfaces(nic.interface_token, "10.35.9.9", 24) is False
    await lab.settle()
    async with OnvifClient("mov1", new, HTTP_PORT, *ADMIN) as cam:
        assert (await cam.get_network_interfaces())[0].address == "10.35.9.9"


async def test_wsdl_is_parsed_once_per_process(lab_factory: LabFactory) -> None:
    a = await shared_document("devicemgmt")
    assert await shared_document("devicemgmt") is a
    spec1, spec2 = make_spec("w1"), make_spec("w2")
    await lab_factory(spec1, spec2)
    started = time.monotonic()
    for spec in (spec1, spec2):  # a client costs its session, not a WSDL parse
        async with OnvifClient(spec.name, spec.host, HTTP_PORT, *ADMIN) as cam:
            await cam.get_hostname()
    assert time.monotonic() - started < 1.0


def test_import_leaves_the_root_logger_alone() -> None:
    code = ("import logging; r = logging.getLogger(); before = (list(r.handlers), r.level);"
            "import safecity.drivers.onvif; assert (list(r.handlers), r.level) == before, "
            "(r.handlers, r.level); assert logging.getLogger('zeep.client').level == 0")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


