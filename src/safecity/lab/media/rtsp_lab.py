"""The lab's RTSP responder: one listener per simulated camera, answering the control half of
RTSP 1.0 (RFC 2326) the way IP cameras do — OPTIONS, DESCRIBE with digest/basic auth and an
SDP that reflects the encoder settings, SETUP/PLAY/TEARDOWN/GET_PARAMETER answered minimally
(no RTP is sent). Provisioning changes passwords and encoder settings at runtime
(``update_endpoint``); tests break cameras with ``set_fault``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from safecity.errors import LabError
from safecity.lab.addressing import require_loopback
from safecity.lab.media import rtsp_auth_check as auth
from safecity.lab.media.rtsp_endpoint import RtspEndpointSpec, RtspFault, StreamSpec
from safecity.lab.media.sdp_builder import build_sdp

MAX_HEAD_BYTES = 8192  # a request head longer than this closes the connection
MAX_BODY_BYTES = 65536
IDLE_TIMEOUT_S = 60.0
DEFAULT_SLOW_DELAY_S = 2.0

_REQUEST_LINE = re.compile(r"^([A-Z][A-Z_]*) (\S+) RTSP/(\d+\.\d+)$")
_TRACK_SUFFIX = re.compile(r"/trackID=\d+$")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            454: "Session Not Found", 461: "Unsupported Transport",
            501: "Not Implemented", 505: "RTSP Version Not Supported"}
_PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def path(self) -> str:
        # The query is part of the stream's identity (Dahua: /cam/realmonitor?channel=1&subtype=0).
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass
class _Endpoint:
    spec: RtspEndpointSpec
    port: int = 0  # actually bound (differs from spec.port when that is 0)
    server: asyncio.base_events.Server | None = None
    fault: RtspFault | None = None
    delay: float = 0.0
    connections: set[asyncio.StreamWriter] = field(default_factory=set)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)


class _BadRequest(Exception):
    def __init__(self, cseq: str | None, status: int = 400) -> None:
        super().__init__(status)
        self.cseq, self.status = cseq, status


class RtspLab:
    """Simulated RTSP services. Use ``async with await RtspLab.start([...]) as lab`` or call
    ``close()``."""

    def __init__(self) -> None:
        self._endpoints: dict[str, _Endpoint] = {}

    @classmethod
    async def start(cls, endpoints: Sequence[RtspEndpointSpec]) -> RtspLab:
        lab = cls()
        try:
            for spec in endpoints:
                await lab.add_endpoint(spec)
        except BaseException:
            await lab.close()
            raise
        return lab

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # -- endpoints ---------------------------------------------------------------------------

    async def add_endpoint(self, spec: RtspEndpointSpec) -> None:
        if spec.name in self._endpoints:
            raise LabError(f"{spec.name}: RTSP endpoint already exists")
        require_loopback(spec.host, spec.name)
        endpoint = _Endpoint(spec=spec, port=spec.port)
        await self._listen(endpoint)
        self._endpoints[spec.name] = endpoint

    async def remove_endpoint(self, name: str) -> None:
        await self._stop_listening(self._get(name))
        del self._endpoints[name]

    def spec(self, name: str) -> RtspEndpointSpec:
        return self._get(name).spec

    def port_of(self, name: str) -> int:
        return self._get(name).port

    def url(self, name: str, stream: int | str = 0) -> str:
        """rtsp:// URL of a stream (by index or path); never carries credentials."""
        endpoint = self._get(name)
        path = endpoint.spec.streams[stream].path if isinstance(stream, int) else stream
        return f"rtsp://{_host_for_url(endpoint.spec.host)}:{endpoint.port}{path}"

    def update_endpoint(self, name: str, *, username: str | None = None,
                        password: str | None = None, realm: str | None = None,
                        streams: Sequence[StreamSpec] | None = None,
                        require_auth: bool | None = None, auth_scheme: str | None = None,
                        digest_qop: bool | None = None) -> RtspEndpointSpec:
        """Change credentials or encoder settings of a running endpoint (takes effect on the
        next request, as on a camera). Address changes go through ``move_endpoint``."""
        endpoint = self._get(name)
        changes: dict[str, object] = {
            k: v for k, v in (("username", username), ("password", password), ("realm", realm),
                              ("require_auth", require_auth), ("auth_scheme", auth_scheme),
                              ("digest_qop", digest_qop)) if v is not None}
        if streams is not None:
            changes["streams"] = tuple(streams)
        endpoint.spec = replace(endpoint.spec, **changes)  # type: ignore[arg-type]
        return endpoint.spec

    async def move_endpoint(self, name: str, host: str, port: int | None = None) -> None:
        """Re-bind on a new address (the camera got a new IP through provisioning)."""
        endpoint = self._get(name)
        require_loopback(host, name)
        await self._stop_listening(endpoint)
        endpoint.spec = replace(endpoint.spec, host=host,
                                port=endpoint.spec.port if port is None else port)
        endpoint.port = endpoint.spec.port
        if endpoint.fault != "offline":
            await self._listen(endpoint)

    async def set_fault(self, name: str, fault: RtspFault | None,
                        delay: float = DEFAULT_SLOW_DELAY_S) -> None:
        """"offline": stop listening and drop connections (clients get refused);
        "slow": delay every response by ``delay`` seconds; None: healthy again."""
        endpoint = self._get(name)
        if fault not in (None, "offline", "slow"):
            raise LabError(f"{name}: unknown RTSP fault {fault!r}")
        was_offline = endpoint.fault == "offline"
        endpoint.fault = fault
        endpoint.delay = delay if fault == "slow" else 0.0
        if fault == "offline" and not was_offline:
            await self._stop_listening(endpoint)
        elif fault != "offline" and was_offline:
            await self._listen(endpoint)

    async def close(self) -> None:
        for endpoint in list(self._endpoints.values()):
            await self._stop_listening(endpoint)
        self._endpoints.clear()

    def _get(self, name: str) -> _Endpoint:
        try:
            return self._endpoints[name]
        except KeyError:
            raise LabError(f"{name}: no such RTSP endpoint in the lab") from None

    async def _listen(self, endpoint: _Endpoint) -> None:
        spec = endpoint.spec
        name = spec.name

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            endpoint.handlers.add(task)
            try:
                await self._serve_connection(name, reader, writer)
            except asyncio.CancelledError:
                # Only the lab cancels handlers (offline/close). Ending quietly keeps asyncio's
                # stream callback from logging the cancellation as an error.
                writer.close()
            finally:
                endpoint.handlers.discard(task)

        try:
            endpoint.server = await asyncio.start_server(
                on_connect, spec.host, endpoint.port, limit=MAX_HEAD_BYTES, reuse_address=True)
        except OSError as e:
            raise LabError(f"{name}: cannot listen on {spec.host}:{endpoint.port}: {e}") from e
        endpoint.port = endpoint.server.sockets[0].getsockname()[1]

    async def _stop_listening(self, endpoint: _Endpoint) -> None:
        server, endpoint.server = endpoint.server, None
        if server is not None:
            server.close()
        for writer in list(endpoint.connections):
            writer.close()
        endpoint.connections.clear()
        endpoint.sessions.clear()
        handlers = [t for t in endpoint.handlers if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.wait(handlers, timeout=5.0)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5.0)

    # -- protocol ----------------------------------------------------------------------------

    async def _serve_connection(self, name: str, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            writer.close()
            return
        endpoint.connections.add(writer)
        try:
            while True:
                try:
                    request = await asyncio.wait_for(_read_request(reader), IDLE_TIMEOUT_S)
                except _BadRequest as bad:
                    writer.write(_response(bad.status, bad.cseq, endpoint.spec,
                                           {"Connection": "close"}))
                    await writer.drain()
                    return
                if request is None:  # EOF, idle, or oversized: just close, as cameras do
                    return
                if endpoint.delay:
                    await asyncio.sleep(endpoint.delay)
                writer.write(self._answer(endpoint, request))
                await writer.drain()
        except (ConnectionError, TimeoutError):
            return
        finally:
            endpoint.connections.discard(writer)
            writer.close()

    def _answer(self, endpoint: _Endpoint, request: _Request) -> bytes:
        spec = endpoint.spec
        cseq = request.headers.get("cseq")
        method = request.method
        if method == "OPTIONS":
            return _response(200, cseq, spec, {"Public": _PUBLIC})
        if method not in ("DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER",
                          "SET_PARAMETER"):
            return _response(501, cseq, spec, {"Public": _PUBLIC})
        if not request.url.lower().startswith("rtsp://"):
            return _response(400, cseq, spec)
        if spec.require_auth:
            verdict = auth.verify(request.headers.get("authorization"), method=method,
                                  request_path=request.path, scheme=spec.auth_scheme,
                                  realm=spec.realm, username=spec.username,
                                  password=spec.password, qop=spec.digest_qop)
            if verdict != "ok":
                header = auth.challenge(spec.auth_scheme, spec.realm, spec.digest_qop,
                                        stale=verdict == "stale")
                return _response(401, cseq, spec, {"WWW-Authenticate": header})
        stream_path = _TRACK_SUFFIX.sub("", request.path)
        stream = spec.stream(stream_path)
        if method == "DESCRIBE":
            if stream is None:
                return _response(404, cseq, spec)
            sdp = build_sdp(stream, spec.host, zlib.crc32(spec.name.encode()), spec.name,
                            dimension_attrs=spec.sdp_dimension_attrs).encode()
            base = request.url.split("?")[0].rstrip("/") + "/"
            return _response(200, cseq, spec, {"Content-Base": base,
                                               "Content-Type": "application/sdp"}, sdp)
        if method == "SETUP":
            if stream is None:
                return _response(404, cseq, spec)
            transport = request.headers.get("transport")
            if not transport or "RTP/AVP" not in transport:
                return _response(461, cseq, spec)
            session = request.headers.get("session", "").split(";")[0] or secrets.token_hex(8)
            endpoint.sessions.add(session)
            if "interleaved" not in transport and "client_port" in transport:
                transport += ";server_port=50000-50001"
            return _response(200, cseq, spec, {"Transport": transport,
                                               "Session": f"{session};timeout=60"})
        session = request.headers.get("session", "").split(";")[0]
        if method in ("PLAY", "PAUSE", "TEARDOWN") and session not in endpoint.sessions:
            return _response(454, cseq, spec)
        if method == "TEARDOWN":
            endpoint.sessions.discard(session)
            return _response(200, cseq, spec, {"Session": session})
        extra = {"Session": session} if session else {}
        if method == "PLAY":
            extra["Range"] = "npt=0.000-"
        return _response(200, cseq, spec, extra)


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadRequest(None) from None
    lines = text[:-4].split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key != key.strip():
            raise _BadRequest(headers.get("cseq"))
        headers[key.strip().lower()] = value.strip()
    cseq = headers.get("cseq")
    match = _REQUEST_LINE.match(lines[0])
    if match is None:
        raise _BadRequest(cseq)
    method, url, version = match.groups()
    if version != "1.0":
        raise _BadRequest(cseq, 505)
    if cseq is None or not cseq.isdigit():
        raise _BadRequest(cseq)
    body = b""
    if "content-length" in headers:
        length_text = headers["content-length"]
        if not length_text.isdigit():
            raise _BadRequest(cseq)
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            return None
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return None
    return _Request(method, url, headers, body)


def _response(status: int, cseq: str | None, spec: RtspEndpointSpec,
              headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"RTSP/1.0 {status} {_REASONS.get(status, 'Error')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append(f"Server: {spec.server}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
