"""JSON: the canonical report (every other format is derived from the same ``HealthReport``)."""

from __future__ import annotations

import json

from safecity.health.report_data import HealthReport


def render_json(report: HealthReport, *, devices: bool = True) -> str:
    data = report.as_dict()
    if not devices:
        data.pop("devices")
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
