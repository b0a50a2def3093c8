"""The ``default_credentials`` finding through the lab (real ONVIF SOAP over loopback):

- a camera whose firmware also accepts the factory password beside the set one is only found by
  trying it, which happens on the camera's night of the rotation (``rotation_nights``);
- with a rotation of one night it is tried, and found, every night;
- once found, the finding stands on the nights between (carried from the stored previous night,
  no "recovered" event) until the camera's next rotation night tries again;
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


def sweep(root: Path, day: date, tmp: Path, rotation: int, store: bool = False) -> RunResult:
    options = SweepOptions(probe=ProbeOptions(rtsp=False, rotation_nights=rotation), concurrency=32, vqd=False)
    return health_run(RunConfig(root, history_url=f"sqlite:///{tmp / 'h.db'}", lab=True, night=day.isoformat(),
                                regions=[REGION], options=options, write_history=store))


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


def events_of(result: RunResult, device: str) -> set[tuple[str, str | None]]:
    return {(e.kind, e.fault) for e in result.report.events if e.device == device}


def test_a_found_back_door_stands_until_the_next_rotation_night(lab: Path, tmp_path: Path) -> None:
    start = date(2025, 7, 1)
    due = next(start + timedelta(days=i) for i in range(7) if rotation_due(CAMERA, (start + timedelta(days=i)).toordinal(), 7))
    lab_fault(lab, CAMERA, "also_accepts", factory_password(lab, CAMERA))
    try:
        found = sweep(lab, due, tmp_path, rotation=7, store=True)
        assert findings(found, CAMERA) == {"default_credentials"}
        assert events_of(found, CAMERA) == {("new_fault", "default_credentials")}
        result = next(r for r in found.report.night.results if r.name == CAMERA)
        assert result.rotating == {"default_credentials": due.isoformat()}
        carried = sweep(lab, due + timedelta(days=1), tmp_path, rotation=7, store=True)
        assert findings(carried, CAMERA) == {"default_credentials"}
        assert events_of(carried, CAMERA) == set()          # neither "recovered" nor "new"
        again = next(r for r in carried.report.night.results if r.name == CAMERA)
        assert again.rotating == {"default_credentials": due.isoformat()}
        assert again.detail["default_credentials"] == result.detail["default_credentials"]
        row = next(f for f in carried.report.faults() if f.device == CAMERA)
        assert row.evidence.endswith(f"(found {due.isoformat()}; checked again on the device's rotation night)")
    finally:
        lab_fault(lab, CAMERA, None)
    # Fixed the day after: the finding stands until the check runs again, a week after it found it.
    assert findings(sweep(lab, due + timedelta(days=2), tmp_path, rotation=7, store=True), CAMERA) == {"default_credentials"}
    rechecked = sweep(lab, due + timedelta(days=7), tmp_path, rotation=7, store=True)
    assert findings(rechecked, CAMERA) == set()
    assert events_of(rechecked, CAMERA) == {("recovered", "default_credentials")}


def test_rotation_covers_every_device_once_in_n_nights() -> None:
    devices = [f"c{n:02d}-site-cam-{i:03d}" for n in range(20) for i in range(50)]
    start = date(2025, 6, 1).toordinal()
    per_device = Counter(d for night in range(start, start + 7) for d in devices if rotation_due(d, night, 7))
    assert set(per_device.values()) == {1} and len(per_device) == len(devices)
    per_night = [sum(rotation_due(d, night, 7) for d in devices) for night in range(start, start + 7)]
    assert min(per_night) > len(devices) / 7 * 0.8 and max(per_night) < len(devices) / 7 * 1.2
    assert all(rotation_due(d, start, 1) for d in devices)
