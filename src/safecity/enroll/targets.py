"""From resolved inventory hosts to enrollment targets: the GB/T 28181 settings each device must
carry for its tier platform, where its vendor API is, and which platform must see it. Pure.

Values come from the inventory (``resolve_hosts`` host variables: ``safecity_gb_id``,
``safecity_channels``, ``safecity_alarm_inputs/outputs``, ``safecity_sip_server_*``); the SIP
password is derived per device from ``vault_gb28181_master_key`` (inventory/secrets.py), so the
registrar (the platform role's subscriber table, or the lab registrar) holds the same password.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safecity.drivers.vendor.plugins import Gb28181Settings
from safecity.errors import SafecityError
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.secrets import derive_device_sip_password

GB_MASTER_KEY = "vault_gb28181_master_key"
DEFAULT_RPC_PORT = 5080          # Kamailio jsonrpcs over xhttp (roles/platform_sip), and the lab
# Kinds that enroll on their tier platform themselves (issue: cameras, encoders with their
# channels, alarm hosts with their inputs/outputs). NVRs are recorders, not enrolled here.
ENROLL_KINDS = frozenset({"ipc", "encoder", "alarm_host"})


class EnrollPlanError(SafecityError):
    """The inventory or vault cannot give this device its GB/T 28181 settings.

    The message reads ``<device>: enroll plan: <reason>``."""

    def __init__(self, device: str, reason: str) -> None:
        self.device, self.reason = device, reason
        super().__init__(f"{device}: enroll plan: {reason}")


@dataclass(frozen=True)
class PlatformRef:
    """The tier platform a device registers on, and where safecity asks it who is online."""

    name: str
    server_id: str
    rpc_url: str


@dataclass(frozen=True)
class EnrollPolicy:
    """Fleet-wide GB/T 28181 access defaults (2016 edition: 3600 s expiry, 60 s × 3 heartbeat)."""

    expires: int = 3600
    heartbeat_s: int = 60
    heartbeat_count: int = 3
    local_port: int = 5060


@dataclass(frozen=True)
class EnrollTarget:
    name: str
    kind: str
    region_code: str
    site: str | None
    address: str                 # real address (inventory)
    host: str                    # where its vendor API is reached from here (lab: loopback)
    port: int
    gb_api: str                  # the profile's behaviour.gb28181_api ("none": no plug-in)
    username: str
    password: str = field(repr=False)
    desired: Gb28181Settings = field(default=Gb28181Settings(False, "", "", "", 5060, ""))
    platform: PlatformRef = field(default=PlatformRef("", "", ""))
    timeout: float = 5.0

    @property
    def catalog_ids(self) -> tuple[str, ...]:
        """The IDs the device's Catalog must list: its video channels and alarm points."""
        d = self.desired
        return (*d.channel_ids, *d.alarm_in_ids, *d.alarm_out_ids)


def _ids(device: str, points: Any, what: str) -> tuple[str, ...]:
    out: list[str] = []
    for p in points or ():
        gb = p.get("gb_id") if isinstance(p, Mapping) else None
        if not gb:
            raise EnrollPlanError(device, f"{what} {p.get('name') if isinstance(p, Mapping) else p} "
                                          f"has no GB/T 28181 ID (run 'safecity inventory plan --write')")
        out.append(str(gb))
    return tuple(out)


def desired_gb_settings(name: str, hv: Mapping[str, Any], master_key: str,
                        policy: EnrollPolicy = EnrollPolicy()) -> Gb28181Settings:
    """The device-side GB/T 28181 settings of one host, from its ``safecity_*`` variables.

    ``safecity_sip_server_ip`` must be the platform's REAL address: the device is configured
    with it (the lab maps it to loopback on its side)."""
    kind = str(hv.get("safecity_kind"))
    device_id = hv.get("safecity_gb_id")
    if not device_id:
        raise EnrollPlanError(name, "no GB/T 28181 ID (safecity_gb_id)")
    server_id, server_ip = hv.get("safecity_sip_server_id"), hv.get("safecity_sip_server_ip")
    if not server_id or not server_ip:
        raise EnrollPlanError(name, f"no SIP platform server up the region tree of "
                                    f"{hv.get('safecity_region_code')}")
    if not master_key:
        raise EnrollPlanError(name, f"vault variable {GB_MASTER_KEY} is not defined")
    if kind == "encoder":
        channels = _ids(name, hv.get("safecity_channels"), "encoder channel")
    elif kind == "alarm_host":
        channels = ()
    else:
        channels = (str(device_id),)  # an IPC is its own (only) video channel
    return Gb28181Settings(
        enabled=True, server_id=str(server_id),
        server_domain=str(hv.get("safecity_sip_domain") or str(server_id)[:10]),
        server_ip=str(server_ip), server_port=int(hv.get("safecity_sip_server_port") or 5060),
        device_id=str(device_id), password=derive_device_sip_password(master_key, str(device_id)),
        expires=policy.expires, heartbeat_s=policy.heartbeat_s,
        heartbeat_count=policy.heartbeat_count, local_port=policy.local_port,
        channel_ids=channels,
        alarm_in_ids=_ids(name, hv.get("safecity_alarm_inputs"), "alarm input"),
        alarm_out_ids=_ids(name, hv.get("safecity_alarm_outputs"), "alarm output"))


def plan_enroll_target(name: str, hv: Mapping[str, Any], catalog: ProfileCatalog,
                       secrets: Mapping[str, str], platforms: Mapping[str, PlatformRef], *,
                       reach: str, port: int, policy: EnrollPolicy = EnrollPolicy(),
                       timeout: float = 5.0) -> EnrollTarget:
    """One device's target; ``platforms`` maps a platform's 20-digit ID to its ``PlatformRef``."""
    kind = str(hv.get("safecity_kind"))
    if kind not in ENROLL_KINDS:
        raise EnrollPlanError(name, f"kind {kind} is not enrolled")
    profile = catalog.device(str(hv.get("safecity_model")))
    if profile is None:
        raise EnrollPlanError(name, f"no device profile {hv.get('safecity_model')}")
    desired = desired_gb_settings(name, hv, secrets.get(GB_MASTER_KEY, ""), policy)
    platform = platforms.get(desired.server_id)
    if platform is None:
        raise EnrollPlanError(name, f"platform {desired.server_id} is not a SIP server of the inventory")
    behaviour = profile.behaviour
    username, password = "", ""
    if behaviour is not None and behaviour.gb28181_api != "none":
        ref = hv.get("safecity_credentials")
        password = secrets.get(str(ref), "") if ref else ""
        if not password:
            raise EnrollPlanError(name, f"vault variable {ref} (admin password) is not defined")
        username = behaviour.factory.default_username
    return EnrollTarget(
        name=name, kind=kind, region_code=str(hv.get("safecity_region_code")),
        site=hv.get("safecity_site"), address=str(hv.get("safecity_ip")), host=reach, port=port,
        gb_api=behaviour.gb28181_api if behaviour is not None else "none",
        username=username, password=password, desired=desired, platform=platform,
        timeout=timeout)


__all__ = ["DEFAULT_RPC_PORT", "ENROLL_KINDS", "GB_MASTER_KEY", "EnrollPlanError", "EnrollPolicy",
           "EnrollTarget", "PlatformRef", "desired_gb_settings", "plan_enroll_target"]
