"""The deployment model: province → cities → counties → sites, and every device in them.

These pydantic models are the schema of one inventory file (``RegionFile``) and of the
deployment header (``DeploymentFile``). Unknown keys are errors (``extra="forbid"``) so a typo
never silently drops a setting. Cross-file rules (duplicates, subnets, ports, GB IDs) live in
``validate.py``; values still to be chosen (``allocate``) are filled by ``plan.py``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

ALLOCATE = "allocate"
Tier = Literal["province", "city", "county"]
GbEdition = Literal[2016, 2022]
NetworkName = Literal["video_private", "industry_private", "psin", "government", "internet",
                      "social_resource", "leased_line"]
PlatformRole = Literal["sip", "media", "storage", "management", "database", "gateway", "ntp",
                       "syslog", "health"]
DeviceStatus = Literal["planned", "installed", "decommissioned"]
# Key-place categories drive the industry digits of allocated GB IDs and the statistics.
Category = Literal["road", "checkpoint", "community", "internal", "traffic", "city_management",
                   "health", "customs", "school", "hospital", "transport_hub", "financial",
                   "enterprise", "residential", "government", "other"]

_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_VAULT_RE = re.compile(r"^(vault_[A-Za-z0-9_]+|\{\{\s*vault_[A-Za-z0-9_]+\s*\}\})$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_GB_ID_RE = re.compile(r"\d{20}")
# Dotted quads ``ipaddress.IPv4Address`` accepts (no leading zeros): a fast path for the
# common case; anything else still goes through ipaddress, so results are identical.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _digits_as_text(v: Any) -> Any:
    # YAML reads 340102 or 34020000001320000001 as integers; codes are text.
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _check_ipv4(v: Any) -> Any:
    if not isinstance(v, str):
        raise PydanticCustomError("ipv4", "{value} is not an IPv4 address", {"value": v})
    if v == ALLOCATE or _DOTTED_QUAD_RE.fullmatch(v):
        return v
    try:
        ipaddress.IPv4Address(v)
    except ValueError:
        raise PydanticCustomError("ipv4", "{value} is not an IPv4 address", {"value": v}) from None
    return v


def _check_subnet(v: Any) -> Any:
    try:
        net = ipaddress.IPv4Network(str(v), strict=True)
    except ValueError:
        raise PydanticCustomError("subnet", "{value} is not an IPv4 subnet (a.b.c.d/len, host bits zero)",
                                  {"value": v}) from None
    return str(net)


def _check_mac(v: Any) -> Any:
    if not isinstance(v, str) or not _MAC_RE.match(v):
        raise PydanticCustomError("mac", "{value} is not a MAC address (aa:bb:cc:dd:ee:ff)", {"value": v})
    # The pattern allows only ':' or '-' as separators.
    return v.lower().replace(":", "").replace("-", "")


def _check_gb_id(v: Any) -> Any:
    v = _digits_as_text(v)
    if v == ALLOCATE:
        return v
    if not isinstance(v, str) or not _GB_ID_RE.fullmatch(v):
        raise PydanticCustomError("gb_id", "{value} is not a 20-digit GB/T 28181 ID", {"value": v})
    return v


def _check_vault_ref(v: Any) -> Any:
    if not isinstance(v, str) or not _VAULT_RE.match(v):
        raise PydanticCustomError(
            "secret", "looks like a literal secret; name a vault variable instead (e.g. vault_camera_admin)",
            {"value": "***"})
    return v.strip("{} ")


def _check_name(v: Any) -> Any:
    if not isinstance(v, str) or not _NAME_RE.match(v):
        raise PydanticCustomError(
            "name", "{value} is not a valid name (lower-case letters, digits, . _ -; max 63)", {"value": v})
    return v


IPv4OrAllocate = Annotated[str, BeforeValidator(_check_ipv4)]
Subnet = Annotated[str, BeforeValidator(_check_subnet)]
Mac = Annotated[str, BeforeValidator(_check_mac)]
GbId = Annotated[str, BeforeValidator(_check_gb_id)]
VaultRef = Annotated[str, BeforeValidator(_check_vault_ref)]
Name = Annotated[str, BeforeValidator(_check_name)]
DivisionCode = Annotated[str, BeforeValidator(_digits_as_text), Field(pattern=r"^\d{6}$")]
TwoDigits = Annotated[str, BeforeValidator(lambda v: f"{v:02d}" if isinstance(v, int) else v),
                      Field(pattern=r"^\d{2}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False, str_strip_whitespace=True)


class StreamOverride(Strict):
    codec: Literal["H264", "H265", "MJPEG"] | None = None
    resolution: str | None = Field(None, pattern=r"^\d{2,5}x\d{2,5}$")
    fps: int | None = Field(None, ge=1, le=60)
    bitrate_kbps: int | None = Field(None, ge=16, le=65536)
    gop: int | None = Field(None, ge=1, le=1000)


class StreamOverrides(Strict):
    main: StreamOverride | None = None
    sub: StreamOverride | None = None


class Defaults(Strict):
    """Group-level defaults; the nearest level wins: device > site > region file > deployment."""

    credentials: VaultRef | None = None
    switch_credentials: VaultRef | None = None
    category: Category | None = None
    industry: TwoDigits | None = None
    network: NetworkName | None = None
    streams: StreamOverrides | None = None
    dns: list[IPv4OrAllocate] | None = None


class Location(Strict):
    address: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class DeviceBase(Strict):
    name: Name
    model: str
    mac: Mac
    ip: IPv4OrAllocate = ALLOCATE
    switch: Name | None = None
    port: str | None = None
    gb_id: GbId = ALLOCATE
    category: Category | None = None
    key_place: str | None = None
    location: Location | str | None = None
    credentials: VaultRef | None = None
    status: DeviceStatus = "installed"
    industry: TwoDigits | None = None
    streams: StreamOverrides | None = None
    # Delivered factory-new on the vendor's default address (which collides between boxes):
    # onboarded one at a time on the staging port by ``safecity provision --staging``.
    staging: bool = False


class Camera(DeviceBase):
    kind: Literal["ipc"] = "ipc"


class EncoderChannel(Strict):
    name: Name
    gb_id: GbId = ALLOCATE
    category: Category | None = None
    key_place: str | None = None
    location: Location | str | None = None
    status: DeviceStatus = "installed"


class Encoder(DeviceBase):
    kind: Literal["encoder"] = "encoder"
    channels: list[EncoderChannel] = Field(min_length=1)


class AlarmPoint(Strict):
    name: Name
    gb_id: GbId = ALLOCATE
    location: Location | str | None = None


class AlarmHost(DeviceBase):
    kind: Literal["alarm_host"] = "alarm_host"
    inputs: list[AlarmPoint] = Field(default_factory=list)
    outputs: list[AlarmPoint] = Field(default_factory=list)


class Nvr(DeviceBase):
    kind: Literal["nvr"] = "nvr"


class Uplink(Strict):
    port: str
    to: str = Field(description="peer, e.g. 'hf-core-01:XGigabitEthernet0/0/1' or 'core'")


class Switch(Strict):
    name: Name
    model: str
    ip: IPv4OrAllocate = ALLOCATE
    mac: Mac | None = None
    credentials: VaultRef | None = None
    uplinks: list[Uplink] = Field(default_factory=list)
    location: Location | str | None = None
    status: DeviceStatus = "installed"


class PlatformServer(Strict):
    name: Name
    roles: list[PlatformRole] = Field(min_length=1)
    ip: IPv4OrAllocate = ALLOCATE
    gb_id: GbId | None = None
    gb_edition: GbEdition | None = None
    credentials: VaultRef | None = None
    sip_port: int = Field(5060, ge=1, le=65535)

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise PydanticCustomError("roles", "roles are listed twice: {value}", {"value": v})
        return v


class KeyPlace(Strict):
    name: Name
    category: Category
    description: str | None = None


class Site(Strict):
    name: Name
    type: Literal["centre", "station"] = "station"
    grassroots: TwoDigits = "00"
    title: str | None = None
    camera_subnet: Subnet
    camera_vlan: int = Field(ge=2, le=4094)
    camera_gateway: IPv4OrAllocate = ALLOCATE
    mgmt_subnet: Subnet
    mgmt_vlan: int = Field(ge=2, le=4094)
    mgmt_gateway: IPv4OrAllocate = ALLOCATE
    reserved: list[IPv4OrAllocate] = Field(default_factory=list)
    network: NetworkName | None = None
    defaults: Defaults | None = None
    key_places: list[KeyPlace] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    cameras: list[Camera] = Field(default_factory=list)
    encoders: list[Encoder] = Field(default_factory=list)
    alarm_hosts: list[AlarmHost] = Field(default_factory=list)
    nvrs: list[Nvr] = Field(default_factory=list)


class Region(Strict):
    code: DivisionCode
    name: str
    tier: Tier
    parent: DivisionCode | None = None
    platform_subnet: Subnet | None = None


class RegionFile(Strict):
    """One file a region's team owns: its region header, platform servers and sites."""

    region: Region
    defaults: Defaults | None = None
    platform_servers: list[PlatformServer] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)


class DeploymentHeader(Strict):
    name: Name
    title: str | None = None
    gb_edition: GbEdition = 2016
    network: NetworkName = "video_private"
    timezone: str = "Asia/Shanghai"
    http_port: int = Field(80, ge=1, le=65535)
    rtsp_port: int = Field(554, ge=1, le=65535)
    ssh_port: int = Field(22, ge=1, le=65535)


class DeploymentFile(Strict):
    deployment: DeploymentHeader
    defaults: Defaults | None = None


FRONT_END_COLLECTIONS: dict[str, str] = {
    "cameras": "camera", "encoders": "encoder", "alarm_hosts": "alarm host", "nvrs": "nvr",
}
ITEM_LABELS: dict[str, str] = {
    **FRONT_END_COLLECTIONS, "switches": "switch", "platform_servers": "platform server",
    "sites": "site", "channels": "encoder channel", "inputs": "alarm input",
    "outputs": "alarm output", "key_places": "key place", "uplinks": "uplink",
}
KIND_LABELS = {"ipc": "camera", "encoder": "encoder", "alarm_host": "alarm host", "nvr": "nvr"}
