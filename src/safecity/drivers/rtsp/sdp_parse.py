"""Parse the SDP a camera returns to DESCRIBE into what the health checks need."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from safecity.drivers.rtsp.sps_resolution import h264_sps_resolution, h265_sps_resolution

_FRAMESIZE = re.compile(r"^\d+\s+(\d+)-(\d+)$")
_X_DIMENSIONS = re.compile(r"^(\d+),(\d+)$")


@dataclass(frozen=True)
class SdpMedia:
    kind: str  # "video", "audio", "application"
    payload_type: int | None
    codec: str | None  # encoding name upper-cased: "H264", "H265", "PCMA", ...
    clock_rate: int | None
    control: str | None  # as written in the SDP (may be relative)
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    fmtp: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SdpSession:
    name: str | None
    control: str | None
    media: tuple[SdpMedia, ...]


class SdpError(ValueError):
    """The body is not a usable SDP."""


def parse_sdp(text: str) -> SdpSession:
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not lines or not lines[0].startswith("v="):
        raise SdpError("SDP does not start with v=")
    session: dict[str, str | None] = {"name": None, "control": None}
    blocks: list[list[str]] = []
    for line in lines:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"malformed SDP line {line[:40]!r}")
        if line.startswith("m="):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        elif line.startswith("s="):
            session["name"] = line[2:]
        elif line.startswith("a=control:"):
            session["control"] = line[len("a=control:"):]
    return SdpSession(session["name"], session["control"], tuple(_media(b) for b in blocks))


def _media(block: list[str]) -> SdpMedia:
    parts = block[0][2:].split()
    if len(parts) < 4:
        raise SdpError(f"malformed m= line {block[0]!r}")
    kind = parts[0]
    payload = int(parts[3]) if parts[3].isdigit() else None
    codec = clock = control = None
    width = height = None
    fps: float | None = None
    fmtp: dict[str, str] = {}
    for line in block[1:]:
        if not line.startswith("a="):
            continue
        name, _, value = line[2:].partition(":")
        if name == "rtpmap":
            pt, _, encoding = value.partition(" ")
            if payload is None or pt == str(payload):
                enc = encoding.split("/")
                codec = enc[0].upper()
                clock = int(enc[1]) if len(enc) > 1 and enc[1].isdigit() else None
        elif name == "fmtp":
            _, _, params = value.partition(" ")
            for item in params.split(";"):
                key, sep, val = item.strip().partition("=")
                if sep:
                    fmtp[key.strip().lower()] = val.strip()
        elif name == "control":
            control = value
        elif name == "framesize" and (m := _FRAMESIZE.match(value.strip())):
            width, height = int(m.group(1)), int(m.group(2))
        elif name == "x-dimensions" and (m := _X_DIMENSIONS.match(value.strip())):
            width, height = width or int(m.group(1)), height or int(m.group(2))
        elif name == "framerate":
            try:
                fps = float(value)
            except ValueError:
                pass
    if width is None and codec in ("H264", "H265"):
        width, height = _resolution_from_sps(codec, fmtp) or (None, None)
    return SdpMedia(kind, payload, codec, clock, control, width, height, fps, fmtp)


def _resolution_from_sps(codec: str, fmtp: dict[str, str]) -> tuple[int, int] | None:
    try:
        if codec == "H264" and "sprop-parameter-sets" in fmtp:
            sps = base64.b64decode(fmtp["sprop-parameter-sets"].split(",")[0])
            return h264_sps_resolution(sps)
        if codec == "H265" and "sprop-sps" in fmtp:
            return h265_sps_resolution(base64.b64decode(fmtp["sprop-sps"]))
    except (ValueError, binascii.Error):
        return None  # a broken SPS only costs us the resolution
    return None
