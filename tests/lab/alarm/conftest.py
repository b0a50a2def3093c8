"""Fixtures of the alarm-host lab tests (helpers in alarm_lab_support.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from safecity.lab.alarm import AlarmHostSpec, AlarmLab


@pytest.fixture
async def alarm_lab(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[AlarmLab]]]:
    labs: list[AlarmLab] = []

    async def start(*specs: AlarmHostSpec, address_map: Callable[[str], str] = str) -> AlarmLab:
        lab = await AlarmLab.start(list(specs), tmp_path / f"state{len(labs)}", address_map)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        await lab.close()
