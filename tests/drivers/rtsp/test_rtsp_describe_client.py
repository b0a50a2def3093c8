"""safecity.drivers.rtsp.describe against the lab RTSP responder and a few hostile servers,
over real loopback sockets."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from safecity.drivers.reachability import tcp_reachable
from safecity.drivers.rtsp import describe
from safecity.errors import (
    AuthFailed,
    DeviceError,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
)
from safecity.lab.media import RtspEndpointSpec, RtspLab, StreamSpec

HOST = "127.33.2.1"
USER, PASSWORD = "admin", "Probe-Pass-9"
TIMEOUT = 10.0


@pytest.fixture
async def lab() -> AsyncIterator[RtspLab]:
    lab = await RtspLab.start([RtspEndpointSpec("cam-1", HOST, USER, PASSWORD, port=0)])
    try:
        yield lab
    finally:
        await lab.close()


async def test_describe_main_stream(lab: RtspLab) -> None:
    result = await describe(lab.url("cam-1"), USER, PASSWORD, TIMEOUT, device="cam-1")
    assert result.status == 200
    assert result.codec == "H264"
    assert result.resolution == (1920, 1080)
    assert result.video is not None and result.video.fps == 25
    assert result.video.control_url == lab.url("cam-1") + "/trackID=1"
    assert result.auth_scheme == "digest"
    assert "DESCRIBE" in result.public_methods
    assert result.server == "safecity-lab-rtsp/1.0"
    assert result.session_name == "cam-1"
    assert 0 < result.connect_s <= result.latency_s < TIMEOUT
    assert PASSWORD not in repr(result)


@pytest.mark.parametrize("codec, width, height", [
    ("H264", 1920, 1080), ("H264", 704, 576), ("H264", 1280, 720), ("H264", 2688, 1520),
    ("H265", 2560, 1440), ("H265", 3840, 2160), ("H265", 640, 362),
])
async def test_resolution_from_sps_when_sdp_has_no_size_attributes(
        codec: str, width: int, height: int) -> None:
    spec = RtspEndpointSpec("cam-sps", "127.33.2.2", USER, PASSWORD, port=0,
                            sdp_dimension_attrs=False,
                            streams=(StreamSpec("/live", codec, width, height, 30),))  # type: ignore[arg-type]
    async with await RtspLab.start([spec]) as lab:
        result = await describe(lab.url("cam-sps"), USER, PASSWORD, TIMEOUT)
    assert "framesize" not in result.sdp
    assert (result.codec, result.resolution) == (codec, (width, height))


@pytest.mark.parametrize("scheme, qop", [("digest", True), ("basic", False)])
async def test_other_auth_flavours(scheme: str, qop: bool) -> None:
    spec = RtspEndpointSpec("cam-auth", "127.33.2.3", USER, PASSWORD, port=0,
                            auth_scheme=scheme, digest_qop=qop)  # type: ignore[arg-type]
    async with await RtspLab.start([spec]) as lab:
        result = await describe(lab.url("cam-auth"), USER, PASSWORD, TIMEOUT)
    assert result.auth_scheme == scheme and result.codec == "H264"


async def test_no_auth_camera() -> None:
    spec = RtspEndpointSpec("cam-open", "127.33.2.4", "", "", port=0, require_auth=False)
    async with await RtspLab.start([spec]) as lab:
        result = await describe(lab.url("cam-open", 1), "", "", TIMEOUT)
    assert result.auth_scheme is None and result.resolution == (640, 360)


async def test_wrong_password_is_auth_failed(lab: RtspLab) -> None:
    with pytest.raises(AuthFailed, match=r"^cam-1: rtsp describe: credentials refused"):
        await describe(lab.url("cam-1"), USER, "not-it", TIMEOUT, device="cam-1")


async def test_missing_credentials_is_auth_failed(lab: RtspLab) -> None:
    with pytest.raises(AuthFailed, match="no credentials"):
        await describe(lab.url("cam-1"), "", "", TIMEOUT)


async def test_rotated_password_takes_effect(lab: RtspLab) -> None:
    lab.update_endpoint("cam-1", password="New-Pass-10")
    with pytest.raises(AuthFailed):
        await describe(lab.url("cam-1"), USER, PASSWORD, TIMEOUT)
    assert (await describe(lab.url("cam-1"), USER, "New-Pass-10", TIMEOUT)).status == 200


async def test_unknown_path_is_rejected_404(lab: RtspLab) -> None:
    with pytest.raises(DeviceRejected, match="404"):
        await describe(lab.url("cam-1", "/Streaming/Channels/301"), USER, PASSWORD, TIMEOUT)


async def test_offline_is_unreachable(lab: RtspLab) -> None:
    url = lab.url("cam-1")
    await lab.set_fault("cam-1", "offline")
    with pytest.raises(DeviceUnreachable, match="refused") as caught:
        await describe(url, USER, PASSWORD, TIMEOUT)
    assert not isinstance(caught.value, DeviceTimeout)


async def test_slow_camera_is_timeout(lab: RtspLab) -> None:
    await lab.set_fault("cam-1", "slow", delay=5.0)
    with pytest.raises(DeviceTimeout, match="no RTSP answer within 0.3 s"):
        await describe(lab.url("cam-1"), USER, PASSWORD, 0.3)


async def test_bad_url_is_a_device_error() -> None:
    with pytest.raises(DeviceError, match="not an rtsp:// URL"):
        await describe("http://127.33.2.9/x", USER, PASSWORD, TIMEOUT)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve_once(host: str, handler: Handler) -> tuple[asyncio.base_events.Server, int]:
    server = await asyncio.start_server(handler, host, 0)
    return server, server.sockets[0].getsockname()[1]


async def test_http_server_on_rtsp_port_is_rejected() -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server, port = await serve_once("127.33.2.5", http)
    async with server:
        with pytest.raises(DeviceRejected, match="not an RTSP response"):
            await describe(f"rtsp://127.33.2.5:{port}/x", USER, PASSWORD, TIMEOUT)


async def test_server_that_hangs_up_is_unreachable() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server, port = await serve_once("127.33.2.6", hang_up)
    async with server:
        with pytest.raises(DeviceUnreachable, match="closed by device"):
            await describe(f"rtsp://127.33.2.6:{port}/x", USER, PASSWORD, TIMEOUT)


async def test_tcp_reachable(lab: RtspLab) -> None:
    port = lab.port_of("cam-1")
    latency = await tcp_reachable(HOST, port, TIMEOUT)
    assert latency is not None and 0 <= latency < TIMEOUT
    await lab.set_fault("cam-1", "offline")
    assert await tcp_reachable(HOST, port, TIMEOUT) is None


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
async def test_ffprobe_reads_the_lab_sdp(lab: RtspLab) -> None:
    """Third-party check: ffprobe parses the lab's DESCRIBE answer (codec + size from SDP).
    The lab sends no RTP, so only the header info is asserted, not ffprobe's exit code."""
    host_url = lab.url("cam-1").replace("rtsp://", f"rtsp://{USER}:{PASSWORD}@")
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-hide_banner", "-rtsp_transport", "tcp", "-timeout", "3000000",
        "-analyzeduration", "100000", "-probesize", "32", host_url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = err.decode(errors="replace")
    assert "h264" in text and "1920x1080" in text
