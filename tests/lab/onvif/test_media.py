"""Media (ver10, unmodified onvif-zeep-async) and media2 (ver20, raw SOAP) over real sockets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import zeep.exceptions
from lxml import etree
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
    tiny_jpeg,
    username_token,
    within,
)

from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab

TR2 = "http://www.onvif.org/ver20/media/wsdl"


async def test_encoder_set_valid_and_out_of_range(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("enc4", "hikvision/DS-6704HUHI-K", onvif_users=(
        ADMIN + ("Administrator",),))
    lab = await lab_factory(spec)
    cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        await within(cam.update_xaddrs())
        media = await cam.create_media_service()
        profiles = await within(media.GetProfiles())
        assert len(profiles) == 8  # 4 video sources x (main, sub)
        assert len(await within(media.GetVideoSources())) == 4
        token = profiles[2].VideoEncoderConfiguration.token  # channel 2 main
        cfg = await within(media.GetVideoEncoderConfiguration({"ConfigurationToken": token}))
        assert (cfg.Resolution.Width, cfg.RateControl.BitrateLimit) == (1920, 2048)
        opts = await within(media.GetVideoEncoderConfigurationOptions(
            {"ConfigurationToken": token}))
        assert [(r.Width, r.Height) for r in opts.H264.ResolutionsAvailable][-1] == (704, 576)
        assert (opts.H264.GovLengthRange.Max, opts.H264.FrameRateRange.Max) == (400, 25)
        # zeep hands the schema's leading xs:any the tt:H264 extension element unparsed.
        ext = opts.Extension._value_1[0]
        assert ext.findtext(".//{*}BitrateRange/{*}Max") == "8192"
        cfg.Resolution.Width, cfg.Resolution.Height = 1280, 720
        cfg.RateControl.BitrateLimit = 1024
        await within(media.SetVideoEncoderConfiguration(
            {"Configuration": cfg, "ForcePersistence": True}))
        again = await within(media.GetVideoEncoderConfiguration({"ConfigurationToken": token}))
        assert (again.Resolution.Width, again.RateControl.BitrateLimit) == (1280, 1024)
        enc = lab.device_state("enc4")["encoders"]
        assert isinstance(enc, dict) and enc["2:main"]["bitrate_kbps"] == 1024
        cfg.RateControl.BitrateLimit = 100000  # model maximum is 8192
        with pytest.raises(zeep.exceptions.Fault) as bad:
            await within(media.SetVideoEncoderConfiguration(
                {"Configuration": cfg, "ForcePersistence": True}))
        assert subcodes(bad.value)[:1] == ["InvalidArgVal"]
        assert "bitrate 100000 outside 32..8192" in str(bad.value.message)
    finally:
        await cam.close()


async def test_stream_and_snapshot_uri_and_snapshot_fetch(
        lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("dahua1", "dahua/IPC-HFW2431S-S-S2")
    await lab_factory(spec)
    cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        await within(cam.update_xaddrs())
        media = await cam.create_media_service()
        profiles = await within(media.GetProfiles())
        main, sub = profiles[0].token, profiles[1].token
        uri = await within(media.GetStreamUri({"ProfileToken": sub, "StreamSetup": {
            "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}}))
        assert uri.Uri == f"rtsp://{spec.host}:554/cam/realmonitor?channel=1&subtype=1"
        snap = await within(media.GetSnapshotUri({"ProfileToken": main}))
        assert snap.Uri == f"http://{spec.host}:{HTTP_PORT}/cgi-bin/snapshot.cgi?channel=1"
        # The client fetches it with HTTP digest (the profile's http_auth).
        assert await within(cam.get_snapshot(main)) == tiny_jpeg(1)
    finally:
        await cam.close()
    wrong = ONVIFCamera(spec.host, spec.http_port, "admin", "not-the-password")
    try:
        wrong.xaddrs = cam.xaddrs
        wrong._snapshot_uris[main] = snap.Uri  # skip the (failing) authenticated SOAP call
        with pytest.raises(Exception, match="authenticate"):
            await within(wrong.get_snapshot(main))
    finally:
        await wrong.close()


async def test_media2_profile_device(lab_factory: Callable[..., Awaitable[OnvifLab]]) -> None:
    spec = make_spec("dahua2", "dahua/IPC-HFW2431S-S-S2")
    await lab_factory(spec)
    cam = ONVIFCamera(spec.host, spec.http_port, *ADMIN)
    try:
        await within(cam.update_xaddrs())
        assert cam.xaddrs[TR2] == f"http://{spec.host}:{HTTP_PORT}/onvif/media2_service"
    finally:
        await cam.close()
    url = f"http://{spec.host}:{HTTP_PORT}/onvif/media2_service"

    async def call(body: str) -> tuple[int, etree._Element]:
        status, ctype, doc = await post_soap(url, soap(body, username_token(*ADMIN)))
        assert ctype.startswith("application/soap+xml") and doc is not None
        return status, doc

    status, doc = await call(f'<tr2:GetProfiles xmlns:tr2="{TR2}"><tr2:Type>All</tr2:Type>'
                             "</tr2:GetProfiles>")
    assert status == 200
    profiles = doc.findall(".//tr2:Profiles", NS)
    assert [p.get("token") for p in profiles] == ["Profile_1_main", "Profile_1_sub"]
    enc = profiles[0].find("tr2:Configurations/tr2:VideoEncoder", NS)
    assert enc is not None
    assert enc.findtext("tt:Encoding", namespaces=NS) == "H265"
    assert enc.get("GovLength") == "50"
    status, doc = await call(
        f'<tr2:GetStreamUri xmlns:tr2="{TR2}"><tr2:Protocol>RTSP</tr2:Protocol>'
        "<tr2:ProfileToken>Profile_1_main</tr2:ProfileToken></tr2:GetStreamUri>")
    assert doc.findtext(".//tr2:Uri", namespaces=NS) == (
        f"rtsp://{spec.host}:554/cam/realmonitor?channel=1&subtype=0")
    set_body = (
        f'<tr2:SetVideoEncoderConfiguration xmlns:tr2="{TR2}" '
        'xmlns:tt="http://www.onvif.org/ver10/schema">'
        '<tr2:Configuration token="VideoEncoder_1_main" GovLength="{gop}" Profile="Main">'
        "<tt:Name>main</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
        "<tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution>"
        "<tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit>"
        "<tt:BitrateLimit>3072</tt:BitrateLimit></tt:RateControl><tt:Quality>5</tt:Quality>"
        "</tr2:Configuration></tr2:SetVideoEncoderConfiguration>")
    status, _ = await call(set_body.replace("{gop}", "25"))
    assert status == 200
    status, doc = await call(f'<tr2:GetVideoEncoderConfigurations xmlns:tr2="{TR2}">'
                             "<tr2:ConfigurationToken>VideoEncoder_1_main"
                             "</tr2:ConfigurationToken></tr2:GetVideoEncoderConfigurations>")
    cfg = doc.find(".//tr2:Configurations", NS)
    assert cfg is not None
    assert (cfg.findtext("tt:Encoding", namespaces=NS), cfg.get("GovLength")) == ("H264", "25")
    status, doc = await call(set_body.replace("{gop}", "999"))  # model allows 1..150
    assert status == 400 and "ter:InvalidArgVal" in fault_subcodes(doc)


async def test_media2_not_served_by_profile_s_device(
        camera: tuple[OnvifLab, OnvifDeviceSpec]) -> None:
    _, spec = camera
    status, _, doc = await post_soap(
        f"http://{spec.host}:{HTTP_PORT}/onvif/media2_service",
        soap(f'<tr2:GetProfiles xmlns:tr2="{TR2}"/>', username_token(*ADMIN)))
    assert status == 500 and "ter:ActionNotSupported" in fault_subcodes(doc)
