"""Inventory at province scale: load + validate + plan a 400,000-device deployment.

Targets (2-core machine): the whole of load + validate + plan ≤ 30 s wall and ≤ 2 GB peak RSS.
Baseline in the same run: the embedded example deployment (63 devices), same stages.

    .venv/bin/python benchmarks/inventory_scale.py                 # 400k cameras, cached in $TMPDIR
    .venv/bin/python benchmarks/inventory_scale.py --cameras 40000 --county
    SAFECITY_PARSE_WORKERS=0 .venv/bin/python benchmarks/inventory_scale.py   # serial parse, to compare

Each measurement runs in a fresh interpreter (no warm caches, honest peak RSS). The deployment
is generated once per (cameras, seed) and reused. ``--county`` also times the Ansible inventory
plugin listing one county (``ansible-inventory -i <config with regions: [code]> --list``); it is
skipped when the plugin is not installed. Wall time on a shared machine varies with load:
CPU seconds (parent + parse workers) are printed next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "inventory" / "example"
PLUGIN = REPO / "collections/ansible_collections/safecity/devices/plugins/inventory/safecity.py"
TARGET_SECONDS = 30.0
TARGET_RSS_MB = 2048.0

# Runs in the fresh interpreter: load, validate, plan (writing the lock when asked), and
# report per-stage wall/CPU and its own and its parse workers' peak RSS.
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
from safecity.inventory.loader import load_deployment
from safecity.inventory.plan import compute_plan, lock_path, read_lock, write_lock
from safecity.inventory.profiles import load_profiles
from safecity.inventory.validate import validate
root, write = Path(sys.argv[1]), sys.argv[2] == "write"
out = {"import": (time.perf_counter() - t0, cpu())}
def stage(name, fn):
    w, c = time.perf_counter(), cpu()
    result = fn()
    out[name] = (time.perf_counter() - w, cpu() - c)
    return result
catalog = load_profiles()
loaded = stage("load", lambda: load_deployment(root))
assert loaded.deployment is not None and not loaded.problems, loaded.problems[:5]
problems = stage("validate", lambda: validate(loaded.deployment, catalog))
assert not problems, [str(p) for p in problems[:5]]
def plan():
    previous = read_lock(lock_path(loaded.deployment))
    new, changes = compute_plan(loaded.deployment, previous)
    if write and changes:
        write_lock(lock_path(loaded.deployment), new)
    return changes
changes = stage("plan", plan)
s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
out["rss_mb"] = s.ru_maxrss / 1024
out["workers_rss_mb"] = c.ru_maxrss / 1024
out["devices"] = len(loaded.deployment.devices)
out["changes"] = len(changes)
print(json.dumps(out))
"""


def run_child(root: Path, write: bool) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds incl. workers, child's report) for one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root), "write" if write else "read"],
                          capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"child failed on {root}:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, json.loads(proc.stdout.strip().splitlines()[-1])


def cached_deployment(cameras: int, seed: int, cache: Path) -> tuple[Path, dict[str, Any]]:
    root = cache / f"inventory-{cameras}-seed{seed}"
    done = root / ".generated.json"
    if done.exists():
        return root, json.loads(done.read_text(encoding="utf-8"))
    from safecity.inventory.synth import generate_deployment

    if root.exists():
        import shutil

        shutil.rmtree(root)          # an interrupted generation: start again
    start = time.perf_counter()
    generated = generate_deployment(root, cameras, seed=seed)
    summary = generated.as_dict()
    summary["generate_seconds"] = round(time.perf_counter() - start, 2)
    summary["counties"] = generated.counties
    done.write_text(json.dumps(summary), encoding="utf-8")
    return root, summary


def time_plugin_county(root: Path, county: str) -> tuple[float, float, float, int] | str:
    """(wall, CPU, peak RSS MB of ansible-inventory, hosts) or why it was skipped."""
    tool = Path(sys.executable).parent / "ansible-inventory"
    if not PLUGIN.exists() or not tool.exists():
        return "skipped: the safecity inventory plugin or ansible-inventory is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "safecity.yml"
        config.write_text(f"plugin: safecity.devices.safecity\ndeployment: {root}\nregions: [\"{county}\"]\n",
                          encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "SAFECITY_"))}
        env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
        # /usr/bin/time reports this one process tree's peak; RUSAGE_CHILDREN is a running max.
        timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([*timer, str(tool), "-i", str(config), "--list"], capture_output=True,
                              text=True, cwd=REPO, env=env, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
    rss = float(proc.stderr.strip().splitlines()[-1]) / 1024 if timer else after.ru_maxrss / 1024
    hosts = len(json.loads(proc.stdout).get("_meta", {}).get("hostvars", {}))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, rss, hosts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=400_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "safecity-bench")
    ap.add_argument("--county", action="store_true", help="also time the Ansible plugin on one county")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))

    root, summary = cached_deployment(args.cameras, args.seed, args.cache)
    print(f"deployment: {root}  ({summary['devices']} front-end devices, {summary['switches']} switches, "
          f"{summary['sites']} sites, {summary['files']} files; generated in {summary.get('generate_seconds', '?')} s)")
    print(f"parse workers: {os.environ.get('SAFECITY_PARSE_WORKERS', 'auto')}; cores: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.1f}")

    rows: list[tuple[str, str, float, float, float, float]] = []
    for label, path in (("example", EXAMPLE), ("province", root)):
        for run, write in (("first plan", True), ("with lock", False)):
            if label == "example" and write:
                continue                 # never rewrite the embedded example's lock
            if write:
                (path / "plan.lock.json").unlink(missing_ok=True)   # a first plan starts without one
            wall, cpu, rep = run_child(path, write)
            for stage in ("import", "load", "validate", "plan"):
                s_wall, s_cpu = rep[stage]
                rows.append((label, f"{run}: {stage}", s_wall, s_cpu, float("nan"), float("nan")))
            rss = max(float(rep["rss_mb"]), float(rep["workers_rss_mb"]))
            rows.append((label, f"{run}: process total", wall, cpu, rss, float(rep["devices"])))

    print()
    print(f"{'deployment':<10} {'stage':<26} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
          f"{'wall/target':>11} {'RSS/target':>10}")
    for label, stage, wall, cpu, rss, _devices in rows:
        total = stage.endswith("process total")
        print(f"{label:<10} {stage:<26} {wall:8.2f} {cpu:8.2f} "
              f"{(f'{rss:8.0f}' if total else ''):>8} "
              f"{(f'{wall / TARGET_SECONDS:11.2f}' if total else ''):>11} "
              f"{(f'{rss / TARGET_RSS_MB:10.2f}' if total else ''):>10}")
    base = next(r for r in rows if r[0] == "example" and r[1].endswith("process total"))
    big = [r for r in rows if r[0] == "province" and r[1].endswith("process total")]
    for r in big:
        per_dev = (r[2] - base[2]) / max(1.0, r[5] - base[5]) * 1e6
        print(f"province vs example ({r[1].split(':')[0]}): wall x{r[2] / base[2]:.1f}, "
              f"peak RSS x{r[4] / base[4]:.1f}, ~{per_dev:.0f} µs wall per extra device")

    if args.county:
        counties = summary.get("counties") or []
        if not counties:
            print("\nplugin, one county: skipped: no county in the deployment")
            return
        county = str(counties[len(counties) // 2]) 
        result = time_plugin_county(root, county)
        if isinstance(result, str):
            print(f"\nplugin, one county ({county}): {result}")
        else:
            wall, cpu, rss, hosts = result
            print(f"\nplugin, one county ({county}): ansible-inventory --list: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                  f"{rss:.0f} MB peak, {hosts} hosts (x{wall / base[2]:.1f} the example's full load)")


if __name__ == "__main__":
    main()
