"""``SwitchLab``: many simulated SSH switches in one asyncio process.

Call every method from the event loop's thread (the sync ones schedule listener changes on it).
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Sequence
from pathlib import Path

import asyncssh

from safecity.errors import LabError
from safecity.lab.switch.device import SwitchDevice
from safecity.lab.switch.dialect import load_dialect
from safecity.lab.switch.faults import ACTIONS, Faults
from safecity.lab.switch.host_keys import load_host_keys
from safecity.lab.switch.spec import PLATFORMS, SwitchSpec
from safecity.lab.switch.ssh_server import SwitchEndpoint, build_options
from safecity.lab.switch.state_store import state_file
from safecity.lab.uptime import boot_time_for_uptime

# Listener + a few sessions per switch, plus headroom for the rest of the process.
_FDS_PER_SWITCH = 4
_FD_HEADROOM = 256


def _validate(specs: Sequence[SwitchSpec]) -> None:
    names: set[str] = set()
    endpoints: set[tuple[str, int]] = set()
    for spec in specs:
        where = spec.name or "<unnamed switch>"
        if not spec.name or "/" in spec.name or spec.name.startswith("."):
            raise LabError(f"{where}: switch name must be a plain file-name-safe word")
        if spec.name in names:
            raise LabError(f"{where}: duplicate switch name")
        if (spec.host, spec.port) in endpoints:
            raise LabError(f"{where}: {spec.host}:{spec.port} is already used by another switch")
        if spec.platform not in PLATFORMS:
            raise LabError(f"{where}: unknown platform {spec.platform!r} "
                           f"(known: {', '.join(PLATFORMS)})")
        if not spec.host.startswith("127."):
            raise LabError(f"{where}: the lab only listens on loopback (127/8), not {spec.host}")
        ports = {p.name for p in spec.ports}
        for entry in spec.mac_table:
            if entry.interface not in ports:
                raise LabError(f"{where}: MAC {entry.mac} is cabled to {entry.interface}, "
                               "which is not one of the switch's ports")
        names.add(spec.name)
        endpoints.add((spec.host, spec.port))


def _raise_fd_limit(switches: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = switches * _FDS_PER_SWITCH + _FD_HEADROOM
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))


class SwitchLab:
    def __init__(self, devices: dict[str, SwitchDevice],
                 endpoints: dict[str, SwitchEndpoint]) -> None:
        self._devices = devices
        self._endpoints = endpoints
        self._closed = False

    @classmethod
    async def start(cls, specs: Sequence[SwitchSpec], state_dir: Path, *,
                    dialect_dir: Path | None = None) -> SwitchLab:
        """Start every switch; saved configurations in ``state_dir`` survive a restart."""
        _validate(specs)
        _raise_fd_limit(len(specs))
        state_dir.mkdir(parents=True, exist_ok=True)
        keys = load_host_keys(state_dir)
        devices: dict[str, SwitchDevice] = {}
        by_address: dict[tuple[str, int], SwitchDevice] = {}
        for spec in specs:
            device = SwitchDevice(spec, load_dialect(spec.platform, dialect_dir),
                                  state_file(state_dir, spec.name))
            devices[spec.name] = device
            by_address[(spec.host, spec.port)] = device

        def lookup(host: str, port: int) -> SwitchDevice | None:
            return by_address.get((host, port))

        options = {legacy: build_options(keys, lookup, legacy) for legacy in (False, True)}

        def options_for(legacy: bool) -> asyncssh.SSHServerConnectionOptions:
            return options[legacy]

        endpoints = {name: SwitchEndpoint(d, options_for) for name, d in devices.items()}
        lab = cls(devices, endpoints)
        results = await asyncio.gather(*(e.open() for e in endpoints.values()),
                                       return_exceptions=True)
        failed = [(name, r) for name, r in zip(endpoints, results, strict=True)
                  if isinstance(r, BaseException)]
        if failed:
            await lab.close()
            name, err = failed[0]
            spec = devices[name].spec
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise LabError(f"{name}: cannot listen on {spec.host}:{spec.port}: {err}{more}") \
                from err
        return lab

    def _device(self, switch: str) -> SwitchDevice:
        try:
            return self._devices[switch]
        except KeyError:
            raise LabError(f"{switch}: no such switch in the lab") from None

    def set_fault(self, switch: str, fault: str, value: str | None = None) -> None:
        device = self._device(switch)
        endpoint = self._endpoints[switch]
        if fault in ACTIONS:
            self._act(device, endpoint, fault, value)
            return
        if fault == "link_down":
            port = device.normalize_interface(value or "")
            if port is None or not device.is_physical(port):
                raise LabError(f"{switch}: set_fault link_down: no port {value!r} on this switch")
            value = port
        was_legacy = device.faults.legacy_ssh
        device.faults.set(switch, fault, value)
        if fault == "offline":
            endpoint.stop_listening()
            endpoint.cut_sessions()
        elif fault == "legacy_ssh" and not was_legacy and not device.faults.offline:
            endpoint.reopen()

    @staticmethod
    def _act(device: SwitchDevice, endpoint: SwitchEndpoint, action: str, value: str | None) -> None:
        if action == "reboot":
            endpoint.cut_sessions()
            device.reboot()
            return
        device.booted_at = boot_time_for_uptime(device.name, value)

    def clear_faults(self, switch: str) -> None:
        device = self._device(switch)
        endpoint = self._endpoints[switch]
        before = device.faults
        device.faults = Faults()
        if before.offline or before.legacy_ssh:
            endpoint.reopen()

    def status(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for name, device in self._devices.items():
            spec = device.spec
            rows.append({
                "name": name,
                "platform": spec.platform,
                "host": spec.host,
                "port": spec.port,
                "hostname": device.hostname,
                "listening": self._endpoints[name].listening,
                "sessions": len(device.connections),
                "legacy_ssh": spec.legacy_ssh_only or device.faults.legacy_ssh,
                "unsaved_changes": device.running_text() != device.saved_text(),
                "faults": device.faults.active(),
            })
        return rows

    def running_config(self, switch: str) -> str:
        return self._device(switch).running_text()

    def saved_config(self, switch: str) -> str:
        return self._device(switch).saved_text()

    async def close(self) -> None:
        """Stop listening, cut sessions, persist every switch's configuration. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(e.close() for e in self._endpoints.values()))
        for device in self._devices.values():
            device.persist()
        # Let aborted connections run their connection_lost callbacks before the loop moves on.
        await asyncio.sleep(0)
