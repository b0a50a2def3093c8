"""``OnvifLab``: starts, re-addresses, reboots and faults many simulated ONVIF devices.

Per device the lab holds one listening TCP socket (HTTP: ONVIF, ISAPI, snapshots), one UDP
socket (WS-Discovery), plus whatever its GB/T 28181 agent opens, and one connection per open
client connection. All devices share one aiohttp application and runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from safecity.errors import LabError
from safecity.lab.addressing import require_loopback
from safecity.lab.onvif.device import ACTIONS, After, SimDevice
from safecity.lab.onvif.device_service import scope_items
from safecity.lab.onvif.discovery import (
    DISCOVERY_PORT,
    DiscoveryResponder,
    ProbeAnswer,
    endpoint_uuid,
)
from safecity.lab.onvif.gb_bridge import GbAgents
from safecity.lab.onvif.http_front import build_app
from safecity.lab.onvif.spec import OnvifDeviceSpec
from safecity.lab.onvif.state import load_state
from safecity.lab.uptime import boot_time_for_uptime

log = logging.getLogger(__name__)

AddressMap = Callable[[str], str]
_START_BATCH = 256  # devices brought up concurrently at start


def loopback_identity(address: str) -> str:
    """Default address map: a 127.x deployment address is its own lab address."""
    if ipaddress.IPv4Address(address).is_loopback:
        return address
    raise LabError(f"no lab address for {address}: pass address_map to OnvifLab.start")


class OnvifLab:
    def __init__(self, state_dir: Path, address_map: AddressMap) -> None:
        self.state_dir = state_dir
        self.address_map = address_map
        self.devices: dict[str, SimDevice] = {}
        self._by_addr: dict[tuple[str, int], SimDevice] = {}
        self._sites: dict[str, web.TCPSite] = {}
        self._udp: dict[str, asyncio.DatagramTransport] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._runner: web.AppRunner | None = None
        self._gb = GbAgents(address_map)
        self._register_spread_s = 0.0

    # ---- lifecycle ----------------------------------------------------------------------------
    @classmethod
    async def start(cls, specs: Sequence[OnvifDeviceSpec], state_dir: Path,
                    address_map: AddressMap | None = None,
                    register_spread_s: float = 0.0) -> OnvifLab:
        """``register_spread_s``: devices powered on together do not all register in the same
        second; each device's first GB/T 28181 registration starts at a random moment within
        this window (a big lab would otherwise flood its registrars and wait out the 60 s
        retry)."""
        lab = cls(Path(state_dir), address_map or loopback_identity)
        lab._register_spread_s = register_spread_s
        lab.state_dir.mkdir(parents=True, exist_ok=True)
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise LabError("duplicate device names in the lab")
        lab._runner = web.AppRunner(build_app(lab), handle_signals=False, access_log=None,
                                    shutdown_timeout=1.0)
        await lab._runner.setup()
        try:
            for spec in specs:
                require_loopback(spec.host, spec.name)
                path = lab.state_dir / f"{spec.name}.json"
                dev = SimDevice(spec, load_state(path, spec), path)
                dev.persist()
                lab.devices[spec.name] = dev
                lab._locks[spec.name] = asyncio.Lock()
            for dev in lab.devices.values():
                if lab._in_box(dev):
                    dev.phase = "unplugged"
            devs = [d for d in lab.devices.values() if d.phase != "unplugged"]
            for i in range(0, len(devs), _START_BATCH):
                await asyncio.gather(*(lab._bring_up(d) for d in devs[i:i + _START_BATCH]))
            lab._register_spread_s = 0.0  # later bring-ups (reboots, moves) register at once
        except BaseException:
            await lab.close()
            raise
        return lab

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._gb.stop_all()
        for transport in self._udp.values():
            transport.close()
        self._udp.clear()
        self._by_addr.clear()
        self._sites.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def settle(self) -> None:
        """Wait until scheduled reboots, moves and re-registrations have finished (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- the DeviceDirectory the HTTP front uses -----------------------------------------------
    def lookup(self, host: str, port: int) -> SimDevice | None:
        return self._by_addr.get((host, port))

    def schedule(self, dev: SimDevice, after: After) -> None:
        if after.action == "reboot":
            self._spawn(self._reboot(dev))
        elif after.action == "network":
            self._spawn(self._move(dev))
        else:
            self._spawn(self._gb.sync(dev))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- bringing a device up and down ------------------------------------------------------
    async def _bring_up(self, dev: SimDevice) -> None:
        assert self._runner is not None
        host = dev.state.listen_host
        require_loopback(host, dev.name)
        key = (host, dev.spec.http_port)
        other = self._by_addr.get(key)
        if other is not None and other is not dev:
            raise LabError(f"{dev.name}: {host}:{dev.spec.http_port} already used by {other.name}")
        site = web.TCPSite(self._runner, host, dev.spec.http_port, reuse_address=True,
                           backlog=64)
        try:
            await site.start()
        except OSError as e:
            raise LabError(f"{dev.name}: cannot listen on {host}:{dev.spec.http_port}: {e}") from e
        self._sites[dev.name] = site
        self._by_addr[key] = dev
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: DiscoveryResponder(lambda: self._probe_answer(dev)),
                local_addr=(host, DISCOVERY_PORT), reuse_port=False)
            self._udp[dev.name] = transport
        except OSError as e:  # discovery is optional: the device still serves HTTP
            log.warning("%s: WS-Discovery responder not started: %s", dev.name, e)
        dev.phase = "up"
        if self._register_spread_s > 0:
            self._spawn(self._gb_sync_later(dev, random.uniform(0, self._register_spread_s)))
        else:
            await self._gb.sync(dev)

    async def _gb_sync_later(self, dev: SimDevice, delay: float) -> None:
        await asyncio.sleep(delay)
        if dev.phase == "up":
            await self._gb.sync(dev)

    async def _bring_down(self, dev: SimDevice, phase: str) -> None:
        dev.phase = phase  # type: ignore[assignment]
        site = self._sites.pop(dev.name, None)
        if site is not None:
            self._by_addr.pop((dev.state.listen_host, dev.spec.http_port), None)
            await site.stop()
        transport = self._udp.pop(dev.name, None)
        if transport is not None:
            transport.close()
        await self._gb.stop(dev)

    def _probe_answer(self, dev: SimDevice) -> ProbeAnswer | None:
        if dev.phase != "up" or not dev.state.discoverable or "offline" in dev.faults:
            return None
        scopes = [item for _, item in scope_items(dev)]
        return ProbeAnswer(endpoint_uuid(dev.spec.serial),
                           f"{dev.base_url()}/onvif/device_service", scopes)

    async def _reboot(self, dev: SimDevice) -> None:
        async with self._locks[dev.name]:
            await asyncio.sleep(0.05)  # let the SystemReboot reply reach the client
            await self._bring_down(dev, "rebooting")
            dev.nonces = type(dev.nonces)()
            await asyncio.sleep(dev.spec.reboot_s)
            if "stuck_after_reboot" in dev.faults or "offline" in dev.faults:
                return
            dev.boot_time = time.time()
            if dev.pending_network:
                dev.pending_network = False
                if not self._apply_new_address(dev):
                    return
            await self._bring_up(dev)

    async def _move(self, dev: SimDevice) -> None:
        async with self._locks[dev.name]:
            await asyncio.sleep(0.05)  # the SetNetworkInterfaces reply goes out on the old address
            await self._bring_down(dev, "moving")
            await asyncio.sleep(dev.spec.network_move_s)
            if self._apply_new_address(dev) and "offline" not in dev.faults:
                await self._bring_up(dev)

    def _apply_new_address(self, dev: SimDevice) -> bool:
        if "network_change_lost" in dev.faults:
            dev.phase = "lost"
            return False
        try:
            new_host = self.address_map(dev.state.address)
            require_loopback(new_host, dev.name)
        except (LabError, ValueError) as e:
            log.warning("%s: new address unreachable in the lab: %s", dev.name, e)
            dev.phase = "lost"
            return False
        dev.state.listen_host = new_host
        dev.persist()
        return True

    # ---- the staging port ----------------------------------------------------------------------
    @staticmethod
    def _in_box(dev: SimDevice) -> bool:
        """A staging device still on its factory address (it has not been moved off it)."""
        return dev.spec.staging and dev.state.address == dev.spec.network.address

    async def plug(self, device: str) -> None:
        """Plug a staging box into the staging port: it answers on its vendor's default
        address. One box per address: a second one is refused (its address would conflict)."""
        dev = self._device(device)
        if not self._in_box(dev):
            raise LabError(f"{device}: not a staging device waiting on its factory address")
        async with self._locks[dev.name]:
            if dev.phase == "up":
                return
            other = self._by_addr.get((dev.state.listen_host, dev.spec.http_port))
            if other is not None:
                raise LabError(f"{device}: the staging port is taken: {other.name} answers on "
                               f"{dev.state.address} (unplug it first)")
            await self._bring_up(dev)

    async def unplug(self, device: str) -> None:
        """Take a box off the staging port (it keeps whatever was set on it)."""
        dev = self._device(device)
        if not self._in_box(dev):
            raise LabError(f"{device}: not on the staging port (it has moved off its factory "
                           f"address)")
        async with self._locks[dev.name]:
            if dev.phase != "unplugged":
                await self._bring_down(dev, "unplugged")

    # ---- faults -----------------------------------------------------------------------------
    def _device(self, name: str) -> SimDevice:
        try:
            return self.devices[name]
        except KeyError:
            raise LabError(f"no lab device named {name!r}") from None

    def set_fault(self, device: str, fault: str, value: str | None = None) -> None:
        dev = self._device(device)
        if fault in ACTIONS:
            self._act(dev, fault, value)
            return
        dev.set_fault(fault, value)
        if fault == "offline" and dev.phase == "up":
            self._spawn(self._offline(dev))

    def _act(self, dev: SimDevice, action: str, value: str | None) -> None:
        if action == "reboot":
            if dev.phase != "up":
                raise LabError(f"{dev.name}: reboot: the device is {dev.phase}, not up")
            self._spawn(self._reboot(dev))
            return
        dev.boot_time = boot_time_for_uptime(dev.name, value)

    async def _offline(self, dev: SimDevice) -> None:
        async with self._locks[dev.name]:
            if dev.phase == "up":
                await self._bring_down(dev, "down")

    def clear_faults(self, device: str) -> None:
        dev = self._device(device)
        dev.faults.clear()
        dev.requests = 0
        if dev.phase != "up":
            self._spawn(self._recover(dev))

    async def _recover(self, dev: SimDevice) -> None:
        async with self._locks[dev.name]:
            if dev.phase == "unplugged":
                return  # a box on the shelf: clearing faults does not plug it in
            if dev.phase == "lost" and not self._apply_new_address(dev):
                return
            if dev.phase != "up":
                await self._bring_up(dev)

    def set_image_fault(self, device: str, fault: str, value: str | None = None) -> None:
        """Pass an image fault to the device's snapshot provider (if it models faults)."""
        provider = self._device(device).spec.snapshot
        setter = getattr(provider, "set_fault", None)
        if setter is None:
            raise LabError(f"{device}: snapshot provider does not model image faults")
        setter(fault, value)

    # ---- read-only views ----------------------------------------------------------------------
    def device_state(self, device: str) -> dict[str, object]:
        dev = self._device(device)
        s = dev.state
        gb = asdict(s.gb28181)
        gb["password_set"] = bool(gb.pop("password"))
        return {
            "name": dev.name, "phase": dev.phase, "listen_host": s.listen_host,
            "http_port": dev.spec.http_port, "address": s.address,
            "prefix_length": s.prefix_length, "gateway": s.gateway, "hostname": s.hostname,
            "active": s.active, "onvif_enabled": s.onvif_enabled,
            "users": [{"username": a.username, "level": a.level} for a in s.users],
            "onvif_users": [{"username": a.username, "level": a.level} for a in s.onvif_users],
            "ntp_servers": list(s.ntp_servers), "dns_servers": list(s.dns_servers),
            "date_time_type": s.date_time_type, "timezone": s.timezone,
            "clock_offset_s": dev.clock_offset(), "discoverable": s.discoverable,
            "encoders": {k: asdict(v) for k, v in s.encoders.items()},
            "gb28181": gb, "gb28181_agent": self._gb.state(dev.name, dev),
            "faults": dict(dev.faults), "pending_network": dev.pending_network,
        }

    def status(self) -> list[dict[str, object]]:
        return [{"name": d.name, "model": d.spec.profile.key, "host": d.state.listen_host,
                 "http_port": d.spec.http_port, "address": d.state.address, "phase": d.phase,
                 "active": d.state.active, "faults": sorted(d.faults),
                 "image_fault": getattr(d.spec.snapshot, "fault", None),
                 "gb28181": self._gb.state(d.name, d)} for d in self.devices.values()]
