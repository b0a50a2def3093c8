"""Cameras to their full desired state: the batch path vs a sequential baseline vs per-host Ansible.

Target (2-core machine): 1,000 factory-state lab cameras to full desired state through the
batch path (``provision_many``, one async process, bounded concurrency) in ≤ 60 s.
Baselines in the same run, on other cameras of the same lab:
  - sequential: one camera after the other, fresh ONVIF clients per camera (how typical
    scripts do it), same per-camera core; its per-camera time is extrapolated to 1,000;
  - Ansible per host: ``playbooks/provision.yml`` (role camera_provision → camera_config) for
    50 cameras, default forks.

    .venv/bin/python benchmarks/camera_provision.py                   # 1,000 / 30 / 50
    .venv/bin/python benchmarks/camera_provision.py --batch 200 --sequential 10 --ansible 0

A synthetic deployment is generated once (cached in $TMPDIR) and its lab started with address
offset 21 (cameras 10.16.x.y → 127.37.x.y) on ports 18440/18540/18640; the lab is stopped at
the end. Device state starts from factory every run (the lab state is wiped first).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_SECONDS = 60.0
DEFAULT_CONCURRENCY = 50
OFFSET, HTTP, RTSP, SSH = 21, 18440, 18540, 18640


def deployment(cameras: int) -> Path:
    from safecity.inventory import load_valid_deployment
    from safecity.inventory.plan import compute_plan, lock_path, read_lock, write_lock
    from safecity.inventory.synth import generate_deployment

    root = Path(tempfile.gettempdir()) / f"safecity-bench-provision-{cameras}" / "dep"
    if not (root / "plan.lock.json").exists():
        shutil.rmtree(root.parent, ignore_errors=True)
        generate_deployment(root, cameras, seed=7)
        dep, _ = load_valid_deployment(root)
        plan, _changes = compute_plan(dep, read_lock(lock_path(dep)))
        write_lock(lock_path(dep), plan)
    for stale in ("audit", "results"):
        shutil.rmtree(root / stale, ignore_errors=True)
    shutil.rmtree(root / ".lab" / "state", ignore_errors=True)  # every run starts from factory
    return root


async def sequential(plans: list, resolve: object) -> tuple[float, int]:  # type: ignore[type-arg]
    from safecity.provision.camera import apply_camera_state

    t0 = time.perf_counter()
    failed = 0
    for p in plans:
        r = await apply_camera_state(p.target, p.desired, check_mode=False,
                                     resolve_address=resolve)  # type: ignore[arg-type]
        failed += r.failed
    return time.perf_counter() - t0, failed


def ansible_cameras(root: Path, exclude: set[str], count: int) -> tuple[list[str], list[str]]:
    """``count`` cameras from sites without alarm hosts (the lab serves none, so the inventory
    plugin in lab mode cannot load a site that has one), and their sites."""
    from safecity.inventory.scope import load_scoped

    dep = load_scoped(root).deployment
    assert dep is not None
    alarm_sites = {d.site.name for d in dep.devices if d.kind == "alarm_host"}
    names, sites = [], []
    for d in dep.devices:
        if len(names) == count:
            break
        if d.kind == "ipc" and d.name not in exclude and d.site.name not in alarm_sites:
            names.append(d.name)
            if d.site.name not in sites:
                sites.append(d.site.name)
    return names, sites


def ansible_rate(root: Path, names: list[str], sites: list[str]) -> tuple[float, int]:
    inv = root / "bench-safecity.yml"
    inv.write_text("plugin: safecity.devices.safecity\ndeployment: .\nlab: true\n"
                   f"sites: {sites}\n")
    limit = root / "bench-limit.txt"
    limit.write_text("\n".join(names) + "\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    t0 = time.perf_counter()
    run = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inv), str(REPO / "playbooks" / "provision.yml"),
         "--limit", f"@{limit}", "--extra-vars", f"@{root / '.lab' / 'vault.yml'}",
         "--vault-password-file", str(root / ".lab" / "vault-pass"),
         "-e", "camera_provision_lab=true",
         # The synthetic deployment has no group_vars: devices are driven from the controller.
         "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, env=env, cwd=REPO, check=False)
    seconds = time.perf_counter() - t0
    if run.returncode not in (0, 2):
        print(run.stdout[-1500:] + run.stderr[-1500:], file=sys.stderr)
    return seconds, run.stdout.count("failed=1")


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_of(pid: int) -> float:
    """CPU seconds of another process (the lab worker), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--sequential", type=int, default=30)
    ap.add_argument("--ansible", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    args = ap.parse_args()

    from safecity.lab.control import lab_down, lab_up
    from safecity.provision.batch import (
        ensure_lab_account_secrets,
        load_fleet,
        plan_all,
        provision_many,
        read_secrets,
        run_async,
    )

    need = args.batch + args.sequential + args.ansible
    root = deployment(int(need * 1.15) + 20)  # synth spreads cameras; leave some slack
    t0 = time.perf_counter()
    up = lab_up(root, address_offset=OFFSET, http_port=HTTP, rtsp_port=RTSP, ssh_port=SSH,
                timeout=600)
    print(f"lab up: {up.devices} devices in {up.workers} worker(s), {time.perf_counter() - t0:.1f} s")
    try:
        fleet = load_fleet(root, lab=True)
        ensure_lab_account_secrets(root, fleet.policy)
        cams = [i for i in fleet.inputs if i.kind == "ipc"]
        if len(cams) < need:
            raise SystemExit(f"only {len(cams)} cameras in the lab, need {need}")
        secrets = read_secrets(root, lab=True, vault=None, vault_password_file=None)
        fleet.inputs = cams[:args.batch]
        t_plan = time.perf_counter()
        plans, unplanned = plan_all(fleet, secrets)
        assert not unplanned, unplanned[0].error
        plan_s = time.perf_counter() - t_plan

        worker = int((root / ".lab" / "worker-0.pid").read_text())
        cpu0, lab0 = cpu_self(), cpu_of(worker)

        async def batch() -> tuple[float, int, int]:
            t = time.perf_counter()
            results = await provision_many(plans, check_mode=False, concurrency=args.concurrency,
                                           resolve_address=fleet.resolve_address)
            return time.perf_counter() - t, sum(r.failed for r in results), \
                sum(r.changed for r in results)

        batch_s, batch_failed, batch_changed = run_async(batch())
        batch_s += plan_s
        batch_cpu, lab_cpu = cpu_self() - cpu0, cpu_of(worker) - lab0

        fleet.inputs = cams[args.batch:args.batch + args.sequential]
        seq_plans, _ = plan_all(fleet, secrets)
        seq_s, seq_failed = asyncio.run(sequential(seq_plans, fleet.resolve_address)) \
            if seq_plans else (0.0, 0)
        per_cam = seq_s / max(1, len(seq_plans))

        used = {i.name for i in cams[:args.batch + args.sequential]}
        names, sites = ansible_cameras(root, used, args.ansible)
        ans_s, ans_failed = ansible_rate(root, names, sites) if names else (0.0, 0)
    finally:
        lab_down(root)

    seq_1000 = per_cam * args.batch
    rows = [
        (f"batch (one async process, concurrency {args.concurrency})", args.batch, batch_s,
         batch_failed),
        (f"sequential, fresh client per camera (measured on {len(seq_plans)})", len(seq_plans),
         seq_s, seq_failed),
        (f"  … extrapolated to {args.batch}", args.batch, seq_1000, 0),
        (f"Ansible per host (playbooks/provision.yml, {len(names)} hosts)", len(names), ans_s,
         ans_failed),
    ]
    print(f"\n{'path':<58} {'cameras':>7} {'seconds':>8} {'cam/s':>7} {'failed':>6}")
    for label, n, s, f in rows:
        rate = n / s if s else 0.0
        print(f"{label:<58} {n:>7} {s:>8.1f} {rate:>7.1f} {f:>6}")
    print(f"\nbatch: {batch_changed}/{args.batch} changed, {batch_failed} failed; "
          f"target ≤ {TARGET_SECONDS:.0f} s: {'MET' if batch_s <= TARGET_SECONDS else 'MISSED'}")
    print(f"batch CPU: {batch_cpu:.1f} s in this process, {lab_cpu:.1f} s in the lab worker "
          f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall time on a "
          f"shared machine varies with load, CPU seconds do not)")
    if batch_s:
        print(f"speed-up vs sequential baseline: {seq_1000 / batch_s:.1f}x")
        if ans_s:
            print(f"speed-up vs Ansible per host:   {(ans_s / len(names)) * args.batch / batch_s:.1f}x "
                  f"(Ansible {len(names) / ans_s:.1f} hosts/s)")
    return 0 if batch_s <= TARGET_SECONDS and not batch_failed else 1


if __name__ == "__main__":
    sys.exit(main())
