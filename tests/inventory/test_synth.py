"""Synthetic deployments: valid, deterministic, and a single broken device is found and located."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest

from safecity.inventory import check_deployment
from safecity.inventory.loader import load_deployment
from safecity.inventory.plan import Plan, compute_plan
from safecity.inventory.synth import SynthError, generate_deployment


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_small_deployment_is_valid_and_plans_deterministically(tmp_path: Path) -> None:
    summary = generate_deployment(tmp_path / "a" / "inventory" / "syn", 2000, seed=7, cities=2)
    root = summary.root
    checked = check_deployment(root)
    assert [str(p) for p in checked.problems] == []
    dep = checked.deployment
    assert dep is not None
    assert len(dep.devices) == summary.devices and summary.cameras == 2000
    assert len(dep.switches) == summary.switches and len(dep.sites) == summary.sites
    assert {r.region.tier for r in dep.regions.values()} == {"province", "city", "county"}
    kinds = {d.kind for d in dep.devices}
    assert kinds == {"ipc", "encoder", "alarm_host", "nvr"}
    explicit = sum(d.device.ip != "allocate" for d in dep.devices)
    assert 0 < explicit < len(dep.devices)                      # both explicit and planned addresses

    plan1, changes1 = compute_plan(dep, Plan())
    again = load_deployment(root).deployment
    assert again is not None
    plan2, _ = compute_plan(again, Plan())
    assert plan1.to_json() == plan2.to_json()
    assert len(plan1.ips) == len(dep.devices) + len(dep.switches) + len(dep.platform_servers) - explicit - sum(
        sw.switch.ip != "allocate" for sw in dep.switches) - sum(p.server.ip != "allocate" for p in dep.platform_servers)
    assert all(c.action == "add" for c in changes1)
    # A second plan against the first changes nothing.
    _, changes = compute_plan(again, plan1)
    assert changes == []


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    a = generate_deployment(tmp_path / "a", 600, seed=3).root
    b = generate_deployment(tmp_path / "b", 600, seed=3).root
    c = generate_deployment(tmp_path / "c", 600, seed=4).root
    assert tree(a) == tree(b)
    assert tree(a) != tree(c)


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(SynthError, match="not empty"):
        generate_deployment(tmp_path / "x", 100)


@pytest.fixture(scope="module")
def mid_size(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~20,000 devices over several files (generated once for this module)."""
    return generate_deployment(tmp_path_factory.mktemp("mid") / "inventory" / "mid", 20_000, seed=5, cities=2).root


def _break_middle_device(root: Path) -> tuple[str, int]:
    """Give the middle camera of the middle county file an impossible IP; return (where, line)."""
    files = sorted((root / "regions").rglob("county*.yml"))
    path = files[len(files) // 2]
    lines = path.read_text(encoding="utf-8").splitlines()
    cams = [i for i, ln in enumerate(lines) if ln.startswith("      - {name:") and "-cam-" in ln]
    i = cams[len(cams) // 2]
    name = lines[i].split("name: ", 1)[1].split(",", 1)[0]
    if ", ip: " in lines[i]:
        lines[i] = re.sub(r", ip: [0-9.]+,", ", ip: 10.16.0.256,", lines[i], count=1)
    else:
        lines[i] = lines[i].replace(f"{{name: {name}, ", f"{{name: {name}, ip: 10.16.0.256, ", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"inventory/mid/{path.relative_to(root)}:{i + 1}: camera {name}", i + 1


def test_one_broken_device_among_20k_gives_exactly_one_located_problem(mid_size: Path, tmp_path: Path) -> None:
    root = tmp_path / "inventory" / "mid"
    shutil.copytree(mid_size, root)
    where, _line = _break_middle_device(root)
    checked = check_deployment(root)
    assert [str(p) for p in checked.problems] == [f"{where}: ip 10.16.0.256 is not an IPv4 address"]


def test_parallel_parse_gives_the_same_result_as_serial(mid_size: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if threading.active_count() > 1:
        pytest.skip("parse workers are only used from a single-threaded process")
    root = tmp_path / "inventory" / "mid"
    shutil.copytree(mid_size, root)
    where, _ = _break_middle_device(root)
    results = {}
    for workers in ("0", "2"):
        monkeypatch.setenv("SAFECITY_PARSE_WORKERS", workers)
        loaded = load_deployment(root)
        assert loaded.deployment is None or loaded.problems
        results[workers] = [str(p) for p in loaded.problems]
    assert results["0"] == results["2"] == [f"{where}: ip 10.16.0.256 is not an IPv4 address"]
    monkeypatch.setenv("SAFECITY_PARSE_WORKERS", "2")
    (root / "regions").joinpath(where.split(":")[0].removeprefix("inventory/mid/regions/")).write_text(
        (mid_size / where.split(":")[0].removeprefix("inventory/mid/")).read_text(encoding="utf-8"), encoding="utf-8")
    parallel = load_deployment(root).deployment
    monkeypatch.setenv("SAFECITY_PARSE_WORKERS", "0")
    serial = load_deployment(root).deployment
    assert parallel is not None and serial is not None
    assert [(d.name, d.file, d.line, d.keylines) for d in parallel.devices] == \
        [(d.name, d.file, d.line, d.keylines) for d in serial.devices]
