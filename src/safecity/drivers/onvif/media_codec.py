"""Decode and update ONVIF media objects (ver10 ``trt`` and ver20 ``tr2``) as zeep gives them.

Kept apart from the client because the two media versions disagree on shape: ver10 carries
the GOP in ``H264.GovLength`` (the lab and many devices do so for H.265 too, since ver10's
encoding enum has no H.265) and hides the bitrate range in ``Extension/H264`` (zeep leaves that
block unparsed in ``_value_1`` because the schema opens with ``xs:any``); ver20 uses attributes.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from safecity.drivers.onvif.models import EncoderConfig, EncoderOptions, MediaProfile

_TO_ONVIF = {"H264": "H264", "H265": "H265", "MJPEG": "JPEG"}
_FROM_ONVIF = {"H264": "H264", "H265": "H265", "HEVC": "H265", "JPEG": "MJPEG", "MJPEG": "MJPEG"}


def _t(value: object) -> str:
    return "" if value is None else str(value).strip()


def codec_from_onvif(value: object) -> str:
    return _FROM_ONVIF.get(_t(value).upper(), _t(value))


def _group(items: list[tuple[str, str, str, EncoderConfig | None]]) -> list[MediaProfile]:
    """(profile token, name, video source token, encoder) -> channels and main/sub.

    Channels are numbered by the order in which video sources first appear; within a channel
    the first profile is the main stream and the second the sub stream (the order devices list
    them in). Further profiles of a channel are not managed."""
    sources: list[str] = []
    seen: dict[str, int] = {}
    out: list[MediaProfile] = []
    for token, name, source, encoder in items:
        if source not in sources:
            sources.append(source)
        count = seen.get(source, 0)
        seen[source] = count + 1
        if count > 1:
            continue
        out.append(MediaProfile(token, name, sources.index(source) + 1,
                                "main" if count == 0 else "sub", source, encoder))
    return out


# ---- ver10 --------------------------------------------------------------------------------

def encoder10(c: Any) -> EncoderConfig:
    rc = c.RateControl
    h264 = getattr(c, "H264", None)
    return EncoderConfig(
        token=_t(c.token), codec=codec_from_onvif(c.Encoding),
        width=int(c.Resolution.Width), height=int(c.Resolution.Height),
        fps=int(float(rc.FrameRateLimit)) if rc is not None else 0,
        bitrate_kbps=int(rc.BitrateLimit) if rc is not None else 0,
        gop=int(h264.GovLength) if h264 is not None and h264.GovLength is not None else 0)


def profiles10(reply: Any) -> list[MediaProfile]:
    items = []
    for p in reply or []:
        vsc = getattr(p, "VideoSourceConfiguration", None)
        vec = getattr(p, "VideoEncoderConfiguration", None)
        if vsc is None:
            continue
        items.append((_t(p.token), _t(p.Name), _t(vsc.SourceToken),
                      encoder10(vec) if vec is not None else None))
    return _group(items)


def update10(c: Any, codec: str, width: int, height: int, fps: int, bitrate_kbps: int,
             gop: int) -> None:
    c.Encoding = _TO_ONVIF[codec]
    c.Resolution.Width, c.Resolution.Height = width, height
    c.RateControl.FrameRateLimit, c.RateControl.BitrateLimit = fps, bitrate_kbps
    if getattr(c, "H264", None) is not None:
        c.H264.GovLength = gop
    else:
        c.H264 = {"GovLength": gop, "H264Profile": "Main"}


def _range(r: Any) -> tuple[int, int]:
    return int(r.Min), int(r.Max)


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(getattr(el, "tag", None), str) else ""


def _raw_bitrate_range(any_items: Any) -> tuple[int, int] | None:
    """BitrateRange inside the unparsed ``Extension/H264`` block (lxml elements)."""
    for el in any_items or []:
        if not isinstance(el, etree._Element):
            continue
        for node in el.iter():
            if _local(node) == "BitrateRange":
                lo = next((c.text for c in node if _local(c) == "Min"), None)
                hi = next((c.text for c in node if _local(c) == "Max"), None)
                if lo is not None and hi is not None:
                    return int(lo), int(hi)
    return None


def options10(o: Any) -> EncoderOptions:
    h264 = getattr(o, "H264", None)
    jpeg = getattr(o, "JPEG", None)
    codecs: list[str] = []
    if h264 is not None:
        codecs.append("H264")
    if jpeg is not None:
        codecs.append("MJPEG")
    block = h264 if h264 is not None else jpeg
    if block is None:
        return EncoderOptions(tuple(codecs), (), (0, 0), None, (0, 0), codecs_exhaustive=False)
    resolutions = tuple(f"{int(r.Width)}x{int(r.Height)}" for r in block.ResolutionsAvailable)
    gop = _range(h264.GovLengthRange) if h264 is not None else (1, 1)
    ext = getattr(o, "Extension", None)
    bitrate = None
    if ext is not None:
        parsed = getattr(ext, "H264", None)
        if parsed is not None and getattr(parsed, "BitrateRange", None) is not None:
            bitrate = _range(parsed.BitrateRange)
        else:
            bitrate = _raw_bitrate_range(getattr(ext, "_value_1", None))
    # ver10's encoding enum cannot say "H.265": the codec list is a lower bound only.
    return EncoderOptions(tuple(codecs), resolutions, _range(block.FrameRateRange), bitrate, gop,
                          codecs_exhaustive=False)


# ---- ver20 --------------------------------------------------------------------------------

def encoder20(c: Any) -> EncoderConfig:
    rc = getattr(c, "RateControl", None)
    return EncoderConfig(
        token=_t(c.token), codec=codec_from_onvif(c.Encoding),
        width=int(c.Resolution.Width), height=int(c.Resolution.Height),
        fps=int(float(rc.FrameRateLimit)) if rc is not None else 0,
        bitrate_kbps=int(rc.BitrateLimit) if rc is not None else 0,
        gop=int(c.GovLength) if c.GovLength is not None else 0)


def profiles20(reply: Any) -> list[MediaProfile]:
    items = []
    for p in reply or []:
        cfg = getattr(p, "Configurations", None)
        vs = getattr(cfg, "VideoSource", None) if cfg is not None else None
        ve = getattr(cfg, "VideoEncoder", None) if cfg is not None else None
        if vs is None:
            continue
        items.append((_t(p.token), _t(p.Name), _t(vs.SourceToken),
                      encoder20(ve) if ve is not None else None))
    return _group(items)


def update20(c: Any, codec: str, width: int, height: int, fps: int, bitrate_kbps: int,
             gop: int) -> None:
    c.Encoding = _TO_ONVIF[codec]
    c.Resolution.Width, c.Resolution.Height = width, height
    if c.RateControl is None:
        c.RateControl = {"FrameRateLimit": float(fps), "BitrateLimit": bitrate_kbps}
    else:
        c.RateControl.FrameRateLimit, c.RateControl.BitrateLimit = float(fps), bitrate_kbps
    c.GovLength = gop


def _int_pair(text: str) -> tuple[int, int]:
    values = [int(float(v)) for v in text.split()]
    return (min(values), max(values)) if values else (0, 0)


def options20(reply: Any) -> EncoderOptions:
    codecs: list[str] = []
    resolutions: list[str] = []
    fps: tuple[int, int] | None = None
    bitrate: tuple[int, int] | None = None
    gop: tuple[int, int] | None = None
    for o in reply or []:
        codecs.append(codec_from_onvif(o.Encoding))
        for r in o.ResolutionsAvailable or []:
            res = f"{int(r.Width)}x{int(r.Height)}"
            if res not in resolutions:
                resolutions.append(res)
        if getattr(o, "BitrateRange", None) is not None:
            bitrate = _merge(bitrate, _range(o.BitrateRange))
        if _t(getattr(o, "FrameRatesSupported", "")):
            fps = _merge(fps, _int_pair(_t(o.FrameRatesSupported)))
        if _t(getattr(o, "GovLengthRange", "")):
            gop = _merge(gop, _int_pair(_t(o.GovLengthRange)))
    return EncoderOptions(tuple(codecs), tuple(resolutions), fps or (0, 0), bitrate,
                          gop or (0, 0), codecs_exhaustive=True)


def _merge(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))
