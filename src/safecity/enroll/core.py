"""Enroll ONE device on its tier platform: read its GB/T 28181 settings → diff → (check: stop)
→ push (vendor plug-in) → re-read → wait until the platform lists it online.

The password is write-only on devices, so it cannot be diffed; a device whose readable settings
match is proven by the platform instead: registered → nothing to do; not registered → the
password is sent again (a wrong or never-set password is the usual reason). Every outcome is a
``Result``; a device problem never raises.
"""

from __future__ import annotations

import time

from safecity.drivers.vendor.plugins import Gb28181Plugin, VendorEndpoint, gb28181_plugin
from safecity.enroll.platform_watch import RegistrationWatch
from safecity.enroll.targets import EnrollTarget
from safecity.errors import DeviceError, DeviceRejected, VerificationFailed
from safecity.provision.result import MASK, Change, Result

OPERATION = "enroll"


def gb_changes(current: dict[str, object], desired: dict[str, object]) -> list[Change]:
    return [Change(f"gb28181.{k}", current.get(k), v) for k, v in desired.items()
            if current.get(k) != v]


class _Enrollment:
    def __init__(self, target: EnrollTarget, watch: RegistrationWatch, check_mode: bool,
                 wait_timeout: float) -> None:
        self.t, self.watch, self.check, self.wait_timeout = target, watch, check_mode, wait_timeout
        self.diff: list[Change] = []
        self.warnings: list[str] = []
        self.changed = False
        d = target.desired
        self.evidence: dict[str, object] = {
            "platform": target.platform.name, "server_id": d.server_id, "device_id": d.device_id,
            "channel_ids": list(d.channel_ids), "alarm_in_ids": list(d.alarm_in_ids),
            "alarm_out_ids": list(d.alarm_out_ids)}

    def result(self, error: DeviceError | None = None) -> Result:
        return Result(self.t.name, changed=self.changed, diff=list(self.diff),
                      failed=error is not None, error=str(error) if error else None,
                      evidence=dict(self.evidence), warnings=list(self.warnings))

    async def online(self) -> bool:
        """Is the device listed now? Raises DeviceError naming the platform when it is down."""
        p = self.t.platform
        try:
            regs = await self.watch.registrations(p.rpc_url, self.watch.poll_interval)
        except DeviceError as e:
            raise DeviceError(self.t.name, OPERATION, f"platform {p.name} does not answer "
                              f"({e.reason}): cannot tell whether the device is online") from e
        reg = regs.get(self.t.desired.device_id)
        if reg is not None:
            self.evidence.update(contact=reg.contact, last_seen=reg.last_seen)
        return reg is not None

    async def without_plugin(self) -> Result:
        # No vendor API: safecity cannot set the device, but the platform still says whether
        # someone did (by hand, or through the vendor's own platform).
        if await self.online():
            self.warnings.append(f"{self.t.name}: {OPERATION}: the vendor profile has no GB/T 28181 "
                                 f"API (gb28181_api: {self.t.gb_api}); the device is registered "
                                 f"with settings made outside safecity")
            self.evidence["online"] = True
            return self.result()
        return self.result(DeviceRejected(
            self.t.name, OPERATION, f"the vendor profile has no GB/T 28181 API (gb28181_api: "
            f"{self.t.gb_api}) and the device is not registered on {self.t.platform.name}; "
            f"configure it by hand or add a vendor plug-in"))

    async def run(self, plugin: Gb28181Plugin) -> Result:
        if not plugin.supported:
            return await self.without_plugin()
        want = self.t.desired
        current = await plugin.read_settings()
        self.diff = gb_changes(current.comparable(), want.comparable())
        if not self.diff:
            if await self.online():
                self.evidence["online"] = True
                return self.result()
            self.diff = [Change("gb28181.password", MASK, MASK)]
        if self.check:
            self.changed = True
            return self.result()
        applied_at = time.time()
        self.changed = True
        await plugin.apply_settings(want, send_password=True)
        left = gb_changes((await plugin.read_settings()).comparable(), want.comparable())
        if left:
            raise VerificationFailed(self.t.name, OPERATION, "still different after apply: "
                                     + "; ".join(c.setting for c in left))
        p = self.t.platform
        try:
            reg = await self.watch.wait_registered(p.rpc_url, want.device_id, self.wait_timeout,
                                                   since=int(applied_at) - 1)
        except DeviceError as e:
            raise DeviceError(self.t.name, OPERATION, f"settings pushed, but platform {p.name} "
                              f"does not answer ({e.reason})") from e
        if reg is None:
            raise DeviceError(self.t.name, OPERATION, f"settings pushed, but {p.name} does not "
                              f"list {want.device_id} online after {self.wait_timeout:g} s "
                              f"(password refused, or the platform does not know the device)")
        self.evidence.update(online=True, contact=reg.contact, last_seen=reg.last_seen,
                             seconds_to_online=round(time.time() - applied_at, 3))
        return self.result()


async def enroll_device(target: EnrollTarget, watch: RegistrationWatch, *, check_mode: bool,
                        wait_timeout: float = 30.0) -> Result:
    """Bring one device's GB/T 28181 access to the desired settings and see it online.

    Never raises for a device or platform problem: the ``Result`` says what happened, and
    ``changed`` is True as soon as anything may have been written."""
    run = _Enrollment(target, watch, check_mode, wait_timeout)
    plugin = gb28181_plugin(target.gb_api, VendorEndpoint(
        target.name, target.host, target.port, target.username or None,
        target.password or None, timeout=target.timeout))
    try:
        return await run.run(plugin)
    except DeviceError as e:
        return run.result(e)
    finally:
        await plugin.close()


__all__ = ["enroll_device", "gb_changes"]
