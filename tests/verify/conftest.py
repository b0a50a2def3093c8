from __future__ import annotations

import sys
from pathlib import Path

# The lab fixture helpers are shared with the enrollment tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "enroll"))
