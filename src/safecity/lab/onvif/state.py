"""A simulated device's mutable settings and their JSON persistence (``<state_dir>/<name>.json``).

Everything a client can change over ONVIF or the vendor API is here and survives a lab restart;
faults and connection state are not (they belong to the running lab, not to the device).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safecity.errors import LabError
from safecity.lab.onvif.spec import (
    USER_LEVELS,
    EncoderSettings,
    Gb28181Settings,
    OnvifDeviceSpec,
    UserLevel,
)

STATE_VERSION = 1


@dataclass
class Account:
    username: str
    password: str
    level: UserLevel


@dataclass
class DeviceState:
    active: bool
    onvif_enabled: bool
    listen_host: str  # loopback address the device answers on now (moves with SetNetworkInterfaces)
    address: str  # deployment address the device "has"
    prefix_length: int
    dhcp: bool
    gateway: str
    hostname: str
    users: list[Account]
    onvif_users: list[Account]
    encoders: dict[str, EncoderSettings]
    gb28181: Gb28181Settings
    hostname_from_dhcp: bool = False
    ntp_from_dhcp: bool = False
    ntp_servers: list[str] = field(default_factory=list)
    dns_from_dhcp: bool = False
    dns_servers: list[str] = field(default_factory=list)
    search_domains: list[str] = field(default_factory=list)
    date_time_type: str = "Manual"  # Manual | NTP
    timezone: str = "CST-8"
    clock_offset_s: float = 0.0
    discoverable: bool = True
    protocols: dict[str, tuple[bool, list[int]]] = field(default_factory=dict)
    # The profile key the device was created as ("" in files from before it was recorded): a
    # different model in the inventory is a different box, which starts from its own state.
    model: str = ""

    # ---- accounts -------------------------------------------------------------------------
    def onvif_accounts(self, separate: bool) -> list[Account]:
        """The list ONVIF authenticates against and ONVIF user management edits."""
        return self.onvif_users if separate else self.users

    # ---- persistence ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["gb28181"] = asdict(self.gb28181)
        raw["version"] = STATE_VERSION
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DeviceState:
        raw = dict(raw)
        raw.pop("version", None)
        raw["users"] = [Account(**u) for u in raw["users"]]
        raw["onvif_users"] = [Account(**u) for u in raw["onvif_users"]]
        raw["encoders"] = {k: EncoderSettings(**v) for k, v in raw["encoders"].items()}
        gb = dict(raw["gb28181"])
        for key in ("channel_ids", "alarm_in_ids", "alarm_out_ids"):
            gb[key] = tuple(gb.get(key, ()))
        raw["gb28181"] = Gb28181Settings(**gb)
        raw["protocols"] = {k: (bool(v[0]), [int(p) for p in v[1]])
                            for k, v in raw.get("protocols", {}).items()}
        return cls(**raw)


def _accounts(items: tuple[tuple[str, str, UserLevel], ...]) -> list[Account]:
    out = []
    for username, password, level in items:
        if level not in USER_LEVELS:
            raise LabError(f"user {username}: unknown level {level!r}")
        out.append(Account(username, password, level))
    return out


def initial_state(spec: OnvifDeviceSpec) -> DeviceState:
    """The state a device has the first time it starts: factory-new or as the spec describes."""
    behaviour = spec.profile.behaviour
    inactive = bool(spec.factory_new and behaviour is not None
                    and behaviour.factory.state == "inactive")
    if spec.onvif_enabled is not None:
        onvif_enabled = spec.onvif_enabled
    elif spec.factory_new and behaviour is not None:
        onvif_enabled = behaviour.factory.onvif_enabled
    else:
        onvif_enabled = True
    users = [] if inactive else _accounts(spec.users)
    if spec.factory_new and not inactive and not users and behaviour is not None \
            and behaviour.factory.default_password is not None:
        users = [Account(behaviour.factory.default_username, behaviour.factory.default_password,
                         "Administrator")]
    encoders: dict[str, EncoderSettings] = {}
    streams = spec.profile.streams
    for ch in range(1, spec.channel_count + 1):
        for kind in ("main", "sub"):
            key = f"{ch}:{kind}"
            if key in spec.encoders:
                encoders[key] = spec.encoders[key]
            elif streams is not None:
                encoders[key] = EncoderSettings.from_stream(getattr(streams, kind))
            else:  # NVR-like profiles without stream data still need something to report
                encoders[key] = EncoderSettings("H264", 1920, 1080, 25, 4096, 50) if kind == "main" \
                    else EncoderSettings("H264", 704, 576, 15, 512, 30)
    return DeviceState(
        active=not inactive,
        onvif_enabled=onvif_enabled,
        listen_host=spec.host,
        address=spec.network.address,
        prefix_length=spec.network.prefix_length,
        dhcp=spec.network.dhcp,
        gateway=spec.network.gateway,
        hostname=spec.hostname,
        users=users,
        onvif_users=[] if inactive else _accounts(spec.onvif_users),
        encoders=encoders,
        gb28181=spec.gb28181,
        ntp_servers=list(spec.ntp_servers),
        dns_servers=list(spec.dns_servers),
        date_time_type="NTP" if spec.ntp_servers else "Manual",
        clock_offset_s=spec.clock_offset_s,
        discoverable=spec.discoverable,
        protocols={"HTTP": (True, [spec.http_port]), "RTSP": (True, [spec.rtsp_port]),
                   "HTTPS": (False, [443])},
        model=spec.profile.key,
    )


def load_state(path: Path, spec: OnvifDeviceSpec) -> DeviceState:
    """Persisted state if the file exists and was made for the same model, else the spec's
    initial state."""
    if not path.exists():
        return initial_state(spec)
    try:
        state = DeviceState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LabError(f"{spec.name}: unreadable lab state {path}: {e}") from e
    if state.model and state.model != spec.profile.key:
        return initial_state(spec)  # replaced by another model: a new box
    if not state.model:
        state.model = spec.profile.key
    return state


def save_state(path: Path, state: DeviceState) -> None:
    """Atomic write: a lab killed mid-write must not leave a half file behind."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=1, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)  # holds lab passwords
    os.replace(tmp, path)
