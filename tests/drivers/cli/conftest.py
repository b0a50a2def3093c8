"""Fixtures of the CLI driver tests: a SwitchLab per test, always closed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from safecity.lab.switch import SwitchLab, SwitchSpec


@pytest.fixture
async def cli_lab(tmp_path: Path) -> AsyncIterator[Callable[[Sequence[SwitchSpec]], Awaitable[SwitchLab]]]:
    labs: list[SwitchLab] = []

    async def start(specs: Sequence[SwitchSpec]) -> SwitchLab:
        lab = await SwitchLab.start(specs, tmp_path / f"state{len(labs)}")
        labs.append(lab)
        return lab

    try:
        yield start
    finally:
        for lab in labs:
            await asyncio.wait_for(lab.close(), timeout=15)
