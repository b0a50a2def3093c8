"""RTSP reachability probe without ffmpeg: OPTIONS + DESCRIBE (with digest or basic auth)
over one raw asyncio connection, SDP parsed into codec, resolution and control URLs.
~30-50 ms against a live camera (DOMAIN.md §3); ffprobe is for deep checks only.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from safecity.drivers.rtsp.client_auth import Authenticator, pick_challenge
from safecity.drivers.rtsp.sdp_parse import SdpError, SdpMedia, parse_sdp
from safecity.errors import (
    AuthFailed,
    DeviceError,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
)
from safecity.netguard import check_target

OPERATION = "rtsp describe"
USER_AGENT = "safecity-probe/1.0"
MAX_HEAD_BYTES = 65536
MAX_BODY_BYTES = 1 << 20

_STATUS_LINE = re.compile(r"^RTSP/1\.\d (\d{3})(?: (.*))?$")


@dataclass(frozen=True)
class RtspStream:
    """One m= section of the DESCRIBE answer, control URL resolved against Content-Base."""

    kind: str
    codec: str | None
    payload_type: int | None
    clock_rate: int | None
    control_url: str
    width: int | None
    height: int | None
    fps: float | None


@dataclass(frozen=True)
class RtspDescribeResult:
    url: str  # as probed, without credentials
    status: int
    latency_s: float  # connect + OPTIONS + DESCRIBE (+ auth round trip)
    connect_s: float
    server: str | None
    public_methods: tuple[str, ...]
    auth_scheme: str | None  # "digest", "basic" or None (no auth asked)
    content_base: str
    session_name: str | None
    media: tuple[RtspStream, ...]
    sdp: str

    @property
    def video(self) -> RtspStream | None:
        return next((m for m in self.media if m.kind == "video"), None)

    @property
    def codec(self) -> str | None:
        return self.video.codec if self.video else None

    @property
    def resolution(self) -> tuple[int, int] | None:
        v = self.video
        return (v.width, v.height) if v and v.width and v.height else None


@dataclass
class _Response:
    status: int
    reason: str
    headers: dict[str, list[str]]  # lower-case names
    body: bytes

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


class _Abort(Exception):
    """Internal: carries the mapped error out of the timeout scope."""

    def __init__(self, error: DeviceError) -> None:
        super().__init__(str(error))
        self.error = error


class _Session:
    def __init__(self, device: str, host: str, port: int, username: str, password: str) -> None:
        self.device, self.host, self.port = device, host, port
        self.username, self.password = username, password
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cseq = 0
        self.auth: Authenticator | None = None
        self.connected = False

    def fail(self, cls: type[DeviceError], reason: str) -> _Abort:
        return _Abort(cls(self.device, OPERATION, reason))

    async def connect(self) -> None:
        check_target(self.device, OPERATION, self.host)
        try:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=MAX_HEAD_BYTES)
        except ConnectionRefusedError as e:
            raise self.fail(DeviceUnreachable, f"connection refused ({self.host}:{self.port})"
                            ) from e
        except OSError as e:
            raise self.fail(DeviceUnreachable, f"cannot connect to {self.host}:{self.port}: "
                            f"{e.strerror or e}") from e
        self.connected = True

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        self.reader = self.writer = None

    async def request(self, method: str, uri: str, headers: dict[str, str]) -> _Response:
        """Send with auth as needed: answer one 401 challenge (two if the nonce was stale)."""
        response = await self._exchange(method, uri, headers)
        for _ in range(2):
            if response.status != 401:
                return response
            challenge = pick_challenge(response.headers.get("www-authenticate", []))
            if challenge is None:
                raise self.fail(AuthFailed, "401 without a digest or basic challenge")
            if self.auth is not None and not challenge.stale:
                raise self.fail(AuthFailed, f"credentials refused for user "
                                f"{self.username!r} ({method})")
            if not self.username:
                raise self.fail(AuthFailed, "authentication required, no credentials given")
            self.auth = Authenticator(challenge, self.username, self.password)
            response = await self._exchange(method, uri, headers)
        if response.status == 401:
            raise self.fail(AuthFailed, f"credentials refused for user {self.username!r}")
        return response

    async def _exchange(self, method: str, uri: str, headers: dict[str, str]) -> _Response:
        if self.writer is None or self.writer.is_closing():
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if self.auth is not None:
            lines.append(f"Authorization: {self.auth.header(method, uri)}")
        try:
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
            await self.writer.drain()
            response = await self._read_response()
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            raise self.fail(DeviceUnreachable, f"connection closed by device during {method}"
                            ) from e
        except asyncio.LimitOverrunError as e:
            raise self.fail(DeviceRejected, "RTSP response head too large") from e
        cseq = response.first("cseq")
        if cseq is not None and cseq.strip() != str(self.cseq):
            raise self.fail(DeviceRejected, f"CSeq mismatch (sent {self.cseq}, got {cseq})")
        if (response.first("connection") or "").lower() == "close":
            await self.close()
        return response

    async def _read_response(self) -> _Response:
        assert self.reader is not None
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("utf-8", "replace")
        lines = head[:-4].split("\r\n")
        match = _STATUS_LINE.match(lines[0])
        if match is None:
            raise self.fail(DeviceRejected, f"not an RTSP response: {lines[0][:60]!r}")
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if not sep:
                raise self.fail(DeviceRejected, f"malformed RTSP header {line[:60]!r}")
            headers.setdefault(key.strip().lower(), []).append(value.strip())
        body = b""
        length_text = headers.get("content-length", ["0"])[0]
        if not length_text.isdigit() or int(length_text) > MAX_BODY_BYTES:
            raise self.fail(DeviceRejected, f"bad Content-Length {length_text[:20]!r}")
        if int(length_text):
            body = await self.reader.readexactly(int(length_text))
        return _Response(int(match.group(1)), match.group(2) or "", headers, body)


def _split_url(url: str, device: str | None) -> tuple[str, str, int, str]:
    """(device name, host, port, URL without user info)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "rtsp" or not parts.hostname:
        raise DeviceError(device or url, OPERATION, f"not an rtsp:// URL: {url!r}")
    try:
        port = parts.port or 554
    except ValueError as e:
        raise DeviceError(device or url, OPERATION, f"bad port in URL {url!r}") from e
    host = parts.hostname
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit(("rtsp", netloc, parts.path or "/", parts.query, ""))
    return device or f"{host}:{port}", host, port, clean


def _resolve(base: str, control: str | None) -> str:
    # RTSP practice (live555, ffmpeg): absolute controls stand alone, "*" is the base,
    # anything else is appended to the base with exactly one slash.
    if not control or control == "*":
        return base
    if control.lower().startswith("rtsp://"):
        return control
    return base.rstrip("/") + "/" + control.lstrip("/")


async def describe(url: str, username: str, password: str, timeout: float, *,
                   device: str | None = None, options: bool = True) -> RtspDescribeResult:
    """OPTIONS (unless ``options`` is False: no ``public_methods`` then, one round trip less,
    as the nightly sweep wants it) + DESCRIBE ``url``; raises DeviceUnreachable (refused/reset/connect timeout),
    DeviceTimeout (connected, no answer in time), AuthFailed, DeviceRejected (404, other
    non-2xx, not RTSP, bad SDP). ``timeout`` bounds the whole probe."""
    name, host, port, clean_url = _split_url(url, device)
    session = _Session(name, host, port, username, password)
    start = time.perf_counter()
    connect_s = 0.0
    try:
        async with asyncio.timeout(timeout):
            await session.connect()
            connect_s = time.perf_counter() - start
            public: tuple[str, ...] = ()
            if options:
                answer = await session.request("OPTIONS", clean_url, {})
                public = tuple(m.strip() for m in (answer.first("public") or "").split(",")
                               if m.strip()) if answer.status == 200 else ()
            answer = await session.request("DESCRIBE", clean_url, {"Accept": "application/sdp"})
            latency = time.perf_counter() - start
    except _Abort as abort:
        raise abort.error from abort.__cause__
    except TimeoutError as e:
        if session.connected:
            raise DeviceTimeout(name, OPERATION, f"no RTSP answer within {timeout:g} s") from e
        raise DeviceUnreachable(name, OPERATION, f"connect timed out after {timeout:g} s"
                                ) from e
    finally:
        await session.close()
    if answer.status == 404:
        raise DeviceRejected(name, OPERATION, f"404 {answer.reason or 'Not Found'}: "
                             f"no stream at {urlsplit(clean_url).path}")
    if not 200 <= answer.status < 300:
        raise DeviceRejected(name, OPERATION, f"{answer.status} {answer.reason}".strip())
    try:
        sdp_text = answer.body.decode("utf-8")
        sdp = parse_sdp(sdp_text)
    except (UnicodeDecodeError, SdpError) as e:
        raise DeviceRejected(name, OPERATION, f"unusable SDP: {e}") from e
    base = answer.first("content-base") or answer.first("content-location") or clean_url
    session_base = _resolve(base, sdp.control)
    return RtspDescribeResult(
        url=clean_url, status=answer.status, latency_s=latency, connect_s=connect_s,
        server=answer.first("server"), public_methods=public,
        auth_scheme=session.auth.challenge.scheme if session.auth else None,
        content_base=base, session_name=sdp.name,
        media=tuple(_stream(m, session_base) for m in sdp.media), sdp=sdp_text)


def _stream(media: SdpMedia, base: str) -> RtspStream:
    return RtspStream(kind=media.kind, codec=media.codec, payload_type=media.payload_type,
                      clock_rate=media.clock_rate, control_url=_resolve(base, media.control),
                      width=media.width, height=media.height, fps=media.fps)
