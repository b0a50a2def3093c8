"""Fixtures of the vendor plug-in tests: the ONVIF driver tests' helpers, another octet range."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "onvif"))

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
