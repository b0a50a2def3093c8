"""An alarm host's mutable settings and their JSON persistence (``<state_dir>/<name>.json``).

Only what the API can change is kept; the account comes from the spec every start (nothing in
the API changes it), so a new lab vault reaches the device.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from safecity.errors import LabError
from safecity.lab.alarm.spec import AlarmHostSpec
from safecity.lab.onvif.spec import Gb28181Settings

STATE_VERSION = 1


@dataclass
class AlarmState:
    gb28181: Gb28181Settings
    model: str  # the profile it was created as: another model in the inventory is a new box

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "version": STATE_VERSION}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AlarmState:
        gb = dict(raw["gb28181"])
        for key in ("channel_ids", "alarm_in_ids", "alarm_out_ids"):
            gb[key] = tuple(gb.get(key, ()))
        return cls(Gb28181Settings(**gb), str(raw.get("model", "")))


def initial_state(spec: AlarmHostSpec) -> AlarmState:
    return AlarmState(spec.gb28181, spec.profile.key)


def load_state(path: Path, spec: AlarmHostSpec) -> AlarmState:
    if not path.exists():
        return initial_state(spec)
    try:
        state = AlarmState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LabError(f"{spec.name}: unreadable lab state {path}: {e}") from e
    return state if state.model == spec.profile.key else initial_state(spec)


def save_state(path: Path, state: AlarmState) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=1, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)  # holds lab passwords
    os.replace(tmp, path)
