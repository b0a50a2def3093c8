"""Fixtures of the lab SIP tests: IDs, unique loopback addresses in 127.32.0.0/16,
device configs, polling, and a bounded SIPp runner (third-party peer, Debian sip-tester)."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from safecity.lab.sip import GbAccessConfig, LabGbDevice, LabRegistrar, RegistrarSpec

SERVER_ID = "34020000002000000001"
DOMAIN = "3402000000"
DEVICE_ID = "34020000001320000001"
PASSWORD = "s3cret-Pass"
SCENARIOS = Path(__file__).parent / "scenarios"

# Third octet 1..120 for the lab tests (driver tests use 128..247); derived from the pid so
# two concurrent runs of this suite do not collide.
_OCTET = os.getpid() % 120 + 1
_hosts = itertools.count(1)


def next_host() -> str:
    n = next(_hosts)
    return f"127.32.{_OCTET}.{n % 250 + 1}"


def channels(count: int) -> list[tuple[str, str]]:
    return [(f"340200000013100{i:05d}", f"通道 {i} channel") for i in range(1, count + 1)]


def device_config(server_host: str, local_host: str, **overrides: Any) -> GbAccessConfig:
    values: dict[str, Any] = dict(  # noqa: C408 - keyword form reads like the config
        enabled=True, server_id=SERVER_ID, server_domain=DOMAIN, server_host=server_host,
        server_port=5060, device_id=DEVICE_ID, password=PASSWORD, local_host=local_host,
        local_port=5060, expires=3600, heartbeat_interval=0.2, heartbeat_count=3,
        channels=channels(3), civil_code="340200", retry_interval=0.3, response_timeout=0.6)
    values.update(overrides)
    return GbAccessConfig(**values)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``check()`` holds (state observed over real sockets takes a moment)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@dataclass
class SippRun:
    returncode: int
    output: str


def udp_port_bound(host: str, port: int) -> bool:
    """True if someone holds host:port (probe by trying to bind it; sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


class Sipp:
    """Runs the `sipp` binary (Debian sip-tester) with bounded count and time."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._procs: list[asyncio.subprocess.Process] = []

    async def start(self, scenario: str, *args: str) -> asyncio.subprocess.Process:
        binary = shutil.which("sipp")
        if binary is None:
            pytest.skip("sipp (apt package sip-tester) is not installed")
        proc = await asyncio.create_subprocess_exec(
            binary, "-sf", str(SCENARIOS / scenario), "-m", "1", "-nostdin",
            "-timeout", "15s", "-timeout_error", "-trace_err", "-trace_logs", *args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=self.workdir)
        self._procs.append(proc)
        return proc

    async def wait(self, proc: asyncio.subprocess.Process, timeout: float = 20.0) -> SippRun:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        logs = "".join(p.read_text(errors="replace") for p in self.workdir.glob("*.log"))
        return SippRun(proc.returncode or 0, out.decode(errors="replace")[-3000:] + logs[-3000:])

    async def stop_all(self) -> None:
        for proc in self._procs:
            if proc.returncode is None:
                proc.kill()  # only the sipp we started, by its own handle
                await proc.wait()




@pytest.fixture
def hosts() -> Iterator[Callable[[], str]]:
    yield next_host


@pytest.fixture
async def make_registrar() -> AsyncIterator[Callable[..., Any]]:
    started: list[LabRegistrar] = []

    async def make(host: str, **overrides: Any) -> LabRegistrar:
        values: dict[str, Any] = dict(  # noqa: C408
            name="lab-platform", server_id=SERVER_ID, domain=DOMAIN,
                                      host=host, port=5060, subscribers={DEVICE_ID: PASSWORD})
        values.update(overrides)
        registrar = await LabRegistrar.start(RegistrarSpec(**values))
        started.append(registrar)
        return registrar

    yield make
    for registrar in started:
        await registrar.close()


@pytest.fixture
async def make_device() -> AsyncIterator[Callable[..., Any]]:
    started: list[LabGbDevice] = []

    async def make(config: GbAccessConfig, start: bool = True,
                   clock_offset: float = 0.0) -> LabGbDevice:
        device = LabGbDevice(config, clock_offset=lambda: clock_offset)
        started.append(device)
        if start:
            await device.start()
        return device

    yield make
    for device in started:
        await device.stop()


@pytest.fixture
async def sipp(tmp_path: Path) -> AsyncIterator[Sipp]:
    runner = Sipp(tmp_path)
    yield runner
    await runner.stop_all()



class RawUdp(asyncio.DatagramProtocol):
    """A bare UDP socket for hand-written (and deliberately broken) datagrams."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait(data)

    def send(self, data: bytes, dest: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, dest)

    async def receive(self, timeout: float = 3.0) -> bytes:
        return await asyncio.wait_for(self.received.get(), timeout)


@pytest.fixture
async def raw_udp(hosts: Callable[[], str]) -> AsyncIterator[tuple[RawUdp, str]]:
    host = hosts()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(RawUdp, local_addr=(host, 5060))
    yield protocol, host
    transport.close()


class Testbed:
    """What tests need besides sockets: IDs, configs, polling (fixtures cannot be imported)."""

    SERVER_ID = SERVER_ID
    DOMAIN = DOMAIN
    DEVICE_ID = DEVICE_ID
    PASSWORD = PASSWORD
    channels = staticmethod(channels)
    device_config = staticmethod(device_config)
    eventually = staticmethod(eventually)
    udp_port_bound = staticmethod(udp_port_bound)


@pytest.fixture
def gb() -> Testbed:
    return Testbed()
