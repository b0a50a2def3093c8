"""ONVIF media (ver10 ``trt:``, Profile S) and media2 (ver20 ``tr2:``, Profile T) operations.

Every channel (video source) has a main and a sub profile, each with its own video encoder
configuration. Encoder settings are validated against the model's ``encoder_options``.

ver10's ``tt:VideoEncoding`` has no H.265; like many real devices the lab reports ``H265`` in
the ver10 Encoding element anyway and carries the GOP in the ``tt:H264`` block for both codecs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lxml import etree

from safecity.inventory.profiles import DeviceProfile
from safecity.lab.onvif.device import SimDevice
from safecity.lab.onvif.device_service import Handler, Reply
from safecity.lab.onvif.policy import encoder_problem
from safecity.lab.onvif.soap import (
    as_int,
    child,
    el,
    invalid_arg,
    text,
    wrap,
)

STREAMS = ("main", "sub")
_ONVIF_CODEC = {"H264": "H264", "H265": "H265", "MJPEG": "JPEG"}
_PROFILE_CODEC = {v: k for k, v in _ONVIF_CODEC.items()}


# ---- tokens -------------------------------------------------------------------------------

def profile_token(ch: int, stream: str) -> str:
    return f"Profile_{ch}_{stream}"


def encoder_token(ch: int, stream: str) -> str:
    return f"VideoEncoder_{ch}_{stream}"


def _parse_token(token: str, prefix: str, dev: SimDevice) -> tuple[int, str]:
    if token.startswith(prefix):
        ch_s, _, stream = token[len(prefix):].partition("_")
        if ch_s.isdigit() and stream in STREAMS and 1 <= int(ch_s) <= dev.spec.channel_count:
            return int(ch_s), stream
    raise invalid_arg("NoProfile" if prefix.startswith("Profile") else "NoConfig",
                      f"unknown token {token!r}")


def _profile_of(dev: SimDevice, body: etree._Element) -> tuple[int, str]:
    return _parse_token(text(body, "ProfileToken"), "Profile_", dev)


def _all(dev: SimDevice) -> list[tuple[int, str]]:
    return [(ch, s) for ch in range(1, dev.spec.channel_count + 1) for s in STREAMS]


# ---- shared XML fragments -----------------------------------------------------------------

def _source_resolution(dev: SimDevice, ch: int) -> tuple[int, int]:
    main = dev.state.encoders[f"{ch}:main"]
    return main.width, main.height


def _video_source_config(dev: SimDevice, ch: int, tag: str) -> str:
    w, h = _source_resolution(dev, ch)
    return wrap(tag, el("tt:Name", f"VideoSourceConfig_{ch}") + el("tt:UseCount", 2)
                + el("tt:SourceToken", f"VideoSource_{ch}")
                + f'<tt:Bounds x="0" y="0" width="{w}" height="{h}"/>',
                token=f"VideoSourceConfig_{ch}")


def _resolution(w: int, h: int, tag: str = "tt:Resolution") -> str:
    return wrap(tag, el("tt:Width", w) + el("tt:Height", h))


def _resolution_text(wxh: str, tag: str) -> str:
    w, _, h = wxh.partition("x")
    return _resolution(int(w), int(h), tag)


def _vec10(dev: SimDevice, ch: int, stream: str, tag: str) -> str:
    e = dev.state.encoders[f"{ch}:{stream}"]
    inner = (el("tt:Name", f"{stream}Stream{ch}") + el("tt:UseCount", 1)
             + el("tt:Encoding", _ONVIF_CODEC[e.codec]) + _resolution(e.width, e.height)
             + el("tt:Quality", e.quality)
             + wrap("tt:RateControl", el("tt:FrameRateLimit", e.fps)
                    + el("tt:EncodingInterval", 1) + el("tt:BitrateLimit", e.bitrate_kbps))
             + wrap("tt:H264", el("tt:GovLength", e.gop) + el("tt:H264Profile", "Main"))
             + wrap("tt:Multicast", wrap("tt:Address", el("tt:Type", "IPv4")
                                         + el("tt:IPv4Address", "0.0.0.0"))
                    + el("tt:Port", 0) + el("tt:TTL", 1) + el("tt:AutoStart", False))
             + el("tt:SessionTimeout", "PT60S"))
    return wrap(tag, inner, token=encoder_token(ch, stream))


def _vec20(dev: SimDevice, ch: int, stream: str, tag: str) -> str:
    e = dev.state.encoders[f"{ch}:{stream}"]
    inner = (el("tt:Name", f"{stream}Stream{ch}") + el("tt:UseCount", 1)
             + el("tt:Encoding", _ONVIF_CODEC[e.codec]) + _resolution(e.width, e.height)
             + wrap("tt:RateControl", el("tt:FrameRateLimit", float(e.fps))
                    + el("tt:BitrateLimit", e.bitrate_kbps), ConstantBitRate=False)
             + el("tt:Quality", e.quality))
    return wrap(tag, inner, token=encoder_token(ch, stream), GovLength=e.gop, Profile="Main")


def _stream_uri(dev: SimDevice, ch: int, stream: str) -> str:
    b = dev.spec.profile.behaviour
    template = (b.rtsp.main_path if stream == "main" else b.rtsp.sub_path) if b else \
        f"/stream{{channel}}/{stream}"
    return f"rtsp://{dev.state.listen_host}:{dev.spec.rtsp_port}{template.format(channel=ch)}"


def snapshot_path(profile: DeviceProfile, ch: int) -> str:
    b = profile.behaviour
    template = b.snapshot_path if b else "/snapshot/{channel}.jpg"
    return template.format(channel=ch)


def snapshot_sub_path(profile: DeviceProfile, ch: int) -> str | None:
    """The sub stream's picture, where the vendor has a path for it (vendors/*.yml)."""
    b = profile.behaviour
    return b.snapshot_sub_path.format(channel=ch) if b and b.snapshot_sub_path else None


def _snapshot_uri(dev: SimDevice, ch: int) -> str:
    return dev.base_url() + snapshot_path(dev.spec.profile, ch)


_OPTIONS_CACHE: dict[tuple[int, str], tuple[DeviceProfile, str]] = {}


def _cached(profile: DeviceProfile, kind: str, build: Callable[[DeviceProfile], str]) -> str:
    """Options depend only on the model: built once per profile object, shared by its devices.

    Profiles are unhashable pydantic models; the entry keeps its profile alive so the id key
    cannot be reused by another object.
    """
    key = (id(profile), kind)
    hit = _OPTIONS_CACHE.get(key)
    if hit is None or hit[0] is not profile:
        hit = (profile, build(profile))
        _OPTIONS_CACHE[key] = hit
    return hit[1]


def _options10(profile: DeviceProfile) -> str:
    o = profile.encoder_options
    codecs = o.codecs if o else ["H264"]
    res = o.resolutions if o else ["1920x1080"]
    fps = o.fps if o else (1, 25)
    gop = o.gop if o else (1, 400)
    br = o.bitrate_kbps if o else (32, 8192)
    resolutions = "".join(_resolution_text(r, "tt:ResolutionsAvailable")
                          for r in res)

    def rng(tag: str, lo: int, hi: int) -> str:
        return wrap(tag, el("tt:Min", lo) + el("tt:Max", hi))

    h264 = (resolutions + rng("tt:GovLengthRange", *gop) + rng("tt:FrameRateRange", *fps)
            + rng("tt:EncodingIntervalRange", 1, 1) + el("tt:H264ProfilesSupported", "Main"))
    body = rng("tt:QualityRange", 1, 10)
    if "H264" in codecs or "H265" in codecs:
        body += wrap("tt:H264", h264)
        body += wrap("tt:Extension", wrap("tt:H264", h264 + rng("tt:BitrateRange", *br)))
    return body


def _options20(profile: DeviceProfile) -> str:
    o = profile.encoder_options
    codecs = o.codecs if o else ["H264"]
    res = o.resolutions if o else ["1920x1080"]
    fps = o.fps if o else (1, 25)
    gop = o.gop if o else (1, 400)
    br = o.bitrate_kbps if o else (32, 8192)
    rates = " ".join(str(f) for f in sorted({fps[1], 25, 20, 15, 10, 5, fps[0]})
                     if fps[0] <= f <= fps[1])
    out = ""
    for codec in codecs:
        inner = (el("tt:Encoding", _ONVIF_CODEC[codec])
                 + wrap("tt:QualityRange", el("tt:Min", 1.0) + el("tt:Max", 10.0))
                 + "".join(_resolution_text(r, "tt:ResolutionsAvailable")
                           for r in res)
                 + wrap("tt:BitrateRange", el("tt:Min", br[0]) + el("tt:Max", br[1])))
        out += wrap("tr2:Options", inner, GovLengthRange=f"{gop[0]} {gop[1]}",
                    FrameRatesSupported=rates, ProfilesSupported="Main",
                    ConstantBitRateSupported=True)
    return out


def _apply_encoder(dev: SimDevice, cfg: etree._Element | None, media2: bool) -> None:
    if cfg is None:
        raise invalid_arg("InvalidArgs", "Configuration missing")
    ch, stream = _parse_token(cfg.get("token", ""), "VideoEncoder_", dev)
    key = f"{ch}:{stream}"
    cur = dev.state.encoders[key]
    codec_text = text(cfg, "Encoding") or _ONVIF_CODEC[cur.codec]
    codec = _PROFILE_CODEC.get(codec_text)
    if codec is None:
        raise invalid_arg("ConfigModify", f"unknown encoding {codec_text!r}")
    res = child(cfg, "Resolution")
    rc = child(cfg, "RateControl")
    fps_text = text(rc, "FrameRateLimit")
    gop_text = cfg.get("GovLength", "") if media2 else text(cfg, "H264", "GovLength")
    quality_text = text(cfg, "Quality")
    try:
        new = replace(
            cur, codec=codec,
            width=as_int(text(res, "Width"), "Width") if res is not None else cur.width,
            height=as_int(text(res, "Height"), "Height") if res is not None else cur.height,
            fps=int(float(fps_text)) if fps_text else cur.fps,
            bitrate_kbps=as_int(text(rc, "BitrateLimit"), "BitrateLimit")
            if text(rc, "BitrateLimit") else cur.bitrate_kbps,
            gop=as_int(gop_text, "GovLength") if gop_text else cur.gop,
            quality=float(quality_text) if quality_text else cur.quality)
    except ValueError as e:
        raise invalid_arg("ConfigModify", f"unreadable value: {e}") from None
    problem = encoder_problem(dev.spec.profile, new)
    if problem is None and not 1.0 <= new.quality <= 10.0:
        problem = f"quality {new.quality} outside 1..10"
    if problem:
        raise invalid_arg("ConfigModify", problem)
    dev.state.encoders[key] = new
    dev.persist()


# ---- ver10 --------------------------------------------------------------------------------

def _profile10(dev: SimDevice, ch: int, stream: str, tag: str) -> str:
    inner = (el("tt:Name", f"{stream}Stream{ch}")
             + _video_source_config(dev, ch, "tt:VideoSourceConfiguration")
             + _vec10(dev, ch, stream, "tt:VideoEncoderConfiguration"))
    return wrap(tag, inner, token=profile_token(ch, stream), fixed=True)


def get_profiles(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(_profile10(dev, ch, s, "trt:Profiles") for ch, s in _all(dev))
    return wrap("trt:GetProfilesResponse", inner)


def get_profile(dev: SimDevice, body: etree._Element) -> Reply:
    ch, s = _profile_of(dev, body)
    return wrap("trt:GetProfileResponse", _profile10(dev, ch, s, "trt:Profile"))


def get_video_sources(dev: SimDevice, body: etree._Element) -> Reply:
    inner = ""
    for ch in range(1, dev.spec.channel_count + 1):
        w, h = _source_resolution(dev, ch)
        fps = dev.state.encoders[f"{ch}:main"].fps
        inner += wrap("trt:VideoSources", el("tt:Framerate", float(fps)) + _resolution(w, h),
                      token=f"VideoSource_{ch}")
    return wrap("trt:GetVideoSourcesResponse", inner)


def get_video_source_configurations10(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(_video_source_config(dev, ch, "trt:Configurations")
                    for ch in range(1, dev.spec.channel_count + 1))
    return wrap("trt:GetVideoSourceConfigurationsResponse", inner)


def get_video_encoder_configurations10(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(_vec10(dev, ch, s, "trt:Configurations") for ch, s in _all(dev))
    return wrap("trt:GetVideoEncoderConfigurationsResponse", inner)


def get_video_encoder_configuration10(dev: SimDevice, body: etree._Element) -> Reply:
    ch, s = _parse_token(text(body, "ConfigurationToken"), "VideoEncoder_", dev)
    return wrap("trt:GetVideoEncoderConfigurationResponse",
                _vec10(dev, ch, s, "trt:Configuration"))


def get_video_encoder_configuration_options10(dev: SimDevice, body: etree._Element) -> Reply:
    if text(body, "ConfigurationToken"):
        _parse_token(text(body, "ConfigurationToken"), "VideoEncoder_", dev)
    if text(body, "ProfileToken"):
        _profile_of(dev, body)
    return wrap("trt:GetVideoEncoderConfigurationOptionsResponse",
                wrap("trt:Options", _cached(dev.spec.profile, "media", _options10)))


def set_video_encoder_configuration10(dev: SimDevice, body: etree._Element) -> Reply:
    _apply_encoder(dev, child(body, "Configuration"), media2=False)
    return "<trt:SetVideoEncoderConfigurationResponse/>"


def get_stream_uri10(dev: SimDevice, body: etree._Element) -> Reply:
    ch, s = _profile_of(dev, body)
    proto = text(body, "StreamSetup", "Transport", "Protocol") or "RTSP"
    if proto not in ("RTSP", "TCP", "UDP"):
        raise invalid_arg("InvalidStreamSetup", f"transport {proto} not supported")
    uri = (el("tt:Uri", _stream_uri(dev, ch, s)) + el("tt:InvalidAfterConnect", False)
           + el("tt:InvalidAfterReboot", False) + el("tt:Timeout", "PT60S"))
    return wrap("trt:GetStreamUriResponse", wrap("trt:MediaUri", uri))


def get_snapshot_uri10(dev: SimDevice, body: etree._Element) -> Reply:
    ch, _ = _profile_of(dev, body)
    uri = (el("tt:Uri", _snapshot_uri(dev, ch)) + el("tt:InvalidAfterConnect", False)
           + el("tt:InvalidAfterReboot", False) + el("tt:Timeout", "PT60S"))
    return wrap("trt:GetSnapshotUriResponse", wrap("trt:MediaUri", uri))


# ---- ver20 --------------------------------------------------------------------------------

def get_profiles20(dev: SimDevice, body: etree._Element) -> Reply:
    want = text(body, "Token")
    types = {c.text.strip() for c in body if isinstance(c.tag, str)
             and etree.QName(c).localname == "Type" and c.text}
    with_cfg = bool(types & {"All", "VideoSource", "VideoEncoder"})
    inner = ""
    for ch, s in _all(dev):
        if want and want != profile_token(ch, s):
            continue
        cfg = ""
        if with_cfg:
            if types & {"All", "VideoSource"}:
                cfg += _video_source_config(dev, ch, "tr2:VideoSource")
            if types & {"All", "VideoEncoder"}:
                cfg += _vec20(dev, ch, s, "tr2:VideoEncoder")
        inner += wrap("tr2:Profiles", el("tr2:Name", f"{s}Stream{ch}")
                      + wrap("tr2:Configurations", cfg), token=profile_token(ch, s), fixed=True)
    if want and not inner:
        raise invalid_arg("NoProfile", f"unknown profile {want!r}")
    return wrap("tr2:GetProfilesResponse", inner)


def _config_filter(dev: SimDevice, body: etree._Element) -> list[tuple[int, str]]:
    if text(body, "ConfigurationToken"):
        return [_parse_token(text(body, "ConfigurationToken"), "VideoEncoder_", dev)]
    if text(body, "ProfileToken"):
        return [_profile_of(dev, body)]
    return _all(dev)


def get_video_encoder_configurations20(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(_vec20(dev, ch, s, "tr2:Configurations") for ch, s in _config_filter(dev, body))
    return wrap("tr2:GetVideoEncoderConfigurationsResponse", inner)


def get_video_encoder_configuration_options20(dev: SimDevice, body: etree._Element) -> Reply:
    _config_filter(dev, body)  # validates tokens
    return wrap("tr2:GetVideoEncoderConfigurationOptionsResponse", _cached(dev.spec.profile, "media2", _options20))


def get_video_source_configurations20(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(_video_source_config(dev, ch, "tr2:Configurations")
                    for ch in range(1, dev.spec.channel_count + 1))
    return wrap("tr2:GetVideoSourceConfigurationsResponse", inner)


def set_video_encoder_configuration20(dev: SimDevice, body: etree._Element) -> Reply:
    _apply_encoder(dev, child(body, "Configuration"), media2=True)
    return "<tr2:SetVideoEncoderConfigurationResponse/>"


def get_stream_uri20(dev: SimDevice, body: etree._Element) -> Reply:
    ch, s = _profile_of(dev, body)
    proto = text(body, "Protocol") or "RTSP"
    if proto not in ("RTSP", "RtspUnicast", "RtspOverHttp"):
        raise invalid_arg("InvalidStreamSetup", f"protocol {proto} not supported")
    return wrap("tr2:GetStreamUriResponse", el("tr2:Uri", _stream_uri(dev, ch, s)))


def get_snapshot_uri20(dev: SimDevice, body: etree._Element) -> Reply:
    ch, _ = _profile_of(dev, body)
    return wrap("tr2:GetSnapshotUriResponse", el("tr2:Uri", _snapshot_uri(dev, ch)))


MEDIA10: dict[str, tuple[Handler, str]] = {
    "GetProfiles": (get_profiles, "User"),
    "GetProfile": (get_profile, "User"),
    "GetVideoSources": (get_video_sources, "User"),
    "GetVideoSourceConfigurations": (get_video_source_configurations10, "User"),
    "GetVideoEncoderConfigurations": (get_video_encoder_configurations10, "User"),
    "GetVideoEncoderConfiguration": (get_video_encoder_configuration10, "User"),
    "GetVideoEncoderConfigurationOptions": (get_video_encoder_configuration_options10, "User"),
    "SetVideoEncoderConfiguration": (set_video_encoder_configuration10, "Operator"),
    "GetStreamUri": (get_stream_uri10, "User"),
    "GetSnapshotUri": (get_snapshot_uri10, "User"),
}

MEDIA20: dict[str, tuple[Handler, str]] = {
    "GetProfiles": (get_profiles20, "User"),
    "GetVideoSourceConfigurations": (get_video_source_configurations20, "User"),
    "GetVideoEncoderConfigurations": (get_video_encoder_configurations20, "User"),
    "GetVideoEncoderConfigurationOptions": (get_video_encoder_configuration_options20, "User"),
    "SetVideoEncoderConfiguration": (set_video_encoder_configuration20, "Operator"),
    "GetStreamUri": (get_stream_uri20, "User"),
    "GetSnapshotUri": (get_snapshot_uri20, "User"),
}
