""""Settings match the desired state": the provisioning core itself, in check mode.

The desired state is what ``safecity provision`` plans for the device (``plan_camera``) plus the
GB/T 28181 access ``safecity enroll`` pushes, so acceptance can never disagree with what
provisioning and enrollment consider converged. Check mode reads and diffs; it writes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from safecity.provision.camera import ResolveAddress, apply_camera_state
from safecity.provision.camera_plan import CameraPlan
from safecity.verify.evidence import CheckName, DeviceVerdict, failed, passed
from safecity.verify.targets import FrontEndTarget

_SHOWN = 20


async def check_settings(t: FrontEndTarget, plan: CameraPlan | None, plan_error: str | None,
                         resolve_address: ResolveAddress | None, v: DeviceVerdict) -> None:
    name = CheckName.SETTINGS
    if plan is None:
        v.add(failed(name, None, None, plan_error or "no desired state could be planned"))
        return
    desired = plan.desired
    if t.enroll is not None:
        desired = replace(desired, gb28181=t.enroll.desired)
    r = await apply_camera_state(plan.target, desired, check_mode=True,
                                 resolve_address=resolve_address)
    expected = {"differences": 0}
    notes = "; ".join(w.removeprefix(f"{t.name}: ") for w in r.warnings)
    if r.failed:
        v.add(failed(name, expected, None, r.error or "read failed"))
    elif r.diff:
        seen = {"differences": len(r.diff), "first": [str(c) for c in r.diff[:_SHOWN]]}
        v.add(failed(name, expected, seen, "differs from the desired state: "
                     + ", ".join(sorted({c.setting for c in r.diff}))[:300]))
    else:
        v.add(passed(name, expected, {"differences": 0}, notes))


__all__ = ["check_settings"]
