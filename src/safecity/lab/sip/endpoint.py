"""A UDP SIP endpoint for the lab: server transactions (with retransmission absorption) and
client transactions (with RFC 3261 Timer E style retransmission) on one socket."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import cast

from safecity.lab.sip.message import (
    SipMessage,
    SipRequest,
    SipResponse,
    SipSyntaxError,
    encode_message,
    make_response,
    parse_message,
)

log = logging.getLogger(__name__)

Addr = tuple[str, int]
RequestHandler = Callable[[SipRequest, Addr], Awaitable[SipResponse | None]]

T1 = 0.5
T2 = 4.0
# Final responses are kept this long so a retransmitted request gets the same answer (Timer J).
_ANSWER_CACHE_SECONDS = 32.0
_ANSWER_CACHE_MAX = 4096


class SipEndpoint(asyncio.DatagramProtocol):
    """One bound UDP socket. ``handler`` answers requests; ``request()`` sends them."""

    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[tuple[str, str], asyncio.Future[SipResponse]] = {}
        self._answers: OrderedDict[tuple[str, str, str], tuple[float, bytes | None]] = (
            OrderedDict())
        self._tasks: set[asyncio.Task[None]] = set()
        self.muted = False  # fault injection: drop everything in and out
        self._closed = asyncio.Event()
        self.local_addr: Addr = ("", 0)

    @classmethod
    async def bind(cls, host: str, port: int, handler: RequestHandler,
                   receive_buffer: int | None = None) -> SipEndpoint:
        """``receive_buffer``: SO_RCVBUF bytes, for a server many devices talk to at once (the
        kernel caps it at net.core.rmem_max; a registrar behind the default 208 KB drops a
        registration storm and every device waits out its 60 s retry)."""
        loop = asyncio.get_running_loop()
        endpoint = cls(handler)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if receive_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        await loop.create_datagram_endpoint(lambda: endpoint, sock=sock)
        return endpoint

    # asyncio.DatagramProtocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector transport is not a DatagramTransport subclass, only duck-typed as one.
        self._transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("sockname")
        self.local_addr = (str(sock[0]), int(sock[1]))

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.muted:
            return
        source: Addr = (str(addr[0]), int(addr[1]))
        try:
            message = parse_message(data)
        except SipSyntaxError as e:
            self._answer_bad_request(data, source, str(e))
            return
        if isinstance(message, SipResponse):
            self._on_response(message)
        else:
            self._on_request(message, source)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc.: the client transaction simply times out.
        log.debug("sip endpoint %s: %s", self.local_addr, exc)

    # server side ---------------------------------------------------------------------------
    def _on_request(self, request: SipRequest, source: Addr) -> None:
        key = (request.branch, request.cseq[1], request.call_id)
        cached = self._answers.get(key)
        if cached is not None:
            if cached[1] is not None:  # retransmission: answer again, do not re-process
                self._send_raw(cached[1], source)
            return
        self._answers[key] = (time.monotonic(), None)
        self._expire_answers()
        task = asyncio.get_running_loop().create_task(self._serve(request, source, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: SipRequest, source: Addr,
                     key: tuple[str, str, str]) -> None:
        try:
            response = await self._handler(request, source)
        except Exception:  # a handler bug must not take the endpoint down
            log.exception("sip handler failed for %s", request.method)
            response = make_response(request, 500)
        if response is None:
            self._answers.pop(key, None)
            return
        raw = encode_message(response)
        self._answers[key] = (time.monotonic(), raw)
        self._send_raw(raw, source)

    def _expire_answers(self) -> None:
        now = time.monotonic()
        while self._answers:
            when = next(iter(self._answers.values()))[0]
            if now - when < _ANSWER_CACHE_SECONDS and len(self._answers) <= _ANSWER_CACHE_MAX:
                break
            self._answers.popitem(last=False)

    def _answer_bad_request(self, data: bytes, source: Addr, why: str) -> None:
        """400 when the datagram is request-shaped enough to answer; otherwise drop it."""
        log.debug("malformed datagram from %s: %s", source, why)
        if len(data) > 65535 or not data[:1].isalpha() or data.startswith(b"SIP/"):
            return
        # Re-parse leniently: only the headers needed to route a 400 back.
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
        first = head[0].split(" ")
        if len(first) != 3 or first[2] != "SIP/2.0":
            return
        needed = {"via": "", "from": "", "to": "", "call-id": "", "cseq": ""}
        lines: list[str] = []
        for line in head[1:]:
            name, _, value = line.partition(":")
            low = name.strip().lower()
            if low in needed and not needed[low]:
                needed[low] = value.strip()
                lines.append(f"{name.strip()}: {value.strip()}")
        if not all(needed.values()):
            return
        reply = "\r\n".join(["SIP/2.0 400 Bad Request", *lines, "Content-Length: 0"])
        self._send_raw((reply + "\r\n\r\n").encode("utf-8"), source)

    # client side ---------------------------------------------------------------------------
    def _on_response(self, response: SipResponse) -> None:
        if response.status < 200:
            return
        try:
            key = (response.branch, response.cseq[1])
        except SipSyntaxError:
            return
        future = self._pending.get(key)
        if future is not None and not future.done():
            future.set_result(response)

    async def request(self, request: SipRequest, dest: Addr, timeout: float) -> SipResponse:
        """Send a non-INVITE request, retransmitting until a final response or ``timeout``
        (raises TimeoutError)."""
        key = (request.branch, request.cseq[1])
        future: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        raw = encode_message(request)
        deadline = time.monotonic() + timeout
        interval = T1
        try:
            while True:
                if not self.muted:
                    self._send_raw(raw, dest)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {request.method} from {dest[0]}:{dest[1]}")
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
                # arrives just as the answer does, so a stopping user agent would keep running.
                try:
                    async with asyncio.timeout(min(interval, left)):
                        return await asyncio.shield(future)
                except TimeoutError:
                    interval = min(interval * 2, T2)
        finally:
            self._pending.pop(key, None)
            if not future.done():
                future.cancel()

    def send(self, message: SipMessage, dest: Addr) -> None:
        self._send_raw(encode_message(message), dest)

    def _send_raw(self, raw: bytes, dest: Addr) -> None:
        if self._transport is not None and not self.muted:
            self._transport.sendto(raw, dest)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            # The socket is released only in connection_lost (next loop turn); wait for it so
            # a caller can bind the same address again right away.
            await self._closed.wait()
