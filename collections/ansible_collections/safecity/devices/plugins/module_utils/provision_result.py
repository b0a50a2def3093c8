"""Shared by the provisioning modules: turn a safecity ``Result`` into Ansible return values.

Results never hold secrets (the core masks them); the modules still declare every secret
option ``no_log`` so Ansible masks the values wherever they might appear.
"""

from __future__ import annotations

import json
from typing import Any


def _line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def result_diff(device: str, changes: list[dict[str, Any]]) -> dict[str, str]:
    """Ansible ``--diff`` output: one ``setting: value`` line per changed setting."""
    before = "".join(f"{c['setting']}: {_line(c['old'])}\n" for c in changes)
    after = "".join(f"{c['setting']}: {_line(c['new'])}\n" for c in changes)
    return {"before_header": f"{device} (device)", "after_header": f"{device} (desired)",
            "before": before, "after": after}


def result_values(result: Any) -> dict[str, Any]:
    """The module return values of one device's ``Result``."""
    data = result.to_dict()
    return {"device": data["device"], "changes": data["diff"], "evidence": data["evidence"],
            "device_warnings": data["warnings"]}
