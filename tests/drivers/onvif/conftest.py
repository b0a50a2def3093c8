"""Fixtures of the ONVIF driver tests (helpers live in onvif_driver_support.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

# --import-mode=importlib puts no test directory on sys.path; the helper's name is unique.
sys.path.insert(0, str(Path(__file__).parent))

from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab


@pytest.fixture
async def lab_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[OnvifLab]]]:
    labs: list[OnvifLab] = []

    async def start(*specs: OnvifDeviceSpec, **kw: Any) -> OnvifLab:
        lab = await OnvifLab.start(list(specs), tmp_path / f"state{len(labs)}", **kw)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        await lab.close()
