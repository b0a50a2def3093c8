"""What one simulated alarm host is at lab start (immutable; settings live in ``state.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from safecity.inventory.profiles import DeviceProfile
from safecity.lab.onvif.spec import Gb28181Settings


@dataclass(frozen=True)
class AlarmHostSpec:
    """``host`` is its loopback listen address; ``username``/``password`` its one account."""

    name: str
    profile: DeviceProfile
    host: str
    serial: str
    hostname: str
    username: str
    password: str = field(repr=False)
    http_port: int = 80
    gb28181: Gb28181Settings = field(default_factory=Gb28181Settings)
    clock_offset_s: float = 0.0

    @property
    def inputs(self) -> int:
        return self.profile.alarm_inputs

    @property
    def outputs(self) -> int:
        return self.profile.alarm_outputs
