"""Checks of front-end devices without ONVIF (alarm hosts), over their vendor API plug-in.

The factory account must be refused: the plug-in named by the profile's ``gb28181_api`` reads
the GB/T 28181 page signed in with the vendor's factory credentials; ``AuthFailed`` is the pass.
The checks that need video or ONVIF (clock over ONVIF, ONVIF sign-in, settings, RTSP, snapshot,
image) do not apply to such a device: they are ``n/a``, never a pass.
"""

from __future__ import annotations

from safecity.drivers.vendor.plugins import VendorEndpoint, gb28181_plugin
from safecity.errors import AuthFailed, DeviceError
from safecity.verify.evidence import (
    Check,
    CheckName,
    DeviceVerdict,
    Status,
    blocked,
    failed,
    passed,
)
from safecity.verify.targets import FrontEndTarget

C = CheckName
MEDIA_CHECKS = (C.CLOCK, C.ONVIF_AUTH, C.SETTINGS, C.RTSP, C.SNAPSHOT, C.IMAGE)


def add_not_applicable_media_checks(t: FrontEndTarget, v: DeviceVerdict) -> None:
    why = f"{t.kind}: no video and no ONVIF on this device"
    for name in MEDIA_CHECKS:
        v.add(Check(name, Status.NOT_APPLICABLE, detail=why))


async def check_vendor_factory_credentials(t: FrontEndTarget, timeout: float,
                                           v: DeviceVerdict) -> None:
    reached = v.check(C.REACHABLE)
    if reached is None or reached.status is not Status.PASS:
        v.add(blocked(C.FACTORY_CREDENTIALS, "device unreachable"))
        return
    b = t.profile.behaviour if t.profile is not None else None
    if b is None or b.factory.default_password is None:
        v.add(Check(C.FACTORY_CREDENTIALS, Status.NOT_APPLICABLE,
                    detail="the profile names no factory password"))
        return
    assert t.host is not None
    f = b.factory
    plugin = gb28181_plugin(b.gb28181_api, VendorEndpoint(
        t.name, t.host, t.http_port, f.default_username, f.default_password, timeout=timeout))
    expected = {"user": f.default_username, "factory_password": "refused",
                "api": b.gb28181_api}
    try:
        if not plugin.supported:
            v.add(Check(C.FACTORY_CREDENTIALS, Status.NOT_APPLICABLE,
                        detail=f"no vendor API to sign in to (gb28181_api: {b.gb28181_api})"))
            return
        await plugin.read_settings()
    except AuthFailed:
        v.add(passed(C.FACTORY_CREDENTIALS, expected, {"factory_password": "refused"}))
        return
    except DeviceError as e:
        v.add(failed(C.FACTORY_CREDENTIALS, expected, None, f"{e.operation}: {e.reason}"))
        return
    finally:
        await plugin.close()
    v.add(failed(C.FACTORY_CREDENTIALS, expected, {"factory_password": "accepted"},
                 f"user {f.default_username} still signs in with the factory password"))


__all__ = ["MEDIA_CHECKS", "add_not_applicable_media_checks", "check_vendor_factory_credentials"]
