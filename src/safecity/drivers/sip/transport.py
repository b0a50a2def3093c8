"""A small UDP SIP user agent for the driver: one loopback socket, client transactions with
retransmission, and stateless 200 OK for the MESSAGEs a device sends back to us."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Self

from safecity.drivers.sip.wire import Packet, WireError, read_packet, write_reply
from safecity.netguard import check_target

_T1, _T2 = 0.5, 4.0


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, agent: UdpUserAgent) -> None:
        self._agent = agent

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._agent._receive(data, (str(addr[0]), int(addr[1])))

    def connection_lost(self, exc: Exception | None) -> None:
        self._agent._closed.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable on loopback: remember it, the transaction reports it.
        self._agent.last_error = exc


class UdpUserAgent:
    """``async with UdpUserAgent("127.0.0.1") as ua: reply = await ua.transact(...)``."""

    def __init__(self, local_host: str) -> None:
        self._local_host = local_host
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[tuple[str, str], asyncio.Future[Packet]] = {}
        self._seen_requests: set[tuple[str, str]] = set()
        self.messages: asyncio.Queue[Packet] = asyncio.Queue(maxsize=1024)
        self.last_error: Exception | None = None
        self._closed = asyncio.Event()
        self.port = 0

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self._local_host, 0))
        self._transport = transport
        self.port = int(self._transport.get_extra_info("sockname")[1])
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        for future in self._waiting.values():
            future.cancel()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            await self._closed.wait()  # the socket is really released only then

    @property
    def via_host(self) -> str:
        return f"{self._local_host}:{self.port}"

    def _receive(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            packet = read_packet(data)
        except WireError:
            return  # not ours to fix; a verification client ignores garbage
        if packet.status is not None:
            if packet.status < 200:
                return
            future = self._waiting.get((packet.top_branch, packet.cseq_method))
            if future is not None and not future.done():
                future.set_result(packet)
            return
        if self._transport is None:
            return
        if packet.method == "MESSAGE":
            self._transport.sendto(write_reply(packet, 200, "OK"), source)
            key = (packet.top_branch, packet.first("call-id") or "")
            if key not in self._seen_requests and not self.messages.full():
                self._seen_requests.add(key)  # retransmissions are answered, not re-queued
                self.messages.put_nowait(packet)
        elif packet.method != "ACK":
            self._transport.sendto(write_reply(packet, 501, "Not Implemented"), source)

    async def transact(self, request: bytes, branch: str, method: str,
                       dest: tuple[str, int], timeout: float) -> Packet:
        """Send a non-INVITE request and return its final response (TimeoutError if none)."""
        assert self._transport is not None, "use 'async with'"
        check_target(str(dest[0]), method, str(dest[0]))
        future: asyncio.Future[Packet] = asyncio.get_running_loop().create_future()
        self._waiting[(branch, method)] = future
        deadline = time.monotonic() + timeout
        pause = _T1
        try:
            while True:
                self._transport.sendto(request, dest)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no answer to {method}")
                done, _ = await asyncio.wait({future}, timeout=min(pause, remaining))
                if done:
                    return future.result()
                pause = min(2 * pause, _T2)
        finally:
            self._waiting.pop((branch, method), None)
            if not future.done():
                future.cancel()
