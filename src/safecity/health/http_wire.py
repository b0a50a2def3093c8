"""A lean HTTP/1.1 client over raw asyncio streams, for the nightly sweep only.

DOMAIN.md §7: a request over raw streams costs ~100 µs of client CPU against ~300 µs for aiohttp;
at 100,000 devices × 5 requests that is the difference between one and several CPU-minutes.
One keep-alive connection per device carries every request of the sweep (SOAP, snapshot), and
reconnects transparently if the device closes it. Supports Content-Length and chunked bodies,
and HTTP digest (MD5, qop=auth) as ONVIF devices use it for snapshots. The connection keeps the
last challenge its server sent, so a further resource answers it up front (same nonce, the next
``nc``) instead of paying a 401 round trip of its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
from dataclasses import dataclass

from safecity.netguard import check_target

MAX_BODY = 8 << 20
_DIGEST_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


class HttpError(Exception):
    """Connection refused/reset/closed or a malformed answer (the sweep maps it to a fault)."""


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]       # lower-case names; repeated headers keep the last value
    body: bytes


class HttpConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.challenge = ""       # the last WWW-Authenticate this server sent ("" before any)
        self._nc = 0

    async def connect(self) -> None:
        check_target(self.host, "connect", self.host)
        try:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except OSError as e:
            raise HttpError(f"connect {self.host}:{self.port}: {e.strerror or e}") from e

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> HttpResponse:
        """One request; a stale keep-alive connection is reopened once."""
        for attempt in (0, 1):
            if self._writer is None:
                await self.connect()
            try:
                return await self._exchange(method, path, body, headers or {})
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                self.close()
                if attempt:
                    raise HttpError(f"{method} {path}: connection lost: {e}") from e
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> HttpResponse:
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise HttpError(f"{method} {path}: bad status line {status_line[:60]!r}")
        hdrs: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        else:
            length = int(hdrs.get("content-length", "0") or 0)
            if length > MAX_BODY:
                raise HttpError(f"{method} {path}: body of {length} bytes refused")
            data = await self._reader.readexactly(length) if length else b""
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        if parts[1] == "401":
            self.challenge, self._nc = hdrs.get("www-authenticate") or "Basic", 0
        return HttpResponse(int(parts[1]), hdrs, data)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        out = bytearray()
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return bytes(out)
            out += await self._reader.readexactly(size)
            await self._reader.readexactly(2)
            if len(out) > MAX_BODY:
                raise HttpError("chunked body too large")

    def authorization(self, method: str, uri: str, username: str, password: str) -> str | None:
        """The ``Authorization`` answering this server's last challenge for ``method uri`` (digest:
        same realm and nonce, ``nc`` counting up; otherwise basic), or None before any challenge."""
        challenge = self.challenge
        if not challenge:
            return None
        if challenge[:6].lower() == "digest":
            self._nc += 1
            return digest_authorization(challenge, method, uri, username, password, self._nc)
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def digest_authorization(challenge: str, method: str, uri: str, username: str, password: str,
                         nc: int = 1) -> str:
    """The ``Authorization`` value answering an RFC 7616 MD5 digest ``WWW-Authenticate``; ``nc``
    counts the requests made with the same nonce."""
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _DIGEST_PARAM.finditer(challenge.partition(" ")[2])}
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1 = hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
              "algorithm=MD5"]
    if "auth" in params.get("qop", "").split(","):
        cnonce, count = os.urandom(8).hex(), f"{nc:08x}"
        response = hashlib.md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        fields += ["qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)
