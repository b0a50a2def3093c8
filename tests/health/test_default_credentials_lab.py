"""The ``default_credentials`` finding through the lab (real ONVIF SOAP over loopback):

- a camera whose firmware also accepts the factory password beside the set one is only found by
  trying it, which happens on the camera's night of the rotation (``rotation_nights``);
- with a rotation of one night it is tried, and found, every night;
- the rotation is stable: over N consecutive nights every device is due exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from health_lab_support import example_lab

from safecity.health.probes import ProbeOptions
from safecity.health.run import RunConfig, RunResult, health_run
from safecity.health.sweep import SweepOptions, rotation_due
from safecity.inventory import load_valid_deployment
from safecity.lab.control import lab_fault

OFFSET = 44            # this test's own loopback block
CAMERA = "jhc-cam-001"
REGION = "340202"      # the camera's county (Jinghu): the sweep covers that shard only


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with example_lab(tmp_path_factory.mktemp("defcreds") / "example", http_port=29080, rtsp_port=29554,
                     ssh_port=29022, offset=OFFSET) as root:
        yield root


def factory_password(root: Path, device: str) -> str:
    deployment, catalog = load_valid_deployment(root)
    entry = next(d for d in deployment.devices if d.name == device)
    profile = catalog.device(entry.device.model)
    assert profile is not None and profile.behaviour is not None and profile.behaviour.factory.default_password
    return profile.behaviour.factory.default_password


def sweep(root: Path, day: date, tmp: Path, rotation: int) -> RunResult:
    options = SweepOptions(probe=ProbeOptions(rtsp=False, rotation_nights=rotation), concurrency=32, vqd=False)
    return health_run(RunConfig(root, history_url=f"sqlite:///{tmp / 'h.db'}", lab=True, night=day.isoformat(),
                                regions=[REGION], options=options, write_history=False))


def findings(result: RunResult, device: str) -> set[str]:
    return next(set(r.faults) for r in result.report.night.results if r.name == device)


def test_second_password_is_found_on_the_cameras_rotation_night(lab: Path, tmp_path: Path) -> None:
    start = date(2025, 6, 1)
    nights = [start + timedelta(days=i) for i in range(7)]
    due = next(d for d in nights if rotation_due(CAMERA, d.toordinal(), 7))
    not_due = next(d for d in nights if not rotation_due(CAMERA, d.toordinal(), 7))

    clean = sweep(lab, due, tmp_path, rotation=1)
    assert findings(clean, CAMERA) == set()     # the factory password is refused: nothing to report

    lab_fault(lab, CAMERA, "also_accepts", factory_password(lab, CAMERA))
    try:
        assert findings(sweep(lab, not_due, tmp_path, rotation=7), CAMERA) == set()
        assert findings(sweep(lab, due, tmp_path, rotation=7), CAMERA) == {"default_credentials"}
        every_night = sweep(lab, not_due, tmp_path, rotation=1)
        assert findings(every_night, CAMERA) == {"default_credentials"}
        # The inventory credentials still work: the camera is otherwise healthy.
        others = {(r.name, f) for r in every_night.report.night.results for f in r.faults if r.name != CAMERA}
        assert others == set()
    finally:
        lab_fault(lab, CAMERA, None)


def test_rotation_covers_every_device_once_in_n_nights() -> None:
    devices = [f"c{n:02d}-site-cam-{i:03d}" for n in range(20) for i in range(50)]
    start = date(2025, 6, 1).toordinal()
    per_device = Counter(d for night in range(start, start + 7) for d in devices if rotation_due(d, night, 7))
    assert set(per_device.values()) == {1} and len(per_device) == len(devices)
    per_night = [sum(rotation_due(d, night, 7) for d in devices) for night in range(start, start + 7)]
    assert min(per_night) > len(devices) / 7 * 0.8 and max(per_night) < len(devices) / 7 * 1.2
    assert all(rotation_due(d, start, 1) for d in devices)
