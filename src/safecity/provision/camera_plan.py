"""From the inventory to one camera's (or encoder's) desired state and target. Pure.

The Ansible module and the batch runner both start here, so a device gets the same desired
state whichever path provisions it:

    HostRecord vars (resolve_hosts / the inventory plugin)  ─┐
    fleet policy (group defaults: accounts, time zone)       ├─► plan_camera ─► CameraPlan
    model profile (device_templates)                         │     (CameraTarget + CameraDesiredState)
    secrets (vault values, by vault variable name)          ─┘

Secrets are looked up by the vault variable names the inventory gives (``safecity_credentials``
and each account's ``password_var``); values never appear in messages.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from safecity.errors import SafecityError
from safecity.inventory.loader import Deployment, DeviceEntry, effective_defaults
from safecity.inventory.profiles import DeviceProfile, ProfileCatalog
from safecity.provision.camera import CameraTarget, Credentials
from safecity.provision.camera_state import (
    CameraDesiredState,
    DesiredStateError,
    UserLevel,
    UserSpec,
    desired_camera_state,
)

# Kinds this plan covers: devices that take the whole ONVIF desired state.
PROVISIONED_KINDS = frozenset({"ipc", "encoder"})
# Suffix of the vault variable holding the admin password a device may still have while a
# rotation rolls out (``vault_camera_admin_password_previous``): tried after the current one.
PREVIOUS_SUFFIX = "_previous"
_STREAM_FIELDS = ("codec", "resolution", "fps", "bitrate_kbps", "gop")


class CameraPlanError(SafecityError):
    """The inventory, policy or vault cannot give this device a desired state.

    The message reads ``<device>: desired state: <reason>``."""

    def __init__(self, device: str, reason: str) -> None:
        self.device, self.reason = device, reason
        super().__init__(f"{device}: desired state: {reason}")


@dataclass(frozen=True)
class AccountSpec:
    """An account every device gets; its password is the vault variable ``password_var``."""

    username: str
    level: UserLevel
    password_var: str


DEFAULT_ACCOUNTS = (AccountSpec("operator", "Operator", "vault_camera_operator_password"),
                    AccountSpec("viewer", "User", "vault_camera_viewer_password"))


@dataclass(frozen=True)
class CameraPolicy:
    """Fleet-wide group defaults (the role's ``camera_provision_*`` defaults mirror these).

    ``timezone`` is an IANA name (``Asia/Shanghai``) or a POSIX TZ string (``CST-8``); ONVIF
    devices take the POSIX form, converted here. A host's ``safecity_timezone`` wins."""

    timezone: str = "Asia/Shanghai"
    accounts: tuple[AccountSpec, ...] = DEFAULT_ACCOUNTS
    remove_users: tuple[str, ...] = ()
    discoverable: bool = False
    admin_username: str | None = None  # None: the profile's factory administrator name


@dataclass(frozen=True)
class CameraInputs:
    """What the inventory says about one device (the ``safecity_*`` host variables)."""

    name: str
    kind: str
    model: str
    ip: str
    reach: str  # where this controller reaches it: ``ansible_host`` (a loopback one in the lab)
    prefix: int
    gateway: str
    dns: tuple[str, ...]
    ntp_servers: tuple[str, ...]
    credentials: str | None  # vault variable name of the admin password
    channels: int | None = None  # encoders: one per inventory channel
    streams: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    timezone: str | None = None
    mac: str = ""  # as the inventory plugin gives it (aa:bb:cc:dd:ee:ff)
    staging: bool = False  # delivered on the vendor's default address (provision --staging)

    @classmethod
    def from_host_vars(cls, name: str, hv: Mapping[str, Any]) -> CameraInputs:
        """From a ``HostRecord``'s vars (or Ansible hostvars); a missing key names the device."""
        def need(key: str) -> Any:
            value = hv.get(key)
            if value is None or value == "":
                raise CameraPlanError(name, f"host variable {key} is missing")
            return value

        channels = hv.get("safecity_channels")
        return cls(
            name=name, kind=str(need("safecity_kind")), model=str(need("safecity_model")),
            ip=str(need("safecity_ip")), reach=str(hv.get("ansible_host") or need("safecity_ip")),
            prefix=int(need("safecity_prefix")), gateway=str(hv.get("safecity_gateway") or ""),
            dns=tuple(str(s) for s in hv.get("safecity_dns") or ()),
            ntp_servers=tuple(str(s) for s in hv.get("safecity_ntp_servers") or ()),
            credentials=hv.get("safecity_credentials"),
            channels=len(channels) if isinstance(channels, list) and channels else None,
            streams=dict(hv.get("safecity_streams") or {}),
            timezone=hv.get("safecity_timezone"), mac=str(hv.get("safecity_mac") or ""),
            staging=bool(hv.get("safecity_staging")))


@dataclass(frozen=True)
class CameraPlan:
    target: CameraTarget
    desired: CameraDesiredState


@lru_cache(maxsize=64)
def posix_timezone(name: str) -> str:
    """``Asia/Shanghai`` → ``CST-8``: the POSIX rule at the end of the system's TZif file.

    A value that already looks like a POSIX TZ string (it has an offset digit) is kept."""
    if any(ch.isdigit() for ch in name):
        return name
    if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", name):
        raise ValueError(f"time zone {name!r} is not an IANA name or a POSIX TZ string")
    for base in zoneinfo.TZPATH:
        path = Path(base) / name
        if path.is_file():
            footer = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace")
            if footer and any(ch.isdigit() for ch in footer):
                return footer
    raise ValueError(f"time zone {name!r} is unknown to this system's zoneinfo")


def hostname_for(name: str) -> str:
    """Inventory names allow ``.`` and ``_``; host names take letters, digits and ``-``."""
    return re.sub(r"[^A-Za-z0-9-]", "-", name)[:63].strip("-") or name


def merge_stream_overrides(layers: Iterable[Mapping[str, Mapping[str, object] | None] | None]
                           ) -> dict[str, dict[str, object]]:
    """Field-wise merge, later layers winning: ``[deployment, region, site, device]``."""
    out: dict[str, dict[str, object]] = {}
    for layer in layers:
        for kind, values in (layer or {}).items():
            if values:
                out.setdefault(kind, {}).update({k: v for k, v in values.items() if v is not None})
    return out


def stream_overrides_of(deployment: Deployment, entry: DeviceEntry) -> dict[str, dict[str, object]]:
    """A device's stream overrides: its own ``streams:`` over its site's/region's defaults."""
    defaults = effective_defaults(deployment, entry.site).streams
    device = entry.device.streams
    return merge_stream_overrides([
        defaults.model_dump(exclude_none=True) if defaults else None,
        device.model_dump(exclude_none=True) if device else None])


def _secret(device: str, secrets: Mapping[str, str], var: str, what: str) -> str:
    value = secrets.get(var)
    if not value:
        raise CameraPlanError(device, f"{what}: vault variable {var} is not defined")
    return value


def plan_camera(inputs: CameraInputs, catalog: ProfileCatalog, secrets: Mapping[str, str],
                policy: CameraPolicy = CameraPolicy(), *, port: int = 80,
                timeout: float = 5.0) -> CameraPlan:
    """The desired state and the target of one camera/encoder; raises ``CameraPlanError``.

    ``secrets`` maps vault variable names to values (``Secrets`` of the vault, or the values
    Ansible decrypted). ``port`` is the device's HTTP port as reached from here."""
    name = inputs.name
    if inputs.kind not in PROVISIONED_KINDS:
        raise CameraPlanError(name, f"kind {inputs.kind} is not provisioned as a camera/encoder")
    profile: DeviceProfile | None = catalog.device(inputs.model)
    if profile is None:
        raise CameraPlanError(name, f"no device profile {inputs.model} in {catalog.root}")
    if not inputs.credentials:
        raise CameraPlanError(name, "no credentials: set safecity_credentials (a vault variable name)")
    admin_password = _secret(name, secrets, inputs.credentials, "admin password")
    accounts = tuple(UserSpec(a.username, _secret(name, secrets, a.password_var,
                                                  f"account {a.username}"), a.level)
                     for a in policy.accounts)
    try:
        tz = posix_timezone(inputs.timezone or policy.timezone)
    except ValueError as e:
        raise CameraPlanError(name, str(e)) from None
    try:
        desired = desired_camera_state(
            device=name, profile=profile, hostname=hostname_for(name), ip=inputs.ip,
            prefix=inputs.prefix, gateway=inputs.gateway, ntp_servers=inputs.ntp_servers,
            dns_servers=inputs.dns, admin_password=admin_password,
            admin_username=policy.admin_username, accounts=accounts,
            remove_users=policy.remove_users, timezone=tz,
            stream_overrides={k: dict(v) for k, v in inputs.streams.items()},
            channels=inputs.channels if inputs.kind == "encoder" else None,
            discoverable=policy.discoverable)
    except DesiredStateError as e:
        prefix = f"{name}: "
        reason = str(e).removeprefix(prefix)
        raise CameraPlanError(name, reason) from None
    creds = [Credentials(desired.admin.username, admin_password)]
    previous = secrets.get(inputs.credentials + PREVIOUS_SUFFIX)
    if previous and previous != admin_password:
        creds.append(Credentials(desired.admin.username, previous))
    target = CameraTarget(name=name, address=inputs.ip, host=inputs.reach, port=port,
                          profile=profile, credentials=tuple(creds), timeout=timeout)
    return CameraPlan(target, desired)


def secret_names(inputs: Sequence[CameraInputs], policy: CameraPolicy) -> list[str]:
    """Every vault variable the plans of ``inputs`` read (for a clear "missing" report)."""
    names = {i.credentials for i in inputs if i.credentials}
    names |= {a.password_var for a in policy.accounts}
    return sorted(n for n in names if n)


__all__ = ["DEFAULT_ACCOUNTS", "PROVISIONED_KINDS", "AccountSpec", "CameraInputs", "CameraPlan",
           "CameraPlanError", "CameraPolicy", "hostname_for", "merge_stream_overrides",
           "plan_camera", "posix_timezone", "secret_names", "stream_overrides_of"]
