"""Fixtures of the switch-lab tests: start labs on 127.31.0.0/16 and always close them."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from safecity.lab.switch import SwitchLab, SwitchSpec

StartLab = Callable[..., Awaitable[SwitchLab]]


@pytest.fixture
async def start_lab(tmp_path: Path) -> AsyncIterator[StartLab]:
    """``await start_lab(specs)`` starts a lab in this test's state dir; closed at teardown."""
    labs: list[SwitchLab] = []

    async def start(specs: Sequence[SwitchSpec], state_dir: Path | None = None) -> SwitchLab:
        lab = await SwitchLab.start(specs, state_dir or tmp_path / "state")
        labs.append(lab)
        return lab

    try:
        yield start
    finally:
        for lab in labs:
            await asyncio.wait_for(lab.close(), timeout=10)
