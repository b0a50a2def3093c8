"""Runs a device's GB/T 28181 user agent (``safecity.lab.sip.device``) from its SIP settings.

The SIP package is imported lazily: the ONVIF lab works (and its tests run) without it; the
device then reports ``gb28181: unavailable``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from safecity.lab.onvif.device import SimDevice

log = logging.getLogger(__name__)


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
    """The running user agents, one per device whose GB/T 28181 access is enabled."""

    def __init__(self, address_map: Callable[[str], str]) -> None:
        self.address_map = address_map
        self.agents: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def state(self, name: str, dev: SimDevice) -> str:
        if name in self.errors:
            return f"error: {self.errors[name]}"
        agent = self.agents.get(name)
        if agent is not None:
            return str(getattr(agent, "state", "running"))
        if not dev.state.gb28181.enabled:
            return "disabled"
        if _gb_api() is None:
            return "unavailable"
        return "incomplete" if not dev.state.gb28181.complete else "stopped"

    async def sync(self, dev: SimDevice) -> None:
        """Start, reconfigure or stop the device's agent to match its current settings."""
        self.errors.pop(dev.name, None)
        config = build_config(dev, self.address_map) if dev.phase == "up" else None
        agent = self.agents.get(dev.name)
        try:
            if config is None:
                if agent is not None:
                    del self.agents[dev.name]
                    await agent.stop()
                return
            if agent is None:
                api = _gb_api()
                assert api is not None
                agent = api[1](config, clock_offset=dev.clock_offset)
                self.agents[dev.name] = agent
                await agent.start()
            else:
                await agent.reconfigure(config)
        except Exception as e:  # noqa: BLE001 - a broken agent must not take the ONVIF device down with it
            log.warning("%s: GB/T 28181 agent: %s", dev.name, e)
            self.errors[dev.name] = str(e)

    async def stop(self, dev: SimDevice) -> None:
        agent = self.agents.pop(dev.name, None)
        if agent is not None:
            try:
                await agent.stop()
            except Exception as e:  # noqa: BLE001 - best effort on stop
                log.warning("%s: GB/T 28181 agent stop: %s", dev.name, e)

    async def stop_all(self) -> None:
        for name in list(self.agents):
            agent = self.agents.pop(name)
            try:
                await agent.stop()
            except Exception as e:  # noqa: BLE001 - best effort on stop
                log.warning("%s: GB/T 28181 agent stop: %s", name, e)
