"""Every test run is loopback-only: a driver pointed at a real (non-127/8) address refuses."""

from __future__ import annotations

import os

os.environ.setdefault("SAFECITY_LOOPBACK_ONLY", "1")
