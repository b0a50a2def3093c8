"""What one simulated camera's RTSP service looks like: address, credentials, streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Codec = Literal["H264", "H265"]
AuthScheme = Literal["digest", "basic"]
RtspFault = Literal["offline", "slow"]


@dataclass(frozen=True)
class StreamSpec:
    """One stream path and what its encoder is set to; the SDP reflects these values."""

    path: str  # e.g. "/Streaming/Channels/101"
    codec: Codec = "H264"
    width: int = 1920
    height: int = 1080
    fps: int = 25

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"stream path must start with '/': {self.path!r}")
        if self.codec not in ("H264", "H265"):
            raise ValueError(f"unsupported codec {self.codec!r}")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"bad resolution {self.width}x{self.height} (even, >= 16)")


def _hikvision_streams() -> tuple[StreamSpec, ...]:
    return (StreamSpec("/Streaming/Channels/101", "H264", 1920, 1080, 25),
            StreamSpec("/Streaming/Channels/102", "H264", 640, 360, 15))


@dataclass(frozen=True)
class RtspEndpointSpec:
    """A camera's RTSP service. ``port=0`` binds an ephemeral port (see RtspLab.port_of)."""

    name: str
    host: str
    username: str
    password: str
    port: int = 554
    streams: tuple[StreamSpec, ...] = field(default_factory=_hikvision_streams)
    realm: str = "IP Camera"
    require_auth: bool = True
    auth_scheme: AuthScheme = "digest"
    # Offer qop="auth" in the digest challenge (most cameras send RFC 2069 style, without).
    digest_qop: bool = False
    server: str = "safecity-lab-rtsp/1.0"
    # a=framesize / a=x-dimensions in the SDP; off = clients must read the SPS
    sdp_dimension_attrs: bool = True

    def stream(self, path: str) -> StreamSpec | None:
        wanted = path.rstrip("/") or "/"
        for s in self.streams:
            if s.path.rstrip("/") == wanted:
                return s
        return None
