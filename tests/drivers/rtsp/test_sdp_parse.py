"""SDP parsing of vendor-style DESCRIBE bodies (hand-written, as cameras send them)."""

from __future__ import annotations

import pytest

from safecity.drivers.rtsp import parse_sdp
from safecity.drivers.rtsp.sdp_parse import SdpError

HIKVISION_STYLE = (
    "v=0\r\no=- 1109162014219182 1109162014219192 IN IP4 0.0.0.0\r\n"
    "s=Media Presentation\r\ne=NONE\r\nb=AS:5050\r\nt=0 0\r\n"
    "a=control:rtsp://cam.example/Streaming/Channels/101/\r\n"
    "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:5000\r\na=recvonly\r\n"
    "a=x-dimensions:2688,1520\r\n"
    "a=control:rtsp://cam.example/Streaming/Channels/101/trackID=1\r\n"
    "a=rtpmap:96 H265/90000\r\n"
    "m=audio 0 RTP/AVP 8\r\nc=IN IP4 0.0.0.0\r\nb=AS:50\r\na=recvonly\r\n"
    "a=control:rtsp://cam.example/Streaming/Channels/101/trackID=2\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
)


def test_vendor_sdp_with_absolute_controls_and_audio() -> None:
    sdp = parse_sdp(HIKVISION_STYLE)
    assert sdp.name == "Media Presentation"
    assert sdp.control == "rtsp://cam.example/Streaming/Channels/101/"
    video, audio = sdp.media
    assert (video.kind, video.codec, video.clock_rate) == ("video", "H265", 90000)
    assert (video.width, video.height) == (2688, 1520)
    assert video.control == "rtsp://cam.example/Streaming/Channels/101/trackID=1"
    assert (audio.kind, audio.codec, audio.clock_rate, audio.payload_type) == \
        ("audio", "PCMA", 8000, 8)


def test_framesize_wins_and_fmtp_is_split() -> None:
    sdp = parse_sdp("v=0\ns=x\nm=video 0 RTP/AVP 97\na=rtpmap:97 H264/90000\n"
                    "a=fmtp:97 packetization-mode=1; profile-level-id=4D001F\n"
                    "a=framesize:97 1280-720\na=framerate:12.5\na=control:track1\n")
    (video,) = sdp.media
    assert (video.width, video.height, video.fps) == (1280, 720, 12.5)
    assert video.fmtp == {"packetization-mode": "1", "profile-level-id": "4D001F"}


def test_broken_sps_costs_only_the_resolution() -> None:
    sdp = parse_sdp("v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
                    "a=fmtp:96 sprop-parameter-sets=Z2Q=,aM4=\n")
    assert sdp.media[0].codec == "H264" and sdp.media[0].width is None


@pytest.mark.parametrize("body", ["", "HTTP/1.1 200 OK", "v=0\nthis is not sdp\n"])
def test_not_sdp(body: str) -> None:
    with pytest.raises(SdpError):
        parse_sdp(body)
