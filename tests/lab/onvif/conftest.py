"""Fixtures of the ONVIF lab tests (helpers live in onvif_lab_support.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

# The suite runs with --import-mode=importlib, which puts no test directory on sys.path; the
# helper module has a unique name, so adding this directory cannot shadow anything.
sys.path.insert(0, str(Path(__file__).parent))
from onvif_lab_support import make_spec

from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab


@pytest.fixture
async def lab_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[OnvifLab]]]:
    labs: list[OnvifLab] = []

    async def start(*specs: OnvifDeviceSpec, **kw: Any) -> OnvifLab:
        lab = await OnvifLab.start(list(specs), tmp_path / "state", **kw)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        await lab.close()


@pytest.fixture
async def camera(lab_factory: Callable[..., Awaitable[OnvifLab]]
                 ) -> tuple[OnvifLab, OnvifDeviceSpec]:
    spec = make_spec("cam1")
    return await lab_factory(spec), spec


