"""What a camera or encoder should be (``CameraDesiredState``), what it is (``CameraState``),
and the ordered difference between the two. Pure: no I/O, no inventory access.

``desired_camera_state`` is built from plain values the caller resolved from the inventory,
group defaults, the vault and the plan; the model profile supplies stream defaults, the admin
account name and the password policy.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from safecity.drivers.vendor.plugins import Gb28181Settings
from safecity.errors import SafecityError
from safecity.inventory.profiles import DeviceProfile, StreamSettings
from safecity.provision.result import MASK, Change

UserLevel = Literal["Administrator", "Operator", "User"]
_STREAM_FIELDS = ("codec", "resolution", "fps", "bitrate_kbps", "gop")
_HOSTNAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")


class DesiredStateError(SafecityError):
    """The inputs do not describe a state this model can take (message names the device)."""


@dataclass(frozen=True)
class UserSpec:
    username: str
    password: str = field(repr=False)
    level: UserLevel


@dataclass(frozen=True)
class StreamSpec:
    codec: str
    resolution: str
    fps: int
    bitrate_kbps: int
    gop: int

    @property
    def width(self) -> int:
        return int(self.resolution.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.resolution.split("x")[1])

    def as_dict(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in _STREAM_FIELDS}


@dataclass(frozen=True)
class NetworkSpec:
    ip: str
    prefix: int
    gateway: str


@dataclass(frozen=True)
class CameraDesiredState:
    device: str
    hostname: str
    timezone: str
    ntp_servers: tuple[str, ...]
    dns_servers: tuple[str, ...]
    users: tuple[UserSpec, ...]  # the first is the administrator safecity signs in as
    remove_users: tuple[str, ...]  # factory and other accounts that must not exist
    encoders: dict[str, StreamSpec]  # "<channel>:main|sub"
    discoverable: bool
    network: NetworkSpec
    gb28181: Gb28181Settings | None = None

    @property
    def admin(self) -> UserSpec:
        return self.users[0]


@dataclass(frozen=True)
class CameraState:
    """The device as read. ``user_passwords_ok`` says, per existing desired user, whether the
    desired password is the one the device has (found by signing in with it)."""

    hostname: str
    timezone: str
    ntp_enabled: bool
    ntp_servers: tuple[str, ...]
    dns_servers: tuple[str, ...]
    users: dict[str, UserLevel]
    user_passwords_ok: dict[str, bool]
    encoders: dict[str, StreamSpec]
    discoverable: bool
    address: str
    prefix: int
    gateway: str
    gb28181: Gb28181Settings | None = None


def _password_problem(password: str, min_length: int, min_classes: int) -> str | None:
    if len(password) < min_length:
        return f"shorter than {min_length} characters"
    classes = sum(any(ch in group for ch in password) for group in (
        string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation))
    if classes < min_classes:
        return f"mixes fewer than {min_classes} character classes"
    return None


def _stream(device: str, key: str, base: StreamSettings | StreamSpec,
            override: Mapping[str, object] | None, profile: DeviceProfile) -> StreamSpec:
    values = {f: getattr(base, f) for f in _STREAM_FIELDS}
    for k, v in (override or {}).items():
        if k not in values:
            raise DesiredStateError(f"{device}: stream override {key}: unknown field {k!r}"
                                    f" (known: {', '.join(_STREAM_FIELDS)})")
        values[k] = v
    spec = StreamSpec(str(values["codec"]), str(values["resolution"]), int(values["fps"]),
                      int(values["bitrate_kbps"]), int(values["gop"]))
    opts = profile.encoder_options
    if opts is not None:
        problem = None
        if spec.codec not in opts.codecs:
            problem = f"codec {spec.codec} not offered by {profile.key}"
        elif spec.resolution not in opts.resolutions:
            problem = f"resolution {spec.resolution} not offered by {profile.key}"
        else:
            for label, value, (lo, hi) in (("fps", spec.fps, opts.fps),
                                           ("bitrate_kbps", spec.bitrate_kbps, opts.bitrate_kbps),
                                           ("gop", spec.gop, opts.gop)):
                if not lo <= value <= hi:
                    problem = f"{label} {value} outside {lo}..{hi} for {profile.key}"
                    break
        if problem:
            raise DesiredStateError(f"{device}: stream {key}: {problem}")
    return spec


def desired_camera_state(
        *, device: str, profile: DeviceProfile, hostname: str, ip: str, prefix: int,
        gateway: str, ntp_servers: Sequence[str], dns_servers: Sequence[str],
        admin_password: str, admin_username: str | None = None,
        accounts: Sequence[UserSpec] = (), remove_users: Sequence[str] = (),
        timezone: str = "CST-8", stream_overrides: Mapping[str, Mapping[str, object]] | None = None,
        channels: int | None = None, discoverable: bool = False,
        gb28181: Gb28181Settings | None = None) -> CameraDesiredState:
    """The state one camera/encoder should have.

    ``stream_overrides`` keys are ``main``/``sub`` (every channel) or ``<channel>:main|sub``
    (one channel, wins over the former); values are partial stream settings. The factory
    account is removed unless it is the administrator account itself (then its password is
    rotated)."""
    b = profile.behaviour
    if b is None:
        raise DesiredStateError(f"{device}: profile {profile.key} has no vendor behaviour data")
    if profile.streams is None:
        raise DesiredStateError(f"{device}: profile {profile.key} has no stream defaults")
    if not _HOSTNAME.match(hostname):
        raise DesiredStateError(f"{device}: hostname {hostname!r} is not a valid host name")
    try:
        net = ipaddress.IPv4Interface(f"{ip}/{prefix}")
        if gateway and ipaddress.IPv4Address(gateway) not in net.network:
            raise DesiredStateError(f"{device}: gateway {gateway} is outside {net.network}")
        for server in (*dns_servers, *(s for s in ntp_servers if s[:1].isdigit())):
            ipaddress.IPv4Address(server)
    except ValueError as e:
        raise DesiredStateError(f"{device}: {e}") from None
    admin = UserSpec(admin_username or b.factory.default_username, admin_password,
                     "Administrator")
    users = [admin, *accounts]
    names = [u.username for u in users]
    if len(set(names)) != len(names):
        raise DesiredStateError(f"{device}: duplicate account names in {names}")
    policy = b.password_policy
    for u in users:
        problem = _password_problem(u.password, policy.min_length, policy.min_classes)
        if problem:
            raise DesiredStateError(f"{device}: password of {u.username} is {problem}"
                                    f" ({profile.vendor} password policy)")
    removals = [n for n in (*remove_users, b.factory.default_username) if n not in names]
    overrides = stream_overrides or {}
    for key in overrides:
        if key not in ("main", "sub") and not re.fullmatch(r"\d+:(main|sub)", key):
            raise DesiredStateError(f"{device}: stream override key {key!r}: use main, sub "
                                    f"or <channel>:main|sub")
    count = channels if channels is not None else max(1, profile.channels)
    encoders: dict[str, StreamSpec] = {}
    for ch in range(1, count + 1):
        for kind in ("main", "sub"):
            key = f"{ch}:{kind}"
            merged = {**overrides.get(kind, {}), **overrides.get(key, {})}
            encoders[key] = _stream(device, key, getattr(profile.streams, kind), merged, profile)
    return CameraDesiredState(
        device=device, hostname=hostname, timezone=timezone, ntp_servers=tuple(ntp_servers),
        dns_servers=tuple(dns_servers), users=tuple(users),
        remove_users=tuple(dict.fromkeys(removals)), encoders=encoders,
        discoverable=discoverable, network=NetworkSpec(ip, prefix, gateway), gb28181=gb28181)


# ---- diff ----------------------------------------------------------------------------------

def diff_camera_state(current: CameraState, desired: CameraDesiredState) -> list[Change]:
    """Ordered as they are applied (DOMAIN.md §3): time, hostname, DNS, users, encoders,
    discovery, GB/T 28181, network last. Secrets are never values here."""
    out: list[Change] = []

    def add(setting: str, old: object, new: object) -> None:
        if old != new:
            out.append(Change(setting, old, new))

    add("time.ntp_servers", list(current.ntp_servers), list(desired.ntp_servers))
    add("time.type", "NTP" if current.ntp_enabled else "Manual",
        "NTP" if desired.ntp_servers else ("NTP" if current.ntp_enabled else "Manual"))
    add("time.timezone", current.timezone, desired.timezone)
    add("hostname", current.hostname, desired.hostname)
    add("dns_servers", list(current.dns_servers), list(desired.dns_servers))
    for u in desired.users:
        level = current.users.get(u.username)
        if level is None:
            out.append(Change(f"users.{u.username}", None, {"level": u.level,
                                                             "password": MASK}))
            continue
        add(f"users.{u.username}.level", level, u.level)
        if not current.user_passwords_ok.get(u.username, False):
            out.append(Change(f"users.{u.username}.password", MASK, MASK))
    for name in desired.remove_users:
        if name in current.users:
            out.append(Change(f"users.{name}", {"level": current.users[name]}, None))
    for key, want in desired.encoders.items():
        have = current.encoders.get(key)
        if have is None:
            out.append(Change(f"encoders.{key}", None, want.as_dict()))
            continue
        for f in _STREAM_FIELDS:
            add(f"encoders.{key}.{f}", getattr(have, f), getattr(want, f))
    add("discoverable", current.discoverable, desired.discoverable)
    if desired.gb28181 is not None and current.gb28181 is not None:
        have_gb, want_gb = current.gb28181.comparable(), desired.gb28181.comparable()
        for k, v in want_gb.items():
            add(f"gb28181.{k}", have_gb.get(k), v)
    add("network.gateway", current.gateway, desired.network.gateway)
    add("network.prefix", current.prefix, desired.network.prefix)
    add("network.address", current.address, desired.network.ip)
    return out
