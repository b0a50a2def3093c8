"""Platform-side checks: the platform answers (``ul.dump``), each device is registered with a
fresh keepalive, and the device's Catalog lists exactly the inventory's channels/alarm points.

A platform that does not answer is ONE failed check (on the platform); its devices' platform
checks are blocked by it, so the report names the platform, not fifty cameras.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from safecity.drivers.sip import PlatformRegistration, query_catalog
from safecity.enroll.platform_watch import RegistrationWatch
from safecity.errors import DeviceError
from safecity.verify.evidence import (
    Check,
    CheckName,
    DeviceVerdict,
    Status,
    blocked,
    failed,
    passed,
)
from safecity.verify.targets import FrontEndTarget, PlatformCheckTarget

C = CheckName
_CONTACT = re.compile(r"^sips?:(?:[^@;>]+@)?(?P<host>[^:;>]+)(?::(?P<port>\d+))?")


@dataclass(frozen=True)
class PlatformCheckOptions:
    rpc_timeout: float = 5.0
    catalog_timeout: float = 5.0
    sip_local_host: str | None = "127.0.0.1"   # our UA's address for Catalog queries


async def check_platform(p: PlatformCheckTarget, watch: RegistrationWatch, v: DeviceVerdict
                         ) -> dict[str, PlatformRegistration] | None:
    expected = {"rpc": p.ref.rpc_url, "method": "ul.dump"}
    try:
        regs = await watch.registrations(p.ref.rpc_url)
    except DeviceError as e:
        v.add(failed(C.PLATFORM_RPC, expected, None, f"{e.operation}: {e.reason}"))
        return None
    v.add(passed(C.PLATFORM_RPC, expected, {"registrations": len(regs)}))
    return regs


def check_registered(t: FrontEndTarget, regs: dict[str, PlatformRegistration] | None,
                     v: DeviceVerdict) -> PlatformRegistration | None:
    assert t.enroll is not None
    d, p = t.enroll.desired, t.enroll.platform
    if regs is None:
        v.add(blocked(C.REGISTERED, f"platform {p.name} does not answer"))
        return None
    stale_after = d.heartbeat_s * d.heartbeat_count
    expected = {"platform": p.name, "device_id": d.device_id, "keepalive_within_s": stale_after}
    reg = regs.get(d.device_id)
    if reg is None:
        v.add(failed(C.REGISTERED, expected, {"registered": False},
                     f"{p.name} does not list {d.device_id} (never registered, or its password "
                     f"is refused)"))
        return None
    now = time.time()
    seen: dict[str, object] = {"registered": True, "contact": reg.contact, "expires_s": reg.expires}
    if reg.last_keepalive_message is not None:
        age = now - reg.last_keepalive_message
        seen["keepalive_age_s"] = round(age, 1)
    elif reg.last_seen is not None:
        age = now - reg.last_seen
        seen["last_register_age_s"] = round(age, 1)
    else:
        age = 0.0
    if age > stale_after and reg.last_keepalive_message is not None:
        v.add(failed(C.REGISTERED, expected, seen, f"last keepalive {age:.0f} s ago "
                     f"(> {stale_after} s: the platform will drop it)"))
        return None
    note = "" if reg.last_keepalive_message is not None or age <= stale_after else \
        "the platform reports no keepalive times; the registration is valid"
    v.add(passed(C.REGISTERED, expected, seen, note))
    return reg


async def check_catalog(t: FrontEndTarget, reg: PlatformRegistration | None,
                        o: PlatformCheckOptions, reach: dict[str, str] | None,
                        v: DeviceVerdict) -> None:
    assert t.enroll is not None
    d = t.enroll.desired
    registered = v.check(C.REGISTERED)
    if reg is None:
        why = "not registered" if registered is not None and registered.status is Status.FAIL \
            else (registered.detail.removeprefix("not run: ") if registered else "not registered")
        v.add(blocked(C.CATALOG, why))
        return
    if o.sip_local_host is None:
        v.add(Check(C.CATALOG, Status.NOT_VERIFIABLE,
                    detail="no local SIP address to query from (--sip-local-host)"))
        return
    m = _CONTACT.match(reg.contact)
    if m is None:
        v.add(failed(C.CATALOG, None, {"contact": reg.contact}, "unusable Contact"))
        return
    host, port = m.group("host"), int(m.group("port") or 5060)
    if reach is not None:
        host = reach.get(host, host)
    expected = sorted(t.enroll.catalog_ids)
    try:
        items = await query_catalog(host, port, d.device_id, d.server_id, d.server_domain,
                                    o.catalog_timeout, local_host=o.sip_local_host)
    except DeviceError as e:
        v.add(failed(C.CATALOG, expected, None, f"{e.operation}: {e.reason}"))
        return
    seen = sorted(i.device_id for i in items)
    if seen == expected:
        v.add(passed(C.CATALOG, expected, seen))
    else:
        missing, extra = sorted(set(expected) - set(seen)), sorted(set(seen) - set(expected))
        v.add(failed(C.CATALOG, expected, seen, f"missing {missing}, unexpected {extra}"))


__all__ = ["PlatformCheckOptions", "check_catalog", "check_platform", "check_registered"]
