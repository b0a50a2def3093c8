"""Runs a device's GB/T 28181 user agent (``safecity.lab.sip.device``) from its SIP settings.

The SIP package is imported lazily: the ONVIF lab works (and its tests run) without it; the
device then reports ``gb28181: unavailable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from safecity.lab.onvif.device import SimDevice

log = logging.getLogger(__name__)
_STOP_BATCH = 200      # agents de-registering at once when a worker stops


def _gb_api() -> tuple[Any, Any] | None:
    try:
        from safecity.lab.sip.device import GbAccessConfig, LabGbDevice
    except ImportError:
        return None
    return GbAccessConfig, LabGbDevice


def build_config(dev: SimDevice, address_map: Callable[[str], str]) -> Any | None:
    """The user agent's config, or None when the settings are disabled or incomplete."""
    api = _gb_api()
    g = dev.state.gb28181
    if api is None or not g.complete:
        return None
    config_cls, _ = api
    names = [(cid, f"{dev.state.hostname} camera {i}") for i, cid in enumerate(g.channel_ids, 1)
             if cid]
    names += [(cid, f"{dev.state.hostname} alarm in {i}")
              for i, cid in enumerate(g.alarm_in_ids, 1) if cid]
    names += [(cid, f"{dev.state.hostname} alarm out {i}")
              for i, cid in enumerate(g.alarm_out_ids, 1) if cid]
    device_id = g.device_id or g.auth_id
    extra: dict[str, Any] = {}
    known = getattr(config_cls, "__dataclass_fields__", {})
    if "model" in known:  # newer agent versions describe the device in DeviceInfo answers
        extra = {"model": dev.spec.profile.model, "manufacturer": dev.spec.profile.vendor}
    return config_cls(
        **extra, enabled=True, server_id=g.server_id, server_domain=g.server_domain,
        server_host=address_map(g.registrar), server_port=g.registrar_port,
        device_id=device_id, password=g.password, local_host=dev.state.listen_host,
        local_port=g.local_port, expires=g.expires, heartbeat_interval=float(g.heartbeat_time),
        heartbeat_count=g.heartbeat_count, channels=names, civil_code=device_id[:6])


class GbAgents:
    """The running user agents, one per device whose GB/T 28181 access is enabled.

    ``sync`` is serialised per device and coalesced: a vendor API write often arrives as two
    requests in a row (channel IDs, then the server block), each scheduling a sync. Run
    concurrently, two re-configurations could race for the SIP port or let the older settings
    win; so one sync runs at a time per device, and a sync that has not yet read the settings
    absorbs every later request (it reads the latest settings when it gets the lock).
    """

    def __init__(self, address_map: Callable[[str], str]) -> None:
        self.address_map = address_map
        self.agents: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, asyncio.Future[None]] = {}

    def state(self, name: str, dev: SimDevice) -> str:
        running = self.agent_state(name)
        if running is not None:
            return running
        if not dev.state.gb28181.enabled:
            return "disabled"
        if _gb_api() is None:
            return "unavailable"
        return "incomplete" if not dev.state.gb28181.complete else "stopped"

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    def agent_state(self, name: str) -> str | None:
        """The running agent's state, ``error: …``, or None when no agent runs."""
        if name in self.errors:
            return f"error: {self.errors[name]}"
        agent = self.agents.get(name)
        return None if agent is None else str(getattr(agent, "state", "running"))

    async def sync(self, dev: SimDevice) -> None:
        """Start, reconfigure or stop the device's agent to match its current settings."""
        await self.sync_config(
            dev.name, lambda: build_config(dev, self.address_map) if dev.phase == "up" else None,
            dev.clock_offset)

    async def sync_config(self, name: str, make_config: Callable[[], Any | None],
                          clock_offset: Callable[[], float]) -> None:
        """Apply ``make_config()`` (None: no agent) to the agent of ``name``; any simulated
        device kind can use it (the alarm-host lab does).

        Returns once settings at least as new as those at the call are applied."""
        waiting = self._pending.get(name)
        if waiting is not None:  # queued and not started: it will read these settings too
            await asyncio.shield(waiting)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[name] = done
        try:
            async with self._lock(name):
                if self._pending.get(name) is done:
                    del self._pending[name]  # from here on, later changes need a new sync
                await self._apply(name, make_config(), clock_offset)
        finally:
            if self._pending.get(name) is done:
                del self._pending[name]
            if not done.done():
                done.set_result(None)

    async def _apply(self, name: str, config: Any | None,
                     clock_offset: Callable[[], float]) -> None:
        self.errors.pop(name, None)
        agent = self.agents.get(name)
        try:
            if config is None:
                if agent is not None:
                    del self.agents[name]
                    await agent.stop()
                return
            if agent is None:
                api = _gb_api()
                assert api is not None
                agent = api[1](config, clock_offset=clock_offset)
                self.agents[name] = agent
                await agent.start()
            else:  # a saved settings page re-registers, as real devices do
                await agent.reconfigure(config)
        except Exception as e:  # noqa: BLE001 - a broken agent must not take the device down with it
            log.warning("%s: GB/T 28181 agent: %s", name, e)
            self.errors[name] = str(e)

    async def stop(self, dev: SimDevice) -> None:
        await self.stop_agent(dev.name)

    async def stop_agent(self, name: str) -> None:
        async with self._lock(name):
            agent = self.agents.pop(name, None)
            if agent is not None:
                try:
                    await agent.stop()
                except Exception as e:  # noqa: BLE001 - best effort on stop
                    log.warning("%s: GB/T 28181 agent stop: %s", name, e)

    async def stop_all(self) -> None:
        # De-register in batches, not one device after the other: a worker of 3,000 devices
        # otherwise spends its whole stop timeout on sequential round trips.
        names = list(self.agents)
        for i in range(0, len(names), _STOP_BATCH):
            await asyncio.gather(*(self.stop_agent(n) for n in names[i:i + _STOP_BATCH]))
