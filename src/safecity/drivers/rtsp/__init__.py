"""RTSP client side: a DESCRIBE probe over raw asyncio streams (no ffmpeg)."""

from safecity.drivers.rtsp.describe import RtspDescribeResult, RtspStream, describe
from safecity.drivers.rtsp.sdp_parse import SdpMedia, SdpSession, parse_sdp

__all__ = ["RtspDescribeResult", "RtspStream", "SdpMedia", "SdpSession", "describe",
           "parse_sdp"]
