"""The lab RTSP responder over real sockets, driven by hand-written requests (not by the
safecity client, so a bug shared by both cannot hide)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator

import pytest

from safecity.errors import LabError
from safecity.lab.media import RtspEndpointSpec, RtspLab, StreamSpec

HOST = "127.33.1.1"
USER, PASSWORD, REALM = "admin", "Lab-Pass-1", "IP Camera"
TIMEOUT = 10.0


@pytest.fixture
async def lab() -> AsyncIterator[RtspLab]:
    spec = RtspEndpointSpec("cam-a", HOST, USER, PASSWORD, port=0, realm=REALM)
    lab = await RtspLab.start([spec])
    try:
        yield lab
    finally:
        await lab.close()


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, lab: RtspLab, name: str = "cam-a") -> RawClient:
        r, w = await asyncio.wait_for(asyncio.open_connection(HOST, lab.port_of(name)), TIMEOUT)
        return cls(r, w)

    async def send(self, text: str) -> tuple[str, dict[str, str], bytes]:
        self.writer.write(text.encode())
        await self.writer.drain()
        return await self.receive()

    async def receive(self) -> tuple[str, dict[str, str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        body = b""
        if "content-length" in headers:
            body = await asyncio.wait_for(
                self.reader.readexactly(int(headers["content-length"])), TIMEOUT)
        return lines[0], headers, body

    async def closed_by_peer(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(1), TIMEOUT)
        return data == b""

    def close(self) -> None:
        self.writer.close()


def digest_header(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    realm = re.search(r'realm="([^"]*)"', challenge)
    nonce = re.search(r'nonce="([^"]*)"', challenge)
    assert realm and nonce
    ha1 = hashlib.md5(f"{user}:{realm[1]}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce[1]}:{ha2}".encode()).hexdigest()
    return (f'Digest username="{user}", realm="{realm[1]}", nonce="{nonce[1]}", '
            f'uri="{uri}", response="{response}"')


async def authorised_describe(client: RawClient, url: str, user: str = USER,
                              password: str = PASSWORD) -> tuple[str, dict[str, str], bytes]:
    status, headers, _ = await client.send(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n")
    assert status == "RTSP/1.0 401 Unauthorized"
    auth = digest_header(headers["www-authenticate"], "DESCRIBE", url, user, password)
    return await client.send(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 3\r\n"
                             f"Accept: application/sdp\r\nAuthorization: {auth}\r\n\r\n")


async def test_options_needs_no_auth_and_lists_methods(lab: RtspLab) -> None:
    client = await RawClient.open(lab)
    try:
        status, headers, _ = await client.send(f"OPTIONS {lab.url('cam-a')} RTSP/1.0\r\nCSeq: 7\r\n\r\n")
    finally:
        client.close()
    assert status == "RTSP/1.0 200 OK"
    assert headers["cseq"] == "7"
    assert "DESCRIBE" in headers["public"] and "SETUP" in headers["public"]


async def test_describe_challenges_then_returns_sdp(lab: RtspLab) -> None:
    url = lab.url("cam-a")
    client = await RawClient.open(lab)
    try:
        status, headers, _ = await client.send(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n")
        assert status == "RTSP/1.0 401 Unauthorized"
        assert headers["www-authenticate"].startswith(f'Digest realm="{REALM}", nonce="')
        auth = digest_header(headers["www-authenticate"], "DESCRIBE", url, USER, PASSWORD)
        status, headers, body = await client.send(
            f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: {auth}\r\n\r\n")
    finally:
        client.close()
    assert status == "RTSP/1.0 200 OK"
    assert headers["cseq"] == "3"
    assert headers["content-type"] == "application/sdp"
    assert headers["content-base"] == url + "/"
    assert int(headers["content-length"]) == len(body)
    sdp = body.decode()
    assert sdp.startswith("v=0\r\n")
    assert "m=video 0 RTP/AVP 96\r\n" in sdp
    assert "a=rtpmap:96 H264/90000\r\n" in sdp
    assert "a=fmtp:96 packetization-mode=1;profile-level-id=" in sdp
    assert "sprop-parameter-sets=" in sdp
    assert "a=framesize:96 1920-1080\r\n" in sdp
    assert "a=framerate:25\r\n" in sdp
    assert "a=control:trackID=1\r\n" in sdp


async def test_sub_stream_sdp_reflects_its_settings(lab: RtspLab) -> None:
    client = await RawClient.open(lab)
    try:
        status, _, body = await authorised_describe(client, lab.url("cam-a", 1))
    finally:
        client.close()
    assert status == "RTSP/1.0 200 OK"
    assert "a=x-dimensions:640,360" in body.decode()
    assert "a=framerate:15" in body.decode()


async def test_wrong_password_gets_401_again(lab: RtspLab) -> None:
    client = await RawClient.open(lab)
    try:
        status, headers, _ = await authorised_describe(client, lab.url("cam-a"),
                                                       password="wrong")
    finally:
        client.close()
    assert status == "RTSP/1.0 401 Unauthorized"
    assert "nonce=" in headers["www-authenticate"]


async def test_unknown_path_is_404(lab: RtspLab) -> None:
    client = await RawClient.open(lab)
    try:
        status, _, _ = await authorised_describe(client, lab.url("cam-a", "/Streaming/Channels/999"))
    finally:
        client.close()
    assert status == "RTSP/1.0 404 Not Found"


@pytest.mark.parametrize("request_text, expected", [
    ("GARBAGE\r\nCSeq: 4\r\n\r\n", "RTSP/1.0 400 Bad Request"),
    ("DESCRIBE rtsp://x/ RTSP/1.0\r\nNo colon here\r\n\r\n", "RTSP/1.0 400 Bad Request"),
    ("DESCRIBE rtsp://x/ RTSP/1.0\r\n\r\n", "RTSP/1.0 400 Bad Request"),  # no CSeq
    ("OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", "RTSP/1.0 505 RTSP Version Not Supported"),
])
async def test_malformed_request_is_rejected_and_closed(lab: RtspLab, request_text: str,
                                                        expected: str) -> None:
    client = await RawClient.open(lab)
    try:
        status, headers, _ = await client.send(request_text)
        assert status == expected
        assert headers.get("connection") == "close"
        assert await client.closed_by_peer()
    finally:
        client.close()


async def test_oversized_request_closes_without_answer(lab: RtspLab) -> None:
    client = await RawClient.open(lab)
    try:
        client.writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Pad: " + b"a" * 20000)
        await client.writer.drain()
        assert await client.closed_by_peer()
    finally:
        client.close()


async def test_unknown_method_is_501(lab: RtspLab) -> None:
    client = await RawClient.open(lab)
    try:
        status, _, _ = await client.send("RECORD rtsp://x/ RTSP/1.0\r\nCSeq: 9\r\n\r\n")
    finally:
        client.close()
    assert status == "RTSP/1.0 501 Not Implemented"


async def test_setup_play_teardown_minimal(lab: RtspLab) -> None:
    track = lab.url("cam-a") + "/trackID=1"
    client = await RawClient.open(lab)
    try:
        status, headers, _ = await client.send(f"SETUP {track} RTSP/1.0\r\nCSeq: 1\r\n"
                                               "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
        assert status.endswith("401 Unauthorized")
        auth = digest_header(headers["www-authenticate"], "SETUP", track, USER, PASSWORD)
        status, headers, _ = await client.send(
            f"SETUP {track} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {auth}\r\n"
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
        assert status == "RTSP/1.0 200 OK"
        assert "interleaved=0-1" in headers["transport"]
        session = headers["session"].split(";")[0]
        for cseq, method in ((3, "PLAY"), (4, "TEARDOWN")):
            auth = digest_header(headers.get("www-authenticate", auth), method,
                                 lab.url("cam-a"), USER, PASSWORD)
            status, _, _ = await client.send(f"{method} {lab.url('cam-a')} RTSP/1.0\r\n"
                                             f"CSeq: {cseq}\r\nSession: {session}\r\n"
                                             f"Authorization: {auth}\r\n\r\n")
            assert status == "RTSP/1.0 200 OK", method
    finally:
        client.close()


async def test_password_and_encoder_changes_apply_at_runtime(lab: RtspLab) -> None:
    lab.update_endpoint("cam-a", password="Rotated-2",
                        streams=[StreamSpec("/Streaming/Channels/101", "H265", 2560, 1440, 20)])
    client = await RawClient.open(lab)
    try:
        status, _, _ = await authorised_describe(client, lab.url("cam-a"))
        assert status == "RTSP/1.0 401 Unauthorized"  # old password no longer works
        status, _, body = await authorised_describe(client, lab.url("cam-a"),
                                                    password="Rotated-2")
    finally:
        client.close()
    assert status == "RTSP/1.0 200 OK"
    sdp = body.decode()
    assert "a=rtpmap:96 H265/90000" in sdp and "sprop-sps=" in sdp
    assert "a=framesize:96 2560-1440" in sdp


async def test_offline_refuses_then_recovers_on_same_port(lab: RtspLab) -> None:
    port = lab.port_of("cam-a")
    await lab.set_fault("cam-a", "offline")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
    await lab.set_fault("cam-a", None)
    assert lab.port_of("cam-a") == port
    client = await RawClient.open(lab)
    try:
        status, _, _ = await client.send(f"OPTIONS {lab.url('cam-a')} RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    finally:
        client.close()
    assert status == "RTSP/1.0 200 OK"


async def test_basic_auth_endpoint() -> None:
    spec = RtspEndpointSpec("cam-b", "127.33.1.2", "viewer", "pw", port=0, auth_scheme="basic")
    async with await RtspLab.start([spec]) as lab:
        reader, writer = await asyncio.open_connection("127.33.1.2", lab.port_of("cam-b"))
        raw = RawClient(reader, writer)
        try:
            status, headers, _ = await raw.send(f"DESCRIBE {lab.url('cam-b')} RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            assert headers["www-authenticate"] == 'Basic realm="IP Camera"'
            status, _, body = await raw.send(f"DESCRIBE {lab.url('cam-b')} RTSP/1.0\r\nCSeq: 2\r\n"
                                             "Authorization: Basic dmlld2VyOnB3\r\n\r\n")
        finally:
            raw.close()
    assert status == "RTSP/1.0 200 OK" and body.startswith(b"v=0")


async def test_lab_refuses_non_loopback_and_duplicate_names() -> None:
    with pytest.raises(LabError, match="only binds loopback"):
        await RtspLab.start([RtspEndpointSpec("cam-x", "192.0.2.10", "a", "b", port=0)])
    spec = RtspEndpointSpec("cam-y", "127.33.1.3", "a", "b", port=0)
    with pytest.raises(LabError, match="already exists"):
        await RtspLab.start([spec, spec])
