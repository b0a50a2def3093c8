"""The ``uptime <s>`` lab action, shared by every simulated device kind that reports uptime."""

from __future__ import annotations

import time

from safecity.errors import LabError

MAX_UPTIME_S = 10 * 365 * 86400


def boot_time_for_uptime(device: str, value: str | None) -> float:
    """The boot time that makes ``device`` report ``value`` seconds of uptime now."""
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_UPTIME_S:
        raise LabError(f"{device}: set_fault uptime: value must be seconds (0..10 years), "
                       f"got {value!r}")
    return time.time() - seconds
