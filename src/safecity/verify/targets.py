"""What verification checks, per host of a scope: built once from the inventory view, the vault
and the enrollment plan (the same desired GB/T 28181 settings ``safecity enroll`` pushes). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from safecity.drivers.cli.session import SwitchTarget
from safecity.enroll.batch import NOT_IN_LAB
from safecity.enroll.fleet import FleetView
from safecity.enroll.targets import (
    ENROLL_KINDS,
    EnrollPlanError,
    EnrollTarget,
    PlatformRef,
    plan_enroll_target,
)
from safecity.inventory.profiles import DeviceProfile
from safecity.inventory.resolve import HostRecord

SWITCH_USERNAME = "admin"   # switches are staged over the console with this account (lab too)
ONVIF_KINDS = frozenset({"ipc", "encoder"})


@dataclass(frozen=True)
class Where:
    region_code: str
    region_name: str
    site: str | None


@dataclass
class FrontEndTarget:
    """A camera, encoder or alarm host to verify."""

    name: str
    kind: str
    where: Where
    host: str | None                 # None: not reachable from here (not simulated by the lab)
    http_port: int
    rtsp_port: int
    profile: DeviceProfile | None
    username: str
    password: str = field(repr=False)
    enroll: EnrollTarget | None = None       # desired GB/T 28181 access; None: see enroll_error
    enroll_error: str | None = None
    switch: str | None = None
    switch_port: str | None = None
    mac: str | None = None
    not_verifiable: str | None = None        # why nothing can be checked from here

    @property
    def onvif(self) -> bool:
        return self.kind in ONVIF_KINDS and self.profile is not None and \
            self.profile.behaviour is not None


@dataclass
class SwitchCheckTarget:
    name: str
    where: Where
    target: SwitchTarget | None              # None: not reachable from here
    reason: str = ""


@dataclass
class PlatformCheckTarget:
    ref: PlatformRef
    where: Where


@dataclass
class VerifyPlan:
    devices: list[FrontEndTarget] = field(default_factory=list)
    switches: list[SwitchCheckTarget] = field(default_factory=list)
    platforms: list[PlatformCheckTarget] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)   # out of scope, with the reason


def _where(view: FleetView, h: HostRecord) -> Where:
    code = str(h.vars.get("safecity_region_code", ""))
    return Where(code, view.region_names.get(code, code), h.vars.get("safecity_site"))


def plan_verification(view: FleetView, secrets: Mapping[str, str], *,
                      switch_username: str = SWITCH_USERNAME, timeout: float = 5.0) -> VerifyPlan:
    out = VerifyPlan()
    used_platforms: set[str] = set()
    for h in view.hosts:
        hv = h.vars
        kind = str(hv.get("safecity_kind"))
        if kind == "platform_server":
            continue
        if hv.get("safecity_status") != "installed":
            out.skipped[h.name] = f"status {hv.get('safecity_status')}"
            continue
        reach = view.reach(h.name, str(hv.get("safecity_ip")))
        if kind == "switch":
            ref = hv.get("safecity_credentials")
            password = secrets.get(str(ref), "") if ref else ""
            if reach is None:
                out.switches.append(SwitchCheckTarget(h.name, _where(view, h), None, NOT_IN_LAB))
            elif not password:
                out.switches.append(SwitchCheckTarget(h.name, _where(view, h), None,
                                                      f"vault variable {ref} is not defined"))
            else:
                out.switches.append(SwitchCheckTarget(h.name, _where(view, h), SwitchTarget(
                    name=h.name, platform=str(hv.get("safecity_platform")), host=reach,
                    username=switch_username, password=password, port=view.ports.ssh,
                    timeout=max(timeout, 10.0))))
            continue
        if kind not in ENROLL_KINDS:
            out.skipped[h.name] = f"kind {kind}: outside enrollment and acceptance (recorders)"
            continue
        profile = view.catalog.device(str(hv.get("safecity_model")))
        ref = hv.get("safecity_credentials")
        behaviour = profile.behaviour if profile is not None else None
        t = FrontEndTarget(
            name=h.name, kind=kind, where=_where(view, h), host=reach, http_port=view.ports.http,
            rtsp_port=view.ports.rtsp, profile=profile,
            username=behaviour.factory.default_username if behaviour else "",
            password=secrets.get(str(ref), "") if ref else "",
            switch=hv.get("safecity_switch"), switch_port=hv.get("safecity_switch_port"),
            mac=hv.get("safecity_mac"))
        if reach is None:
            t.not_verifiable = NOT_IN_LAB
        else:
            try:
                t.enroll = plan_enroll_target(h.name, hv, view.catalog, secrets, view.platforms,
                                              reach=reach, port=view.ports.http, timeout=timeout)
                used_platforms.add(t.enroll.platform.server_id)
            except EnrollPlanError as e:
                t.enroll_error = str(e)
        out.devices.append(t)
    platform_hosts = {h.name: h for h in view.hosts if h.vars.get("safecity_kind") == "platform_server"}
    for server_id in sorted(used_platforms):
        ref = view.platforms[server_id]
        host = platform_hosts.get(ref.name)
        where = _where(view, host) if host is not None else Where("", "", None)
        out.platforms.append(PlatformCheckTarget(ref, where))
    return out


__all__ = ["FrontEndTarget", "PlatformCheckTarget", "SwitchCheckTarget", "VerifyPlan", "Where",
           "plan_verification"]
