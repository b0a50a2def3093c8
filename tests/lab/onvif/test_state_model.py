"""A device's persisted settings belong to the model they were made for: replacing the model in
the inventory gives a new box, not the old one's settings under a new profile."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from onvif_lab_support import make_spec

from safecity.lab.onvif import OnvifLab

_octet = 250 + os.getpid() % 5
_n = itertools.count(2)


def next_host() -> str:
    return f"127.42.{_octet}.{next(_n) % 250 + 2}"


async def test_a_new_model_starts_from_its_own_state(tmp_path: Path) -> None:
    host = next_host()
    lab = await OnvifLab.start([make_spec("box", host=host)], tmp_path)
    lab.devices["box"].state.hostname = "renamed"
    lab.devices["box"].persist()
    await lab.close()

    same = await OnvifLab.start([make_spec("box", host=host)], tmp_path)
    assert same.device_state("box")["hostname"] == "renamed"
    await same.close()

    other = await OnvifLab.start([make_spec("box", "dahua/IPC-HFW2431S-S-S2", host=host)], tmp_path)
    try:
        assert other.device_state("box")["hostname"] == "box"
    finally:
        await other.close()
