"""Merging the shards' canonical JSON reports into one night (``safecity health merge``): the
KPIs of the union equal those of one sweep of the whole; shards that cannot be one night are
refused with a message naming the files. Lab-free: the shards are reports written by the same
renderer a sweep uses (the lab path is tests/health/test_healthcheck_lab.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safecity.cli import app
from safecity.health.history import open_history
from safecity.health.kpi import compute_rollups
from safecity.health.merge import MergeConfig, MergeError, health_merge, merge_shards, read_shard
from safecity.health.models import DeviceResult, Night, RegionInfo
from safecity.health.report_data import build_report
from safecity.health.report_json import render_json

REGIONS = [RegionInfo("340000", "Province", "province", None),
           RegionInfo("340100", "City A", "city", "340000"),
           RegionInfo("340102", "County A1", "county", "340100"),
           RegionInfo("340200", "City B", "city", "340000"),
           RegionInfo("340202", "County B1", "county", "340200")]


def device(name: str, region: str, site: str | None, *faults: str, kind: str = "ipc",
           reachable: bool = True, registered: bool | None = True) -> DeviceResult:
    r = DeviceResult(name, kind, region, site, reachable=reachable, registered=registered,
                     clock_offset_s=0.1 if reachable else None, video_checked=reachable)
    for f in faults:
        r.add_fault(f, f"evidence of {f}")
    return r


def whole_night(day: str = "2025-06-02") -> list[DeviceResult]:
    return [
        device("a-cam-1", "340102", "a-site"), device("a-cam-2", "340102", "a-site", "vqd_blur"),
        device("a-cam-3", "340100", "a-centre", "unreachable", reachable=False, registered=False),
        device("a-sw-1", "340102", "a-site", "uplink_down", kind="switch", registered=None),
        device("a-plat", "340100", None, kind="platform_server", registered=None),
        device("b-cam-1", "340202", "b-site", "clock_skew"), device("b-cam-2", "340202", "b-site"),
        device("b-enc-1", "340202", "b-site", "not_registered", kind="encoder", registered=False),
        device("p-plat", "340000", None, "platform_unreachable", kind="platform_server",
               reachable=False, registered=None),
    ]


def write_shard(tmp: Path, scope: str, results: list[DeviceResult], day: str = "2025-06-02",
                deployment: str = "example", started: float = 1000.0) -> Path:
    night = Night(day, started, started + 60, deployment, scope, REGIONS, results)
    path = tmp / f"{scope.replace(' ', '_').replace(',', '-')}-{day}.json"
    path.write_text(render_json(build_report(night, compute_rollups(night), [])), encoding="utf-8")
    return path


def shards(tmp: Path, day: str = "2025-06-02") -> list[Path]:
    all_ = whole_night(day)
    return [write_shard(tmp, "340100", [r for r in all_ if r.name.startswith("a-")], day),
            write_shard(tmp, "340200", [r for r in all_ if r.name.startswith("b-")], day, started=990.0),
            write_shard(tmp, "340000 except 340100,340200", [r for r in all_ if r.name.startswith("p-")], day)]


def test_merged_kpis_equal_one_sweep_of_the_whole(tmp_path: Path) -> None:
    merged = merge_shards([read_shard(p) for p in shards(tmp_path)])
    whole = Night("2025-06-02", 990.0, 1060.0, "example", "all", REGIONS, whole_night())
    assert compute_rollups(merged) == compute_rollups(whole)
    assert merged.scope == "all" and (merged.started_at, merged.finished_at) == (990.0, 1060.0)
    assert [r.name for r in merged.results] == sorted(r.name for r in whole.results)
    # Roll-ups go station → county → city → province over the union, not per shard.
    province = next(r for r in compute_rollups(merged) if r.level == "province" and r.kind == "*")
    assert (province.devices, province.online, province.faulty) == (9, 7, 6)


def test_merge_stores_one_night_and_compares_with_the_previous_merged_night(tmp_path: Path) -> None:
    day1, day2 = tmp_path / "d1", tmp_path / "d2"
    day1.mkdir()
    day2.mkdir()
    url = f"sqlite:///{tmp_path / 'province.db'}"
    first = shards(day1, "2025-06-01")
    # Night 1: b-cam-2 was still blurred; night 2 it recovered and a-cam-1 went dark.
    data = json.loads(first[1].read_text())
    for d in data["devices"]:
        if d["name"] == "b-cam-2":
            d["faults"], d["status"], d["detail"] = ["vqd_blur"], "fault", {"vqd_blur": "var 0.01"}
    first[1].write_text(json.dumps(data))
    health_merge(MergeConfig(first, url))
    second = shards(day2)
    data = json.loads(second[0].read_text())
    for d in data["devices"]:
        if d["name"] == "a-cam-1":
            d["faults"], d["status"] = ["vqd_too_dark"], "fault"
    second[0].write_text(json.dumps(data))
    result = health_merge(MergeConfig(second, url, tmp_path / "out", formats=("json", "html")))
    events = {(e.kind, e.device, e.fault) for e in result.report.events}
    assert events == {("recovered", "b-cam-2", "vqd_blur"), ("new_fault", "a-cam-1", "vqd_too_dark")}
    assert result.shards == ["340000 except 340100,340200", "340100", "340200"]
    report = json.loads((tmp_path / "out" / "health-2025-06-02.json").read_text())
    assert report["scope"] == "all" and report["summary"]["devices"] == 9
    assert {r["level"] for r in report["rollups"]} == {"site", "county", "city", "province", "all"}
    store = open_history(url)
    try:
        assert store.nights() == ["2025-06-01", "2025-06-02"]
        assert [r.devices for _, r in store.trend("all", "all")] == [9, 9]
    finally:
        store.close()


def test_check_mode_merge_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'province.db'}"
    result = health_merge(MergeConfig(shards(tmp_path), url, write_history=False))
    assert result.report.summary is not None and result.report.summary.devices == 9
    assert not (tmp_path / "province.db").exists()


def test_overlapping_shards_are_refused(tmp_path: Path) -> None:
    a, b, _ = shards(tmp_path)
    overlap = write_shard(tmp_path, "340102", [device("a-cam-1", "340102", "a-site"),
                                               device("a-cam-2", "340102", "a-site")])
    with pytest.raises(MergeError) as e:
        merge_shards([read_shard(p) for p in (a, b, overlap)])
    assert str(e.value) == (f"2 device(s) in more than one shard — the shards overlap: "
                            f"a-cam-1 ({a}, {overlap}); a-cam-2 ({a}, {overlap})")


def test_the_same_shard_twice_is_refused(tmp_path: Path) -> None:
    a, _, _ = shards(tmp_path)
    copy = tmp_path / "copy.json"
    copy.write_text(a.read_text())
    with pytest.raises(MergeError, match=r"the same shard \(340100\) twice"):
        merge_shards([read_shard(a), read_shard(copy)])


def test_shards_of_different_nights_are_refused(tmp_path: Path) -> None:
    a, _, _ = shards(tmp_path)
    late = write_shard(tmp_path, "340200", [device("b-cam-1", "340202", "b-site")], day="2025-06-03")
    with pytest.raises(MergeError) as e:
        merge_shards([read_shard(a), read_shard(late)])
    assert str(e.value) == (f"{a} and {late}: different nights (2025-06-02 vs 2025-06-03): "
                            "a night is merged from that night's shards only")


def test_whole_sweep_with_shards_and_missing_shards_are_refused(tmp_path: Path) -> None:
    a, b, _ = shards(tmp_path)
    whole = write_shard(tmp_path, "all", [device("x-cam", "340102", "a-site")])
    with pytest.raises(MergeError, match=r"scope all\) cannot be merged with shards"):
        merge_shards([read_shard(a), read_shard(whole)])
    with pytest.raises(MergeError, match=r"^missing shard\(s\): 340300 \(got: 340100, 340200\)$"):
        merge_shards([read_shard(a), read_shard(b)], expected=["340100", "340200", "340300"])
    other = write_shard(tmp_path, "340300", [device("c-cam", "340202", "b-site")], deployment="other")
    with pytest.raises(MergeError, match="different deployments"):
        merge_shards([read_shard(a), read_shard(other)])


def test_not_a_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something/else"}')
    with pytest.raises(MergeError, match=r"bad.json: not a safecity health report \(schema 'something/else'"):
        read_shard(bad)
    bad.write_text("{nope")
    with pytest.raises(MergeError, match="bad.json: not JSON"):
        read_shard(bad)


def test_cli_merge(tmp_path: Path) -> None:
    files = [str(p) for p in shards(tmp_path)]
    result = CliRunner().invoke(app, ["health", "merge", *files, "--out", str(tmp_path / "r"),
                                      "--history", f"sqlite:///{tmp_path / 'h.db'}", "--expect", "340100"])
    assert result.exit_code == 0, result.output
    assert "merged from 3 shard(s)" in result.output and "9 devices, 6 faults" in result.output
    assert (tmp_path / "r" / "health-2025-06-02.html").is_file()
    refused = CliRunner().invoke(app, ["health", "merge", files[0], files[0], "--check",
                                       "--history", f"sqlite:///{tmp_path / 'h2.db'}"])
    assert refused.exit_code == 1
    assert isinstance(refused.exception, MergeError)
