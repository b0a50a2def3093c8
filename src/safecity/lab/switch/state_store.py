"""Per-switch persistence: running and saved configuration in ``<state_dir>/<name>.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from safecity.errors import LabError


@dataclass(frozen=True)
class StoredConfig:
    platform: str
    running: str  # canonical text (config_tree.to_canonical)
    saved: str


def state_file(state_dir: Path, switch: str) -> Path:
    return state_dir / f"switch-{switch}.json"


def load_config(path: Path, platform: str) -> StoredConfig | None:
    """The stored configuration, or None for a switch that never ran with this state dir."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise LabError(f"switch lab: unreadable state file {path}: {e}") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("saved"), str):
        raise LabError(f"switch lab: state file {path} has no saved configuration")
    if raw.get("platform", platform) != platform:
        raise LabError(f"switch lab: state file {path} belongs to a {raw['platform']} switch, "
                       f"not {platform}; remove it to start from the factory configuration")
    running = raw.get("running")
    return StoredConfig(platform, running if isinstance(running, str) else raw["saved"],
                        raw["saved"])


def write_config(path: Path, stored: StoredConfig) -> None:
    # Write-then-rename so a lab killed mid-write keeps the previous saved configuration.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "platform": stored.platform,
                               "running": stored.running, "saved": stored.saved},
                              ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
