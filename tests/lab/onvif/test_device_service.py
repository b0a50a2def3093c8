"""Device management over real sockets with the unmodified onvif-zeep-async client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from onvif_lab_support import (
    ADMIN,
    HTTP_PORT,
    NS,
    fault_subcodes,
    make_spec,
    post_soap,
    soap,
    subcodes,
    username_token,
    within,
)

from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab


async def connect(spec: OnvifDeviceSpec, user: str = ADMIN[0], password: str = ADMIN[1],
                  host: str | None = None, adjust_time: bool = False) -> ONVIFCamera:
    cam = ONVIFCamera(host or spec.host, spec.http_port, user, password,
                      adjust_time=adjust_time)
    try:
        await within(cam.update_xaddrs())
    except BaseException:
        await cam.close()
        raise
    return cam


async def test_device_information_and_hostname_round_trip(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    lab, spec = camera
    cam = await connect(spec)
    try:
        dm = await cam.create_devicemgmt_service()
        info = await within(dm.GetDeviceInformation())
        assert (info.Manufacturer, info.Model, info.SerialNumber) == (
            "Generic", "ONVIF-PTZ-2MP", spec.serial)
        await within(dm.SetHostname({"Name": "cam-north-gate"}))
        assert (await within(dm.GetHostname())).Name == "cam-north-gate"
        assert lab.device_state("cam1")["hostname"] == "cam-north-gate"
        with pytest.raises(zeep.exceptions.Fault) as bad:
            await within(dm.SetHostname({"Name": "bad_name!"}))
        assert "InvalidHostname" in subcodes(bad.value)
        # GetServices advertised device and media (ver10) only: this is a Profile S camera.
        assert "http://www.onvif.org/ver10/media/wsdl" in cam.xaddrs
        assert "http://www.onvif.org/ver20/media/wsdl" not in cam.xaddrs
        caps = await within(dm.GetCapabilities({"Category": "All"}))
        assert caps.Media.XAddr == f"http://{spec.host}:{HTTP_PORT}/onvif/media_service"
    finally:
        await cam.close()


async def test_time_ntp_dns_gateway_protocols_discovery(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    lab, spec = camera
    cam = await connect(spec)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.SetNTP({"FromDHCP": False, "NTPManual": [
            {"Type": "IPv4", "IPv4Address": "10.34.0.10"},
            {"Type": "DNS", "DNSname": "ntp.city.example"}]}))
        ntp = await within(dm.GetNTP())
        assert [h.IPv4Address or h.DNSname for h in ntp.NTPManual] == [
            "10.34.0.10", "ntp.city.example"]
        await within(dm.SetDNS({"FromDHCP": False, "DNSManual": [
            {"Type": "IPv4", "IPv4Address": "10.34.0.53"}]}))
        assert (await within(dm.GetDNS())).DNSManual[0].IPv4Address == "10.34.0.53"
        await within(dm.SetNetworkDefaultGateway({"IPv4Address": ["10.34.1.254"]}))
        assert (await within(dm.GetNetworkDefaultGateway())).IPv4Address == ["10.34.1.254"]
        protocols = await within(dm.GetNetworkProtocols())
        assert {p.Name: p.Port for p in protocols}["RTSP"] == [554]
        await within(dm.SetDiscoveryMode({"DiscoveryMode": "NonDiscoverable"}))
        assert await within(dm.GetDiscoveryMode()) == "NonDiscoverable"
        iface = (await within(dm.GetNetworkInterfaces()))[0]
        assert iface.IPv4.Config.Manual[0].Address == "10.34.1.23"
        scopes = await within(dm.GetScopes())
        assert any(s.ScopeItem.endswith("/name/cam1") for s in scopes)
        # Manual time: the device clock follows what it is told.
        target = datetime.now(UTC) - timedelta(hours=2)
        await within(dm.SetSystemDateAndTime({
            "DateTimeType": "Manual", "DaylightSavings": False, "TimeZone": {"TZ": "CST-8"},
            "UTCDateTime": {"Date": {"Year": target.year, "Month": target.month,
                                     "Day": target.day},
                            "Time": {"Hour": target.hour, "Minute": target.minute,
                                     "Second": target.second}}}))
        offset = lab.device_state("cam1")["clock_offset_s"]
        assert isinstance(offset, float) and abs(offset + 7200) < 5
    finally:
        await cam.close()


async def test_users_create_set_delete_and_levels(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    lab, spec = camera
    cam = await connect(spec)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.CreateUsers({"User": [
            {"Username": "ops", "Password": "Operat0r-pw", "UserLevel": "Operator"}]}))
        with pytest.raises(zeep.exceptions.Fault) as clash:
            await within(dm.CreateUsers({"User": [
                {"Username": "ops", "Password": "Operat0r-pw", "UserLevel": "User"}]}))
        assert "UsernameClash" in subcodes(clash.value)
        with pytest.raises(zeep.exceptions.Fault) as weak:
            await within(dm.CreateUsers({"User": [
                {"Username": "weak", "Password": "abc", "UserLevel": "User"}]}))
        assert "PasswordTooWeak" in subcodes(weak.value)
        users = {u.Username: u.UserLevel for u in await within(dm.GetUsers())}
        assert users == {"admin": "Administrator", "ops": "Operator"}
        await within(dm.SetUser({"User": [
            {"Username": "ops", "Password": "N3w-operator", "UserLevel": "Operator"}]}))
        with pytest.raises(zeep.exceptions.Fault) as last_admin:
            await within(dm.DeleteUsers({"Username": ["admin"]}))
        assert "FixedUser" in subcodes(last_admin.value)
    finally:
        await cam.close()
    # The operator signs in with the new password, reads, and may not change system settings.
    ops = await connect(spec, "ops", "N3w-operator")
    try:
        dm = await ops.create_devicemgmt_service()
        assert (await within(dm.GetHostname())).Name == "cam1"
        with pytest.raises(zeep.exceptions.Fault) as denied:
            await within(dm.SetHostname({"Name": "nope"}))
        assert "NotAuthorized" in subcodes(denied.value)
    finally:
        await ops.close()
    cam = await connect(spec)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.DeleteUsers({"Username": ["ops"]}))
    finally:
        await cam.close()
    remaining = lab.device_state("cam1")["users"]
    assert isinstance(remaining, list) and [u["username"] for u in remaining] == ["admin"]


async def test_wrong_password_is_a_not_authorized_fault(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    _, spec = camera
    cam = ONVIFCamera(spec.host, spec.http_port, "admin", "wrong-password")
    try:
        dm = await cam.create_devicemgmt_service()
        # GetSystemDateAndTime is pre-auth; everything else needs valid credentials.
        assert (await within(dm.GetSystemDateAndTime())).UTCDateTime.Date.Year >= 2024
        with pytest.raises(zeep.exceptions.Fault) as bad:
            await within(dm.GetDeviceInformation())
        assert bad.value.code is not None and "Sender" in bad.value.code
        assert "NotAuthorized" in subcodes(bad.value)
    finally:
        await cam.close()


async def test_stale_timestamp_rejected_and_device_time_signing_works(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("skewed", clock_offset_s=3600.0)
    await lab_factory(spec)
    naive = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        dm = await naive.create_devicemgmt_service()
        with pytest.raises(zeep.exceptions.Fault) as stale:
            await within(dm.GetDeviceInformation())
        assert "NotAuthorized" in subcodes(stale.value)
    finally:
        await naive.close()
    # The client reads the device clock anonymously and signs with device time.
    adjusted = await connect(spec, adjust_time=True)
    try:
        dm = await adjusted.create_devicemgmt_service()
        assert (await within(dm.GetDeviceInformation())).Model == "ONVIF-PTZ-2MP"
    finally:
        await adjusted.close()


async def test_replayed_nonce_and_plain_text_password_rejected(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    _, spec = camera
    url = f"http://{spec.host}:{HTTP_PORT}/onvif/device_service"
    token = username_token(*ADMIN)
    body = soap('<tds:GetHostname xmlns:tds="http://www.onvif.org/ver10/device/wsdl"/>', token)
    status, ctype, doc = await post_soap(url, body)
    assert status == 200 and ctype.startswith("application/soap+xml")
    assert doc is not None and doc.findtext(".//tt:Name", namespaces=NS) == "cam1"
    status, _, doc = await post_soap(url, body)
    assert status == 400 and "ter:NotAuthorized" in fault_subcodes(doc)
    text_token = token.replace("#PasswordDigest", "#PasswordText")
    status, _, doc = await post_soap(url, soap(
        '<tds:GetHostname xmlns:tds="http://www.onvif.org/ver10/device/wsdl"/>', text_token))
    assert status == 400 and "ter:NotAuthorized" in fault_subcodes(doc)
