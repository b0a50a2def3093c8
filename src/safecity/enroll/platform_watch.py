"""Who is online on each platform, shared by every device of a batch.

One ``ul.dump`` per platform answers for all its devices: a batch of thousands waiting for
"online" must not send thousands of RPCs. Concurrent callers of one platform share the
request in flight and a short-lived cached answer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from safecity.drivers.sip import PlatformRegistration, list_registrations
from safecity.errors import DeviceError


@dataclass
class _Cache:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    at: float = float("-inf")
    registrations: dict[str, PlatformRegistration] | None = None
    error: DeviceError | None = None


class RegistrationWatch:
    """Cached ``ul.dump`` per platform RPC URL. ``timeout`` bounds each RPC."""

    def __init__(self, timeout: float = 5.0, poll_interval: float = 0.5) -> None:
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._caches: dict[str, _Cache] = {}

    async def registrations(self, rpc_url: str, max_age: float = 0.0
                            ) -> dict[str, PlatformRegistration]:
        """Device ID → registration; raises the driver's DeviceError when the platform does not
        answer (the error is cached for ``max_age`` too: a dead platform is asked once)."""
        cache = self._caches.setdefault(rpc_url, _Cache())
        async with cache.lock:
            if time.monotonic() - cache.at > max_age:
                try:
                    regs = await list_registrations(rpc_url, self.timeout)
                    cache.registrations, cache.error = {r.device_id: r for r in regs}, None
                except DeviceError as e:
                    cache.registrations, cache.error = None, e
                cache.at = time.monotonic()
            if cache.error is not None:
                raise cache.error
            assert cache.registrations is not None
            return cache.registrations

    async def wait_registered(self, rpc_url: str, device_id: str, timeout: float, *,
                              since: float | None = None) -> PlatformRegistration | None:
        """The device's registration once the platform lists it (seen at or after ``since``,
        epoch seconds, when given); None when ``timeout`` passes first. Raises DeviceError if
        the platform itself stops answering."""
        deadline = time.monotonic() + timeout
        while True:
            reg = (await self.registrations(rpc_url, self.poll_interval)).get(device_id)
            if reg is not None and (since is None or (reg.last_seen or 0.0) >= since):
                return reg
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))


__all__ = ["RegistrationWatch"]
