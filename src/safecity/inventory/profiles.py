"""Device knowledge as data: model profiles and vendor behaviour read from ``device_templates/``.

A front-end profile key is ``<vendor>/<model>`` (e.g. ``hikvision/DS-2CD2T47G2-L``); a switch
model key is ``<platform>/<model>`` (e.g. ``huawei_vrp/S5735-L24P4S-A``). Vendor behaviour
(activation, ONVIF media version, factory defaults, vendor HTTP API) lives once per vendor in
``device_templates/vendors/<vendor>.yml`` and is merged into every model of that vendor.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from safecity.errors import Problem, SafecityError

FrontEndKind = Literal["ipc", "encoder", "nvr", "alarm_host"]
FRONT_END_FAMILIES = ("cameras", "encoders", "nvrs", "alarm_hosts")
_T = TypeVar("_T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StreamSettings(_Strict):
    codec: Literal["H264", "H265", "MJPEG"]
    resolution: str = Field(pattern=r"^\d{2,5}x\d{2,5}$")
    fps: int = Field(ge=1, le=60)
    bitrate_kbps: int = Field(ge=16, le=65536)
    gop: int = Field(ge=1, le=1000)

    @property
    def width(self) -> int:
        return int(self.resolution.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.resolution.split("x")[1])


class Streams(_Strict):
    main: StreamSettings
    sub: StreamSettings


class EncoderOptions(_Strict):
    codecs: list[Literal["H264", "H265", "MJPEG"]]
    resolutions: list[str]
    fps: tuple[int, int]
    bitrate_kbps: tuple[int, int]
    gop: tuple[int, int]


class FactoryDefaults(_Strict):
    state: Literal["inactive", "active"]
    default_ip: str
    default_username: str
    default_password: str | None
    onvif_enabled: bool


class OnvifBehaviour(_Strict):
    media: Literal["media", "media2"]
    separate_users: bool
    http_auth: Literal["digest", "basic", "none"]
    timestamp_utc_z: bool


class RtspPaths(_Strict):
    main_path: str
    sub_path: str


class PasswordPolicy(_Strict):
    min_length: int = 8
    min_classes: int = 3


# How safecity reaches a vendor's device-side GB/T 28181 settings: one driver plug-in per value
# (drivers/vendor/plugins.py). isapi: Hikvision-like; dahua_cgi: Dahua-like configManager.cgi
# (*unverified*); alarm_http: the generic alarm host's JSON API; none: no known API.
Gb28181Api = Literal["isapi", "dahua_cgi", "alarm_http", "none"]


class UptimeApi(_Strict):
    """Where the nightly check reads a device's uptime (its "rebooted" events): one GET of
    ``path`` on the vendor HTTP API, authenticated like the snapshot; the first group of
    ``pattern`` (a regular expression searched in the first ``UPTIME_SCAN_BYTES`` of the answer)
    is the seconds since boot. ONVIF itself has no uptime, so a vendor without one omits the key."""

    path: str = Field(pattern=r"^/\S*$")
    pattern: str

    @model_validator(mode="after")
    def _one_group(self) -> UptimeApi:
        try:
            groups = re.compile(self.pattern).groups
        except re.error as e:
            raise ValueError(f"uptime.pattern: {e}") from None
        if groups != 1:
            raise ValueError("uptime.pattern: needs exactly one group (the seconds)")
        return self

    def compiled(self) -> re.Pattern[bytes]:
        return _compile_bytes(self.pattern)


UPTIME_SCAN_BYTES = 4096


@lru_cache(maxsize=64)
def _compile_bytes(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode())


class VendorBehaviour(_Strict):
    """A vendor's behaviour. ``onvif``, ``rtsp`` and ``snapshot_path`` describe media devices
    (cameras, encoders, NVRs); a vendor file of devices without video (alarm hosts) omits them,
    and then ``has_media`` is False and reading them is an error naming the vendor."""

    vendor: str
    factory: FactoryDefaults
    activation: Literal["isapi", "none"]
    gb28181_api: Gb28181Api
    onvif_data: OnvifBehaviour | None = Field(None, alias="onvif")
    rtsp_data: RtspPaths | None = Field(None, alias="rtsp")
    snapshot_path_data: str | None = Field(None, alias="snapshot_path")
    # The sub stream's snapshot (a few tens of KB instead of the main stream's hundreds): what
    # the nightly video-quality check fetches. None: the vendor has none, the main one is used.
    snapshot_sub_path: str | None = None
    password_policy: PasswordPolicy = PasswordPolicy()
    uptime: UptimeApi | None = None     # None: no known uptime API (no "rebooted" events)

    @model_validator(mode="after")
    def _media_all_or_nothing(self) -> VendorBehaviour:
        given = [self.onvif_data is not None, self.rtsp_data is not None,
                 self.snapshot_path_data is not None]
        if any(given) and not all(given):
            raise ValueError("onvif, rtsp and snapshot_path go together (all or none)")
        if self.snapshot_sub_path is not None and self.snapshot_path_data is None:
            raise ValueError("snapshot_sub_path needs snapshot_path")
        return self

    @property
    def has_media(self) -> bool:
        return self.onvif_data is not None

    def _media(self, value: _T | None, key: str) -> _T:
        if value is None:
            raise ProfileError([Problem(f"vendors/{self.vendor}.yml", 0, "vendor profile",
                                        f"{key}: not set (the vendor's devices have no video)")])
        return value

    @property
    def onvif(self) -> OnvifBehaviour:
        return self._media(self.onvif_data, "onvif")

    @property
    def rtsp(self) -> RtspPaths:
        return self._media(self.rtsp_data, "rtsp")

    @property
    def snapshot_path(self) -> str:
        return self._media(self.snapshot_path_data, "snapshot_path")


class DeviceProfile(_Strict):
    """One front-end model (camera, encoder, NVR, alarm host) with its vendor's behaviour."""

    vendor: str
    model: str
    kind: FrontEndKind
    description: str = ""
    firmware: str = ""
    channels: int = Field(0, ge=0, le=256)
    alarm_inputs: int = Field(0, ge=0, le=512)
    alarm_outputs: int = Field(0, ge=0, le=512)
    storage_tb: float = 0
    streams: Streams | None = None
    encoder_options: EncoderOptions | None = None
    behaviour: VendorBehaviour | None = None

    @property
    def key(self) -> str:
        return f"{self.vendor}/{self.model}"


class PortRange(_Strict):
    prefix: str
    first: int = Field(ge=0)
    last: int = Field(ge=0)
    role: Literal["access", "uplink"]

    def names(self) -> list[str]:
        return [f"{self.prefix}{n}" for n in range(self.first, self.last + 1)]


class SwitchModel(_Strict):
    vendor: str
    model: str
    kind: Literal["switch"]
    platform: Literal["huawei_vrp", "hp_comware", "cisco_ios"]
    ports: list[PortRange]

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.model}"

    def port_roles(self) -> dict[str, str]:
        return {name: r.role for r in self.ports for name in r.names()}


class ProfileCatalog:
    """Every profile under one ``device_templates/`` root, indexed by key."""

    def __init__(self, root: Path, devices: dict[str, DeviceProfile],
                 switches: dict[str, SwitchModel]) -> None:
        self.root = root
        self.devices = devices
        self.switches = switches

    def device(self, key: str) -> DeviceProfile | None:
        return self.devices.get(key)

    def switch(self, key: str) -> SwitchModel | None:
        return self.switches.get(key)


class ProfileError(SafecityError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def default_templates_root() -> Path:
    """The repository's ``device_templates/`` (overridable with SAFECITY_TEMPLATES)."""
    import os

    env = os.environ.get("SAFECITY_TEMPLATES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "device_templates"


def _read_yaml(path: Path) -> object:
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=yaml.CSafeLoader)


@lru_cache(maxsize=8)
def load_profiles(root: Path | None = None) -> ProfileCatalog:
    """Load and validate every profile; a broken profile file is an error naming the file."""
    root = (root or default_templates_root()).resolve()
    problems: list[Problem] = []
    vendors: dict[str, VendorBehaviour] = {}
    for path in sorted((root / "vendors").glob("*.yml")):
        try:
            vendors[path.stem] = VendorBehaviour.model_validate(_read_yaml(path))
        except (ValidationError, yaml.YAMLError) as e:
            problems.append(Problem(str(path), 0, "vendor profile", str(e).splitlines()[0]))
    devices: dict[str, DeviceProfile] = {}
    for family in FRONT_END_FAMILIES:
        for path in sorted((root / family).glob("*/*.yml")):
            try:
                raw = _read_yaml(path)
                if not isinstance(raw, dict):
                    raise ValueError("a profile must be a mapping")  # noqa: TRY004 - a file problem, caught below
                vendor = raw.get("vendor")
                if isinstance(vendor, str) and vendor in vendors:
                    raw = {**raw, "behaviour": vendors[vendor]}
                profile = DeviceProfile.model_validate(raw)
            except (ValidationError, yaml.YAMLError, ValueError) as e:
                problems.append(Problem(str(path), 0, "device profile", str(e).splitlines()[0]))
                continue
            devices[profile.key] = profile
    switches: dict[str, SwitchModel] = {}
    for path in sorted((root / "switches").glob("*/models/*.yml")):
        try:
            sw = SwitchModel.model_validate(_read_yaml(path))
        except (ValidationError, yaml.YAMLError) as e:
            problems.append(Problem(str(path), 0, "switch model", str(e).splitlines()[0]))
            continue
        switches[sw.key] = sw
    if problems:
        raise ProfileError(problems)
    return ProfileCatalog(root, devices, switches)
