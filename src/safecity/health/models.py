"""What the nightly sweep produces: one result per device, per night; the values every store,
KPI, event and report module reads. Plain dataclasses: they cross process and storage boundaries.

Fault codes are short stable strings (the maintenance crew's vocabulary and the events' keys):
``unreachable``, ``onvif_failed``, ``auth_failed``, ``clock_skew``, ``rtsp_failed``, ``snapshot_failed``,
``not_registered``, ``keepalive_lost``, ``default_credentials`` (a security finding),
``platform_unreachable``, ``switch_unreachable``, ``uplink_down`` (the evidence names the ports),
``cli_failed`` (switch login or show command failed; ``auth_failed`` when refused), and ``vqd_<code>`` for each video-quality fault
(``vqd_signal_loss``, ``vqd_blur``, …).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "fault", "skipped"]
Level = Literal["site", "county", "city", "province", "all"]

# Faults that mean the device's video is not usable (intact rate, DOMAIN.md §6).
VIDEO_FAULTS = frozenset({"unreachable", "onvif_failed", "auth_failed", "rtsp_failed", "snapshot_failed"})
VIDEO_KINDS = frozenset({"ipc", "encoder", "nvr"})
FAULT_LABELS: dict[str, str] = {
    "unreachable": "device unreachable",
    "onvif_failed": "reachable, but ONVIF does not answer properly",
    "auth_failed": "inventory credentials refused",
    "clock_skew": "clock offset ≥ 1 s",
    "rtsp_failed": "RTSP DESCRIBE failed",
    "snapshot_failed": "snapshot could not be fetched or decoded",
    "not_registered": "not registered on its tier platform",
    "keepalive_lost": "registered but keepalives missing",
    "default_credentials": "factory default credentials still work (security)",
    "platform_unreachable": "platform JSON-RPC does not answer",
    "switch_unreachable": "switch management unreachable",
    "uplink_down": "switch uplink port down",
    "cli_failed": "switch reachable, but its CLI session failed",
}


def fault_label(code: str) -> str:
    if code.startswith("vqd_"):
        return "video quality: " + code[4:].replace("_", " ")
    return FAULT_LABELS.get(code, code)


@dataclass
class DeviceResult:
    """One device, one night. ``faults`` is sorted; empty means healthy (when status is ok)."""

    name: str
    kind: str
    region_code: str
    site: str | None
    status: Status = "ok"
    faults: list[str] = field(default_factory=list)
    reachable: bool | None = None
    rtt_ms: float | None = None
    clock_offset_s: float | None = None
    registered: bool | None = None          # None: unknown (platform down, no SIP ID)
    video_checked: bool = False             # a snapshot was analysed tonight
    serial: str | None = None
    firmware: str | None = None
    model: str | None = None
    uptime_s: float | None = None           # when a probe can read it (reboot detection)
    metrics: dict[str, float] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)   # fault code → evidence text
    skip_reason: str | None = None
    # Faults found by a check that runs on the device's night of the rotation only (the factory
    # password beside the set one, the full-size picture) → the night it found them. Carried
    # on the nights between (``sweep.carry_rotation_findings``) until the check runs again.
    rotating: dict[str, str] = field(default_factory=dict)

    def add_fault(self, code: str, evidence: str = "") -> None:
        if code not in self.faults:
            self.faults.append(code)
            self.faults.sort()
        if evidence:
            self.detail[code] = evidence
        self.status = "fault"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceResult:
        return cls(**data)


@dataclass(frozen=True)
class RegionInfo:
    """A region of the tree, flattened so stores and reports need not load the inventory."""

    code: str
    name: str
    tier: str
    parent: str | None


@dataclass
class Night:
    """One sweep: when, over what, and every device's result."""

    night: str                      # YYYY-MM-DD the sweep belongs to
    started_at: float
    finished_at: float
    deployment: str
    scope: str                      # "all" or the region codes the shard swept
    regions: list[RegionInfo]
    results: list[DeviceResult]

    @property
    def seconds(self) -> float:
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class Rollup:
    """KPIs of one scope (a site, a region at its tier, or everything) for one night."""

    level: str
    code: str                   # site name, region code, or "all"
    name: str
    kind: str                   # device kind, or "*" for every kind
    devices: int                # scheduled (checked) devices
    online: int
    intact: int
    video_devices: int
    time_checked: int
    time_ok: int
    enrollable: int
    registered: int
    faulty: int

    @property
    def online_rate(self) -> float | None:
        return self.online / self.devices if self.devices else None

    @property
    def intact_rate(self) -> float | None:
        return self.intact / self.video_devices if self.video_devices else None

    @property
    def time_sync_rate(self) -> float | None:
        return self.time_ok / self.time_checked if self.time_checked else None

    @property
    def enrollment_rate(self) -> float | None:
        return self.registered / self.enrollable if self.enrollable else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(online_rate=self.online_rate, intact_rate=self.intact_rate,
                 time_sync_rate=self.time_sync_rate, enrollment_rate=self.enrollment_rate)
        return d


EventKind = Literal["new_fault", "recovered", "serial_changed", "firmware_changed", "rebooted",
                    "new_device", "missing_device"]


@dataclass(frozen=True)
class Event:
    """A change since the previous night: what the morning crew works from."""

    kind: EventKind
    device: str
    site: str | None
    region_code: str
    fault: str | None = None
    before: str | None = None
    after: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
