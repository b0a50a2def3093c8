"""Hikvision-like devices: activation over ISAPI, ONVIF enablement and users, GB/T 28181 settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from onvif_lab_support import HTTP_PORT, NS, isapi, make_spec, next_host, subcodes, within

from safecity.lab.onvif import Gb28181Settings, OnvifLab

HIK = "hikvision/DS-2CD2T47G2-L"
STRONG = "Str0ng-Admin"
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000001"


async def _onvif_hostname(host: str, user: str, password: str) -> str:
    cam = ONVIFCamera(host, HTTP_PORT, user, password)
    try:
        dm = await cam.create_devicemgmt_service()
        return str((await within(dm.GetHostname(), 10)).Name)
    finally:
        await cam.close()


async def test_factory_new_device_refuses_onvif_until_activated(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("hik-new", HIK, factory_new=True, users=())
    lab = await lab_factory(spec)
    base = f"http://{spec.host}:{HTTP_PORT}"
    cam = ONVIFCamera(spec.host, HTTP_PORT, "admin", STRONG)
    try:
        dm = await cam.create_devicemgmt_service()
        assert (await within(dm.GetSystemDateAndTime())).UTCDateTime is not None
        assert (await within(dm.GetDeviceInformation())).Model == "DS-2CD2T47G2-L"
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await within(dm.GetHostname())
        assert subcodes(refused.value) == ["NotAuthorized"]
    finally:
        await cam.close()

    status, doc = await isapi("GET", f"{base}/SDK/activateStatus")
    assert status == 200 and doc is not None
    assert doc.findtext("hik:Activated", namespaces=NS) == "false"
    status, _ = await isapi("GET", f"{base}/ISAPI/System/deviceInfo", "admin", STRONG)
    assert status == 401  # nobody can sign in to an inactive device
    status, doc = await isapi("PUT", f"{base}/ISAPI/Security/activate",
                              body="<ActivateInfo><password>weakpass</password></ActivateInfo>")
    assert status == 400 and doc is not None
    assert doc.findtext("hik:subStatusCode", namespaces=NS) == "badPassword"
    status, _ = await isapi("PUT", f"{base}/ISAPI/Security/activate",
                            body=f"<ActivateInfo><password>{STRONG}</password></ActivateInfo>")
    assert status == 200
    status, doc = await isapi("GET", f"{base}/ISAPI/System/deviceInfo", "admin", STRONG)
    assert status == 200 and doc is not None
    assert doc.findtext("hik:serialNumber", namespaces=NS) == spec.serial

    # Active, but ONVIF ships disabled and has its own (empty) user list.
    with pytest.raises(zeep.exceptions.Fault):
        await _onvif_hostname(spec.host, "admin", STRONG)
    status, _ = await isapi("PUT", f"{base}/ISAPI/System/Network/Integrate", "admin", STRONG,
                            "<Integrate><ONVIF><enable>true</enable></ONVIF></Integrate>")
    assert status == 200
    status, _ = await isapi(
        "POST", f"{base}/ISAPI/Security/ONVIF/users", "admin", STRONG,
        "<User><id>1</id><userName>onvif</userName><password>0nvif-Pass</password>"
        "<userType>administrator</userType></User>")
    assert status == 200
    status, doc = await isapi("GET", f"{base}/ISAPI/Security/ONVIF/users", "admin", STRONG)
    assert doc is not None and doc.findtext(".//hik:userName", namespaces=NS) == "onvif"
    assert doc.find(".//hik:password", NS) is None  # never read back
    assert await _onvif_hostname(spec.host, "onvif", "0nvif-Pass") == "hik-new"
    with pytest.raises(zeep.exceptions.Fault):  # the web admin is not an ONVIF user
        await _onvif_hostname(spec.host, "admin", STRONG)
    state = lab.device_state("hik-new")
    assert (state["active"], state["onvif_enabled"]) == (True, True)
    status, _ = await isapi("PUT", f"{base}/ISAPI/Security/activate",
                            body=f"<ActivateInfo><password>{STRONG}</password></ActivateInfo>")
    assert status == 403


SIP_PUT = f"""<SIPServerList version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<SIPServer><id>1</id><GB28181>
<enabled>true</enabled><registrar>{{registrar}}</registrar><registrarPort>5060</registrarPort>
<serverId>{SERVER_ID}</serverId><serverDomain>3402000000</serverDomain>
<userName>{DEVICE_ID}</userName><authID>{DEVICE_ID}</authID><password>Gb-s3cret</password>
<expires>3600</expires><heartbeatTime>{{heartbeat}}</heartbeatTime><heartbeatCount>3</heartbeatCount>
<localPort>5060</localPort></GB28181></SIPServer></SIPServerList>"""

SIP_INFO_PUT = """<SIPInfo><VideoInputList>
<VideoInput><id>1</id><videoInputID>34020000001320000101</videoInputID></VideoInput>
</VideoInputList></SIPInfo>"""


async def test_isapi_sip_round_trip_and_validation(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("hik-sip", HIK, gb28181=Gb28181Settings(registrar="10.34.0.2"))
    lab = await lab_factory(spec)
    base = f"http://{spec.host}:{HTTP_PORT}/ISAPI/System/Network/SIP"
    body = SIP_PUT.replace("{registrar}", "10.34.0.9").replace("{heartbeat}", "30")
    status, _ = await isapi("PUT", base, "admin", "Adm1n-pass", body.replace(
        "<enabled>true</enabled>", "<enabled>false</enabled>"))
    assert status == 200
    status, doc = await isapi("GET", base, "admin", "Adm1n-pass")
    assert status == 200 and doc is not None
    gb = doc.find("hik:SIPServer/hik:GB28181", NS)
    assert gb is not None
    assert {c: gb.findtext(f"hik:{c}", namespaces=NS) for c in (
        "enabled", "registrar", "serverId", "userName", "heartbeatTime", "heartbeatCount")} == {
        "enabled": "false", "registrar": "10.34.0.9", "serverId": SERVER_ID,
        "userName": DEVICE_ID, "heartbeatTime": "30", "heartbeatCount": "3"}
    assert gb.find("hik:password", NS) is None  # write-only
    assert lab.device_state("hik-sip")["gb28181"]["password_set"] is True  # type: ignore[index]

    status, _ = await isapi("PUT", f"{base}/1/SIPInfo", "admin", "Adm1n-pass", SIP_INFO_PUT)
    assert status == 200
    status, doc = await isapi("GET", f"{base}/1/SIPInfo", "admin", "Adm1n-pass")
    assert doc is not None
    assert doc.findtext(".//hik:videoInputID", namespaces=NS) == "34020000001320000101"

    status, doc = await isapi("PUT", f"{base}/1/SIPInfo", "admin", "Adm1n-pass",
                              SIP_INFO_PUT.replace("34020000001320000101", "12345"))
    assert status == 400 and doc is not None
    assert doc.findtext("hik:statusCode", namespaces=NS) == "6"
    status, _ = await isapi("PUT", base, "admin", "Adm1n-pass",
                            body.replace("<heartbeatTime>30", "<heartbeatTime>0"))
    assert status == 400
    status, _ = await isapi("GET", base, "admin", "wrong-pass")
    assert status == 401


async def test_enabled_gb28181_settings_register_with_a_platform(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    sip = pytest.importorskip("safecity.lab.sip")
    reg_host = next_host()
    registrar = await sip.LabRegistrar.start(sip.RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: "Gb-s3cret"}))
    try:
        spec = make_spec("hik-gb", HIK)
        lab = await lab_factory(spec, address_map={"10.34.0.2": reg_host,
                                                   "10.34.1.23": spec.host}.__getitem__)
        base = f"http://{spec.host}:{HTTP_PORT}/ISAPI/System/Network/SIP"
        await isapi("PUT", f"{base}/1/SIPInfo", "admin", "Adm1n-pass", SIP_INFO_PUT)
        status, _ = await isapi("PUT", base, "admin", "Adm1n-pass", SIP_PUT.replace(
            "{registrar}", "10.34.0.2").replace("{heartbeat}", "60"))
        assert status == 200
        await lab.settle()
        deadline = time.monotonic() + 10
        while registrar.registration(DEVICE_ID) is None:
            assert time.monotonic() < deadline, lab.device_state("hik-gb")["gb28181_agent"]
            await asyncio.sleep(0.05)
        items = await registrar.query_catalog(DEVICE_ID)
        assert [i.device_id for i in items] == ["34020000001320000101"]
        await lab.close()  # de-registers while the platform is still there
    finally:
        await registrar.close()
