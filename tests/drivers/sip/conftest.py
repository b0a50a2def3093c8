"""Fixtures for the SIP driver tests. Peers are the lab simulators and SIPp, over real
loopback sockets in 127.32.0.0/16 (third octet 128..247 here; the lab tests use 1..120)."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from safecity.lab.sip import GbAccessConfig, LabGbDevice, LabRegistrar, RegistrarSpec

SERVER_ID = "34020000002000000001"
DOMAIN = "3402000000"
DEVICE_ID = "34020000001320000009"
PASSWORD = "driver-Pass-1"
SIPP_SCENARIOS = Path(__file__).parents[2] / "lab" / "sip" / "scenarios"

_OCTET = os.getpid() % 120 + 128
_hosts = itertools.count(1)


def _next_host() -> str:
    return f"127.32.{_OCTET}.{next(_hosts) % 250 + 1}"


def _channels(count: int) -> list[tuple[str, str]]:
    return [(f"340200000013200{i:05d}", f"卡口 {i} gate") for i in range(1, count + 1)]


async def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def _udp_port_bound(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


class Peers:
    """Starts lab peers and SIPp for one test; ``close()`` stops all of them."""

    SERVER_ID = SERVER_ID
    DOMAIN = DOMAIN
    DEVICE_ID = DEVICE_ID
    PASSWORD = PASSWORD
    channels = staticmethod(_channels)
    eventually = staticmethod(_eventually)

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._registrars: list[LabRegistrar] = []
        self._devices: list[LabGbDevice] = []
        self._procs: list[asyncio.subprocess.Process] = []

    host = staticmethod(_next_host)

    async def registrar(self, host: str, **overrides: Any) -> LabRegistrar:
        values: dict[str, Any] = {
            "name": "lab-platform", "server_id": SERVER_ID, "domain": DOMAIN, "host": host,
            "port": 5060, "subscribers": {DEVICE_ID: PASSWORD}}
        values.update(overrides)
        registrar = await LabRegistrar.start(RegistrarSpec(**values))
        self._registrars.append(registrar)
        return registrar

    async def device(self, server_host: str, **overrides: Any) -> LabGbDevice:
        values: dict[str, Any] = {
            "enabled": True, "server_id": SERVER_ID, "server_domain": DOMAIN,
            "server_host": server_host, "server_port": 5060, "device_id": DEVICE_ID,
            "password": PASSWORD, "local_host": _next_host(), "heartbeat_interval": 0.2,
            "channels": _channels(3), "civil_code": "340200", "retry_interval": 0.3,
            "response_timeout": 0.6}
        values.update(overrides)
        device = LabGbDevice(GbAccessConfig(**values))
        self._devices.append(device)
        await device.start()
        return device

    async def sipp_registrar(self, host: str) -> asyncio.subprocess.Process:
        """SIPp playing a registrar that verifies the digest itself (registrar_uas.xml)."""
        binary = shutil.which("sipp")
        if binary is None:
            pytest.skip("sipp (apt package sip-tester) is not installed")
        proc = await asyncio.create_subprocess_exec(
            binary, "-sf", str(SIPP_SCENARIOS / "registrar_uas.xml"), "-m", "1", "-nostdin",
            "-timeout", "15s", "-timeout_error", "-i", host, "-p", "5060",
            "-key", "domain", DOMAIN, "-key", "device_id", DEVICE_ID, "-key", "password",
            PASSWORD, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, cwd=self._workdir)
        self._procs.append(proc)
        await _eventually(lambda: _udp_port_bound(host, 5060))
        return proc

    async def close(self) -> None:
        for device in self._devices:
            await device.stop()
        for registrar in self._registrars:
            await registrar.close()
        for proc in self._procs:
            if proc.returncode is None:
                proc.kill()  # only the sipp this fixture started
            await proc.wait()


@pytest.fixture
async def peers(tmp_path: Path) -> AsyncIterator[Peers]:
    started = Peers(tmp_path)
    yield started
    await started.close()
