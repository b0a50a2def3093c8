"""The bimonthly statistics report (``safecity health stats``) from the example deployment and a
history of nights: devices per region, enrollment and key-place rates against their targets,
online and intact rates over the period only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safecity.cli import app
from safecity.health.history import open_history
from safecity.health.kpi import compute_rollups
from safecity.health.models import DeviceResult, Night, RegionInfo
from safecity.health.statistics import StatisticsError, compute_statistics
from safecity.health.targets import region_table
from safecity.inventory import load_valid_deployment
from safecity.inventory.stats import compute_stats

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"
CAMS = [f"dsc-cam-00{i}" for i in range(1, 7)] + ["dsc-cam-001x", "dsc-cam-002x", "dsc-cam-003x", "dsc-cam-004x"]


def night(day: str, down: int, unregistered: int, blurred: int, regions: list[RegionInfo]) -> Night:
    results = []
    for i, name in enumerate(CAMS):
        up = i >= down
        r = DeviceResult(name, "ipc", "340102", "ds-centre", reachable=up, video_checked=up,
                         registered=i >= down + unregistered, clock_offset_s=0.0 if up else None)
        if not up:
            r.add_fault("unreachable")
        elif i < down + blurred:
            r.add_fault("vqd_blur")
        results.append(r)
    return Night(day, 0.0, 1.0, "example", "all", regions, results)


@pytest.fixture
def history(tmp_path: Path) -> str:
    deployment, _ = load_valid_deployment(EXAMPLE)
    regions = region_table(deployment)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    store = open_history(url)
    try:
        for n in (night("2025-05-01", down=2, unregistered=0, blurred=0, regions=regions),
                  night("2025-05-02", down=0, unregistered=1, blurred=1, regions=regions),
                  night("2025-07-01", down=10, unregistered=0, blurred=0, regions=regions)):   # outside the period
            store.save_night(n, compute_rollups(n), [])
    finally:
        store.close()
    return url


def test_figures_from_inventory_and_history(history: str) -> None:
    deployment, _ = load_valid_deployment(EXAMPLE)
    store = open_history(history)
    try:
        report = compute_statistics(deployment, store, "2025-05-01", "2025-06-30")
    finally:
        store.close()
    by = {r.code: r for r in report.regions}
    assert [r.code for r in report.regions] == ["340000", "340100", "340200", "340102", "340103", "340202"]
    assert report.nights == ["2025-05-01", "2025-05-02"]
    province, dongshan, xihu, jiangcheng = by["340000"], by["340102"], by["340103"], by["340200"]
    # Devices per region, the same counts the inventory statistics give.
    inv = {r.code: r for r in compute_stats(deployment).regions}
    for code, f in by.items():
        assert {k: v for k, v in f.devices.items() if v} == {
            k: v for k, v in inv[code].devices.items() if k in ("ipc", "encoder", "alarm_host", "nvr")}
        assert f.video_channels == inv[code].video_channels
    assert (province.devices["ipc"], province.devices["encoder"], province.encoder_channels,
            province.devices["alarm_host"], province.alarm_points, province.devices["nvr"]) == (55, 2, 6, 2, 10, 4)
    # Key places: 7 declared, Xihu's railway station has no camera yet: 6/7 < 90 %.
    assert (province.key_place_total.places, province.key_place_total.covered) == (7, 6)
    assert province.key_places["transport_hub"].places == 3 and province.key_places["transport_hub"].covered == 2
    assert (xihu.key_place_total.places, xihu.key_place_total.covered) == (2, 1)
    assert dongshan.key_place_total.rate == 1.0 and jiangcheng.key_place_total.rate == 1.0
    # Enrollment: registered on the period's last night ÷ enrolling devices in the inventory.
    assert (province.registered, province.enrolling) == (9, 59)
    assert (dongshan.registered, dongshan.enrolling) == (9, 23)
    assert jiangcheng.registered == 0 and jiangcheng.enrollment_rate == 0.0
    # Online / intact over the period's device-nights (the July night is outside).
    assert (province.nights, province.device_nights, province.online_nights) == (2, 20, 18)
    assert (province.video_nights, province.intact_nights) == (20, 17)
    assert province.online_rate == 0.9 and province.intact_rate == 0.85


def test_cli_writes_json_and_self_contained_html(history: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["health", "stats", str(EXAMPLE), "--from", "2025-05-01", "--to", "2025-06-30",
                                      "--history", history, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert ("Jianghuai Province: 55 IP cameras, 61 video channels, 10 alarm points; enrollment 15.3 %, "
            "key places 85.7 %, online 90.0 %, intact 85.0 % over 2 night(s)") in result.output
    data = json.loads((tmp_path / "r" / "statistics-2025-05-01-2025-06-30.json").read_text())
    assert data["targets"] == {"enrollment_rate": 0.4, "key_place_rate": 0.9}
    assert data["regions"][0]["key_place_rate"] == pytest.approx(6 / 7)
    html = (tmp_path / "r" / "statistics-2025-05-01-2025-06-30.html").read_text()
    assert "<svg" in html and "target 40.0 %" in html and "target 90.0 %" in html
    assert not any(tag in html for tag in ("<script", "<link", " src=", "@import"))


def test_bad_period() -> None:
    deployment, _ = load_valid_deployment(EXAMPLE)
    with pytest.raises(StatisticsError, match=r"^--from 2025-07-01 is after --to 2025-05-01$"):
        compute_statistics(deployment, None, "2025-07-01", "2025-05-01")
    with pytest.raises(StatisticsError, match=r"^--to: '2025-13-01' is not a date \(YYYY-MM-DD\)$"):
        compute_statistics(deployment, None, "2025-05-01", "2025-13-01")
