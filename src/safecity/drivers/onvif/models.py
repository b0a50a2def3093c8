"""Typed results of the ONVIF driver. Plain frozen dataclasses: nothing zeep-shaped leaks out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

UserLevel = Literal["Administrator", "Operator", "User"]
Codec = Literal["H264", "H265", "MJPEG"]
MediaVersion = Literal["media", "media2"]
StreamKind = Literal["main", "sub"]


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str


@dataclass(frozen=True)
class DeviceTime:
    """The device clock as read anonymously, and its offset from ours (device minus local)."""

    utc: datetime
    offset_s: float
    ntp: bool  # DateTimeType is NTP
    timezone: str


@dataclass(frozen=True)
class NetworkConfig:
    interface_token: str
    mac: str
    address: str
    prefix_length: int
    dhcp: bool


@dataclass(frozen=True)
class NtpConfig:
    from_dhcp: bool
    servers: tuple[str, ...]


@dataclass(frozen=True)
class DnsConfig:
    from_dhcp: bool
    servers: tuple[str, ...]
    search_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class User:
    username: str
    level: UserLevel


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str = field(repr=False)
    level: UserLevel


@dataclass(frozen=True)
class EncoderConfig:
    """One video encoder configuration; ``token`` identifies it on the device."""

    token: str
    codec: str
    width: int
    height: int
    fps: int
    bitrate_kbps: int
    gop: int

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class EncoderOptions:
    codecs: tuple[str, ...]
    resolutions: tuple[str, ...]
    fps: tuple[int, int]
    bitrate_kbps: tuple[int, int] | None  # None: the device does not say
    gop: tuple[int, int]
    # False when the media version cannot list every codec (ver10 has no H.265 in its enum):
    # an unlisted codec is then left for the device to accept or refuse.
    codecs_exhaustive: bool = True

    def problem(self, codec: str, resolution: str, fps: int, bitrate_kbps: int,
                gop: int) -> str | None:
        """Why the device cannot run these settings, or None."""
        if self.codecs_exhaustive and codec not in self.codecs:
            return f"codec {codec} not offered (offered: {', '.join(self.codecs)})"
        if resolution not in self.resolutions:
            return f"resolution {resolution} not offered"
        checks: list[tuple[str, int, tuple[int, int] | None]] = [
            ("frame rate", fps, self.fps), ("bitrate", bitrate_kbps, self.bitrate_kbps),
            ("GOP", gop, self.gop)]
        for label, value, bounds in checks:
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                return f"{label} {value} outside {bounds[0]}..{bounds[1]}"
        return None


@dataclass(frozen=True)
class MediaProfile:
    """A media profile and its place in safecity's naming: channel number and main/sub."""

    token: str
    name: str
    channel: int
    stream: StreamKind
    video_source: str
    encoder: EncoderConfig | None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.stream}"


@dataclass(frozen=True)
class StreamUris:
    profile_token: str
    stream: str
    snapshot: str | None
