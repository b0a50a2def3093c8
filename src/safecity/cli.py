"""The ``safecity`` command. Thin: parses arguments, calls the core, prints, sets the exit status."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from rich.console import Console
from rich.table import Table

from safecity.errors import SafecityError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False)
inventory_app = typer.Typer(no_args_is_help=True, help="Validate, plan, import and count the inventory.")
app.add_typer(inventory_app, name="inventory")
lab_app = typer.Typer(no_args_is_help=True, help="The virtual device lab on 127.0.0.0/8.")
app.add_typer(lab_app, name="lab")

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    human = "human"
    json = "json"


def default_deployment() -> Path:
    env = os.environ.get("SAFECITY_DEPLOYMENT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "inventory" / "example"


DeploymentArg = Annotated[Optional[Path], typer.Argument(
    help="Deployment directory (default: $SAFECITY_DEPLOYMENT or the embedded inventory/example).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="human or json")]


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@inventory_app.command("validate")
def inventory_validate(deployment: DeploymentArg = None, format: FormatOpt = Format.human) -> None:
    """Check every inventory file; report every problem with file:line and item. Exit 1 if any."""
    from safecity.inventory import check_deployment

    root = deployment or default_deployment()
    checked = check_deployment(root)
    d = checked.deployment
    if format is Format.json:
        _print_json({"deployment": str(root), "ok": checked.ok,
                     "problems": [p.as_dict() for p in checked.problems],
                     "counts": {"files": len(d.files), "sites": len(d.sites), "devices": len(d.devices),
                                "switches": len(d.switches), "platform_servers": len(d.platform_servers)} if d else {}})
    else:
        for p in checked.problems:
            err_console.print(str(p), markup=False)
        if checked.ok and d is not None:
            console.print(f"{root}: OK — {len(d.files)} files, {len(d.regions)} regions, {len(d.sites)} sites, "
                          f"{len(d.devices)} front-end devices, {len(d.switches)} switches, "
                          f"{len(d.platform_servers)} platform servers")
        else:
            err_console.print(f"{root}: {len(checked.problems)} problem(s); nothing was changed")
    raise typer.Exit(0 if checked.ok else 1)


@inventory_app.command("plan")
def inventory_plan(deployment: DeploymentArg = None, format: FormatOpt = Format.human,
                   write: Annotated[bool, typer.Option("--write", help="Persist to plan.lock.json")] = False) -> None:
    """Allocate addresses and GB/T 28181 IDs; show what would change against plan.lock.json."""
    from safecity.inventory import load_valid_deployment
    from safecity.inventory.plan import compute_plan, lock_path, read_lock, write_lock

    root = deployment or default_deployment()
    dep, _catalog = load_valid_deployment(root)
    path = lock_path(dep)
    previous = read_lock(path)
    plan, changes = compute_plan(dep, previous)
    if write and changes:
        write_lock(path, plan)
    if format is Format.json:
        _print_json({"lock": str(path), "written": bool(write and changes),
                     "changes": [{"action": c.action, "what": c.what, "key": c.key, "old": c.old, "new": c.new}
                                 for c in changes],
                     "assigned": {"ips": len(plan.ips), "gb_ids": len(plan.gb_ids)}})
        return
    for c in changes[:200]:
        console.print(str(c), markup=False)
    if len(changes) > 200:
        console.print(f"... and {len(changes) - 200} more")
    verb = "written to" if write and changes else "would change" if changes else "matches"
    console.print(f"plan: {len(plan.ips)} addresses, {len(plan.gb_ids)} GB IDs allocated; "
                  f"{len(changes)} change(s) {verb} {path}" if changes else f"plan: no change; {path} is up to date")


@inventory_app.command("stats")
def inventory_stats(deployment: DeploymentArg = None, format: FormatOpt = Format.human) -> None:
    """Devices by kind per region and tier, cameras per site, key-place coverage."""
    from safecity.inventory import load_valid_deployment
    from safecity.inventory.stats import compute_stats

    root = deployment or default_deployment()
    dep, _ = load_valid_deployment(root)
    stats = compute_stats(dep)
    if format is Format.json:
        _print_json(stats.as_dict())
        return
    kinds = ["ipc", "encoder", "alarm_host", "nvr", "switch", "platform_server"]
    t = Table(title=f"Devices by region — {dep.header.title or dep.header.name}")
    t.add_column("region")
    t.add_column("tier")
    for k in kinds:
        t.add_column(k, justify="right")
    t.add_column("video channels", justify="right")
    for r in stats.regions:
        indent = {"province": "", "city": "  ", "county": "    "}[r.tier]
        t.add_row(f"{indent}{r.name} ({r.code})", r.tier, *[str(r.devices.get(k, 0)) for k in kinds], str(r.video_channels))
    console.print(t)
    st = Table(title="Cameras per site")
    for col in ("site", "region", "type", "video channels", "devices"):
        st.add_column(col, justify="right" if col in ("video channels", "devices") else "left")
    for s in stats.sites:
        st.add_row(str(s["site"]), str(s["region"]), str(s["type"]), str(s["cameras"]), str(s["devices"]))
    console.print(st)
    kt = Table(title="Key places (installation rate = places with an installed camera / places)")
    for col in ("category", "places", "covered", "rate"):
        kt.add_column(col, justify="left" if col == "category" else "right")
    for kp in stats.key_places:
        rate = f"{kp.installation_rate:.0%}" if kp.installation_rate is not None else "—"
        kt.add_row(kp.category, str(kp.places), str(kp.covered), rate)
    console.print(kt)
    console.print("Video channels by category: " + ", ".join(f"{c} {n}" for c, n in stats.categories.items()))


@inventory_app.command("import")
def inventory_import(
    points: Annotated[Path, typer.Argument(help="Point list (点位表): .csv or .xlsx")],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="Column mapping (YAML)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Inventory YAML to write (only if no problems)")],
    format: FormatOpt = Format.human,
) -> None:
    """Import an integrator's point list into inventory YAML. Row-numbered problems; exit 1 and write nothing if any."""
    from safecity.inventory.pointlist import import_to_file
    from safecity.inventory.profiles import load_profiles

    result = import_to_file(points, mapping, out, load_profiles())
    if format is Format.json:
        _print_json({**result.as_dict(), "out": str(out) if result.ok else None})
    else:
        for p in result.problems:
            err_console.print(str(p), markup=False)
        if result.ok:
            kinds = ", ".join(f"{n} {k}" for k, n in result.counts.items() if n)
            console.print(f"{out}: {result.rows} rows imported ({kinds}) into {len(result.sites)} site(s)", markup=False)
        else:
            err_console.print(f"{points}: {len(result.problems)} problem(s); nothing was written", markup=False)
    raise typer.Exit(0 if result.ok else 1)


@inventory_app.command("generate")
def inventory_generate(
    out_dir: Annotated[Path, typer.Argument(help="New (or empty) directory for the deployment")],
    cameras: Annotated[int, typer.Option("--cameras", min=1, help="IP cameras in the province")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files")] = 1,
    cities: Annotated[Optional[int], typer.Option("--cities", min=1, max=99, help="Default: ~1 per 37,000 cameras")] = None,
    format: FormatOpt = Format.human,
) -> None:
    """Write a synthetic province that validates (benchmarks, scale tests): ~100 devices per station."""
    from safecity.inventory.synth import generate_deployment

    summary = generate_deployment(out_dir, cameras, seed=seed, cities=cities)
    if format is Format.json:
        _print_json(summary.as_dict())
        return
    console.print(f"{out_dir}: {summary.devices} front-end devices ({summary.cameras} cameras, {summary.encoders} encoders, "
                  f"{summary.alarm_hosts} alarm hosts, {summary.nvrs} NVRs), {summary.switches} switches, "
                  f"{summary.sites} sites, {summary.regions} regions in {summary.files} files", markup=False)


@app.command("provision-switches")
def provision_switches_cmd(
        deployment: DeploymentArg = None,
        region: Annotated[Optional[list[str]], typer.Option("--region", help="region code (repeatable)")] = None,
        site: Annotated[Optional[list[str]], typer.Option("--site", help="site name (repeatable)")] = None,
        check: Annotated[bool, typer.Option("--check", help="show what would be pushed; push nothing")] = False,
        concurrency: Annotated[int, typer.Option(min=1, help="switches in flight at once")] = 32,
        username: Annotated[str, typer.Option(help="SSH user of the switches")] = "admin",
        results: Annotated[Optional[Path], typer.Option(help="JSON results file")] = None,
        lab: Annotated[bool, typer.Option("--lab", help="the deployment's lab (.lab/ addresses and vault)")] = False,
        vault: Annotated[Optional[Path], typer.Option(help="vault file (not with --lab)")] = None,
        vault_password_file: Annotated[Optional[Path], typer.Option()] = None) -> None:
    """Access switches of a region/site to their rendered intent: diff, push, verify, save (or roll back)."""
    from safecity.provision.batch import read_secrets
    from safecity.provision.switch_fleet import lab_ssh_port, load_switch_fleet, provision_switch_fleet

    root = (deployment or default_deployment()).resolve()
    fleet = load_switch_fleet(root, regions=region, sites=site, lab=lab)
    secrets = read_secrets(root, lab=lab, vault=vault, vault_password_file=vault_password_file)
    report = provision_switch_fleet(fleet, secrets, username=username, check_mode=check, concurrency=concurrency,
                                    port=lab_ssh_port(root) if lab else 22)
    t = Table(title=f"switches: {len(report.results)} in {report.seconds:.1f} s" + (" (check mode)" if check else ""))
    for col in ("switch", "result", "changes", "detail"):
        t.add_column(col)
    for r in sorted(report.results, key=lambda r: r.device):
        state = "FAILED" if r.failed else "changed" if r.changed else "ok"
        detail = str(r.error) if r.failed else "; ".join(str(w) for w in getattr(r, "warnings", []) or [])
        t.add_row(r.device, state, str(len(r.diff)), detail)
    console.print(t)
    if results:
        results.write_text(json.dumps([r.to_dict() for r in report.results], indent=1, default=str) + "\n")
    raise typer.Exit(1 if report.failed else 0)


class LabState(str, Enum):
    factory = "factory"
    provisioned = "provisioned"


@lab_app.command("up")
def lab_up_cmd(deployment: DeploymentArg = None,
               state: Annotated[LabState, typer.Option(help="factory: devices from the box; "
                                                        "provisioned: already at the inventory's state")] = LabState.factory,
               http_port: Annotated[Optional[int], typer.Option(help="override the deployment's HTTP port")] = None,
               rtsp_port: Annotated[Optional[int], typer.Option()] = None,
               ssh_port: Annotated[Optional[int], typer.Option()] = None,
               address_offset: Annotated[int, typer.Option(
                   help="shift the second octet of lab addresses (run two labs of one deployment)")] = 0,
               fault: Annotated[Optional[list[str]], typer.Option(
                   "--fault", help="DEVICE=FAULT[:VALUE], injected as soon as the lab is up (repeatable)")] = None,
               scenes: Annotated[Optional[int], typer.Option(
                   help="distinct snapshot scenes (0: one per camera; default: one per camera up to "
                        "1,000 devices, else 32 shared)")] = None,
               heartbeat: Annotated[int, typer.Option(
                   help="GB/T 28181 keepalive interval (s) of devices that start provisioned")] = 60) -> None:
    """Start simulated devices for every device of the deployment, each on its own 127.x address."""
    from safecity.lab.control import lab_up

    root = deployment or default_deployment()
    faults: list[tuple[str, str, str | None]] = []
    for spec in fault or []:
        device, sep, what = spec.partition("=")
        if not sep or not device or not what:
            raise typer.BadParameter(f"--fault {spec!r}: expected DEVICE=FAULT[:VALUE]")
        name, _, value = what.partition(":")
        faults.append((device, name, value or None))
    res = lab_up(root, state=state.value, http_port=http_port, rtsp_port=rtsp_port, ssh_port=ssh_port,
                 address_offset=address_offset, scene_pool=scenes, heartbeat_s=heartbeat)
    from safecity.lab.control import lab_fault

    for device, fault_name, fault_value in faults:
        lab_fault(root, device, fault_name, fault_value)
        console.print(f"{device}: fault {fault_name}{f' {fault_value}' if fault_value else ''} set")
    console.print(f"lab up: {res.devices} devices in {res.workers} worker process(es) in {res.seconds:.1f} s; "
                  f"addresses in {res.paths.addresses}, lab vault in {res.paths.vault}")


@lab_app.command("down")
def lab_down_cmd(deployment: DeploymentArg = None) -> None:
    """Stop the lab's worker processes (device state is kept under .lab/state)."""
    from safecity.lab.control import lab_down

    n = lab_down(deployment or default_deployment())
    console.print(f"lab down: stopped {n} worker process(es)")


@lab_app.command("status")
def lab_status_cmd(deployment: DeploymentArg = None, format: FormatOpt = Format.human) -> None:
    """Every lab device: kind, real and loopback address, state, faults."""
    from safecity.lab.control import lab_status

    rows = lab_status(deployment or default_deployment())
    if format is Format.json:
        _print_json(rows)
        return
    t = Table(title=f"lab: {len(rows)} devices")
    for col in ("name", "kind", "real ip", "lab ip", "ports", "faults"):
        t.add_column(col)
    for r in sorted(rows, key=lambda r: (r["kind"], r["name"])):
        faults = r.get("faults") or {}
        t.add_row(r["name"], r["kind"], r["real_ip"], r["lab_ip"],
                  ",".join(f"{k}:{v}" for k, v in r["ports"].items()),
                  ",".join(f"{k}={v}" if v not in (None, True) else k for k, v in dict(faults).items()) if faults else "")
    console.print(t)


@lab_app.command("fault")
def lab_fault_cmd(device: Annotated[str, typer.Argument(help="device name")],
                  fault: Annotated[Optional[str], typer.Argument(
                      help="offline, slow, drop, wrong_credentials, also_accepts, clock_skew, stuck_after_reboot, reject, "
                           "network_change_lost, legacy_ssh, down (platform), or an image fault: black, blurred, "
                           "dark, ...")] = None,
                  value: Annotated[Optional[str], typer.Argument(help="fault parameter (seconds, count, text)")] = None,
                  clear: Annotated[bool, typer.Option("--clear", help="clear every fault of the device")] = False,
                  deployment: Annotated[Optional[Path], typer.Option("--deployment", "-d")] = None) -> None:
    """Inject a fault into one lab device at runtime (or --clear it)."""
    from safecity.lab.control import lab_fault

    if not clear and not fault:
        raise typer.BadParameter("give a fault name, or --clear")
    lab_fault(deployment or default_deployment(), device, None if clear else fault, value)
    console.print(f"{device}: {'faults cleared' if clear else f'fault {fault} set'}")


@lab_app.command("plug")
def lab_plug_cmd(device: Annotated[str, typer.Argument(help="a staging device (staging: true)")],
                 unplug: Annotated[bool, typer.Option("--unplug", help="take it off the staging port")] = False,
                 deployment: Annotated[Optional[Path], typer.Option("--deployment", "-d")] = None) -> None:
    """Plug a factory-new staging box into the lab's staging port (its vendor's default IP), or --unplug it."""
    from safecity.lab.control import lab_plug

    lab_plug(deployment or default_deployment(), device, plugged=not unplug)
    console.print(f"{device}: {'unplugged' if unplug else 'plugged into the staging port'}")


@app.command("provision")
def provision_cmd(deployment: DeploymentArg = None,
                  region: Annotated[Optional[list[str]], typer.Option("--region", help="region code (repeatable)")] = None,
                  site: Annotated[Optional[list[str]], typer.Option("--site", help="site name (repeatable)")] = None,
                  check: Annotated[bool, typer.Option("--check", help="report what would change; touch nothing")] = False,
                  concurrency: Annotated[int, typer.Option(min=1, help="devices in flight at once")] = 50,
                  results: Annotated[Optional[Path], typer.Option(help="JSON results file")] = None,
                  lab: Annotated[bool, typer.Option("--lab", help="the deployment's lab (.lab/ addresses and vault)")] = False,
                  vault: Annotated[Optional[Path], typer.Option(help="vault file (not with --lab)")] = None,
                  vault_password_file: Annotated[Optional[Path], typer.Option()] = None,
                  staging: Annotated[bool, typer.Option(
                      "--staging", help="onboard the staging: true devices one at a time on the staging port "
                                        "(docs/staging.md)")] = False,
                  yes: Annotated[bool, typer.Option(
                      "--yes", help="with --staging: no prompts, wait for each box on the staging address")] = False,
                  staging_wait: Annotated[Optional[float], typer.Option(
                      help="with --staging: seconds to wait for a box to answer / leave (300; lab 30)")] = None,
                  move_timeout: Annotated[float, typer.Option(
                      help="with --staging: seconds for a moved device to answer at its planned address")] = 30.0) -> None:
    """Cameras and encoders of a region/site to their desired state, concurrently (batch path)."""
    from safecity.provision.batch import run_provision

    if staging:
        from safecity.provision.staging import run_staging

        raise typer.Exit(run_staging(deployment or default_deployment(), regions=region, sites=site, check=check,
                                     lab=lab, prompt=not yes, results=results, vault=vault,
                                     vault_password_file=vault_password_file, wait_s=staging_wait,
                                     move_timeout=move_timeout))
    raise typer.Exit(run_provision(deployment or default_deployment(), regions=region, sites=site, check=check,
                                   concurrency=concurrency, results=results, lab=lab, vault=vault,
                                   vault_password_file=vault_password_file))


health_app = typer.Typer(no_args_is_help=True, help="Nightly health check: sweep, history, reports.")
app.add_typer(health_app, name="health")


@health_app.command("run")
def health_run_cmd(deployment: DeploymentArg = None,
                   out: Annotated[Path, typer.Option("--out", help="report directory")] = Path("health-reports"),
                   history: Annotated[Optional[str], typer.Option(help="sqlite:///path (default <deployment>/.health/history.db)")] = None,
                   lab: Annotated[bool, typer.Option("--lab", help="sweep the running lab")] = False,
                   vault: Annotated[Optional[Path], typer.Option()] = None,
                   vault_password_file: Annotated[Optional[Path], typer.Option()] = None,
                   region: Annotated[Optional[list[str]], typer.Option(help="shard: only these regions")] = None,
                   exclude_region: Annotated[Optional[list[str]], typer.Option(help="shard: not these regions (the province's own shard)")] = None,
                   night: Annotated[Optional[str], typer.Option(help="YYYY-MM-DD the sweep is stored as (default today)")] = None,
                   rtsp: Annotated[bool, typer.Option("--rtsp/--no-rtsp")] = True,
                   snapshot_stream: Annotated[str, typer.Option(
                       help="picture the VQD analyses: sub (the sub stream's where the vendor has one; the "
                            "main one at full size on each camera's rotation night) or main")] = "sub",
                   check: Annotated[bool, typer.Option("--check", help="sweep and report; store nothing in the history")] = False,
                   fail_on_faults: Annotated[bool, typer.Option("--fail-on-faults/--no-fail-on-faults", help="exit 1 when any device has a fault")] = True,
                   rebaseline: Annotated[bool, typer.Option(help="re-record every camera's VQD baseline")] = False) -> None:
    """Sweep every device of the deployment (or of a shard), store the night, write the reports."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from safecity.health.probes import ProbeOptions
    from safecity.health.run import RunConfig, health_run
    from safecity.health.sweep import SweepOptions
    err = Console(stderr=True)
    bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    task = bar.add_task("sweep", total=None)
    with bar:
        r = health_run(RunConfig(deployment or default_deployment(), history, out, lab=lab, vault=vault,
                                 vault_password_file=vault_password_file, regions=region,
                                 exclude_regions=exclude_region, night=night, write_history=not check,
                                 options=SweepOptions(ProbeOptions(rtsp=rtsp, snapshot_stream=_stream(snapshot_stream)),
                                                      rebaseline=rebaseline),
                                 progress=lambda done, total: bar.update(task, completed=done, total=total)))
    s = r.report.summary
    typer.echo(f"health {r.report.night.night} ({r.report.night.scope}): {s.devices if s else 0} devices, "
               f"{len(r.report.faults())} faults, {len(r.report.events)} events; "
               f"reports: {', '.join(str(f) for f in r.files)}")
    raise typer.Exit(1 if r.report.faults() and fail_on_faults else 0)


def _stream(value: str) -> Literal["sub", "main"]:
    if value not in ("sub", "main"):
        raise typer.BadParameter(f"--snapshot-stream: {value!r} is neither sub nor main")
    return "sub" if value == "sub" else "main"


@health_app.command("merge")
def health_merge_cmd(files: Annotated[list[Path], typer.Argument(help="the shards' JSON reports (health-<night>.json)")],
                     out: Annotated[Path, typer.Option("--out", help="report directory")] = Path("health-reports"),
                     history: Annotated[Optional[str], typer.Option(help="the merged nights' store: sqlite:///path")] = None,
                     deployment: Annotated[Optional[Path], typer.Option(help="store in <deployment>/.health/history.db (when --history is not given)")] = None,
                     scope: Annotated[str, typer.Option(help="name of the merged night")] = "all",
                     expect: Annotated[Optional[list[str]], typer.Option(help="shard scope that must be present (repeatable)")] = None,
                     check: Annotated[bool, typer.Option("--check", help="merge and report; store nothing")] = False) -> None:
    """One night of the whole network from the shards' reports: KPIs over the union, events vs the previous merged night."""
    from safecity.health.merge import MergeConfig, health_merge
    from safecity.health.run import default_history_url
    url = history or default_history_url(deployment or default_deployment())
    r = health_merge(MergeConfig(files, url, out, scope=scope, expected=expect, write_history=not check))
    s = r.report.summary
    typer.echo(f"health {r.report.night.night} ({r.report.night.scope}) merged from {len(r.shards)} shard(s) "
               f"[{'; '.join(r.shards)}]: {s.devices if s else 0} devices, {len(r.report.faults())} faults, "
               f"{len(r.report.events)} events; reports: {', '.join(str(f) for f in r.files)}")


@health_app.command("stats")
def health_stats_cmd(deployment: DeploymentArg = None,
                     period_from: Annotated[str, typer.Option("--from", help="first night of the period (YYYY-MM-DD)")] = "",
                     period_to: Annotated[str, typer.Option("--to", help="last night of the period (YYYY-MM-DD)")] = "",
                     out: Annotated[Path, typer.Option("--out", help="report directory")] = Path("health-reports"),
                     history: Annotated[Optional[str], typer.Option(help="sqlite:///path (default <deployment>/.health/history.db)")] = None,
                     scope: Annotated[str, typer.Option(help="history scope: all (whole sweep or merge) or a shard")] = "all",
                     enrollment_target: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.40,
                     key_place_target: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.90) -> None:
    """The bimonthly statistics report: devices per region, enrollment and key-place installation
    rates against targets, online and intact rates over the period (HTML + JSON)."""
    from safecity.health.run import default_history_url, open_history_for
    from safecity.health.statistics import StatisticsError, compute_statistics, write_statistics
    from safecity.inventory import load_valid_deployment

    if not period_from or not period_to:
        raise StatisticsError("give the period: --from YYYY-MM-DD --to YYYY-MM-DD")
    root = deployment or default_deployment()
    dep, _ = load_valid_deployment(root)
    store = open_history_for(history or default_history_url(root), write=False)
    try:
        report = compute_statistics(dep, store, period_from, period_to, scope=scope,
                                    enrollment_target=enrollment_target, key_place_target=key_place_target)
    finally:
        if store is not None:
            store.close()
    top = report.regions[0] if report.regions else None
    if top is not None:
        typer.echo(f"{top.name}: {top.devices['ipc']} IP cameras, {top.video_channels} video channels, "
                   f"{top.alarm_points} alarm points; enrollment {_pct(top.enrollment_rate)}, key places "
                   f"{_pct(top.key_place_total.rate)}, online {_pct(top.online_rate)}, intact {_pct(top.intact_rate)} "
                   f"over {len(report.nights)} night(s)")
    for f in write_statistics(report, out):
        typer.echo(str(f))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


@health_app.command("report")
def health_report_cmd(deployment: DeploymentArg = None, night: Annotated[Optional[str], typer.Option()] = None,
                      out: Annotated[Path, typer.Option("--out")] = Path("health-reports"),
                      history: Annotated[Optional[str], typer.Option()] = None) -> None:
    from safecity.health.run import health_report
    for f in health_report(deployment or default_deployment(), out, history_url=history, night=night):
        typer.echo(str(f))


# --- enroll / verify (safecity.enroll, safecity.verify) -----------------------------------------
@app.command("enroll")
def enroll_cmd(deployment: DeploymentArg = None,
               region: Annotated[Optional[list[str]], typer.Option("--region", help="region code (repeatable)")] = None,
               site: Annotated[Optional[list[str]], typer.Option("--site", help="site name (repeatable)")] = None,
               check: Annotated[bool, typer.Option("--check", help="report what would change; touch nothing")] = False,
               lab: Annotated[bool, typer.Option("--lab", help="the deployment's lab (.lab/ addresses and vault)")] = False,
               concurrency: Annotated[int, typer.Option(min=1, help="devices in flight at once")] = 100,
               wait: Annotated[float, typer.Option(help="seconds to wait for each device to be online")] = 30.0,
               results: Annotated[Optional[Path], typer.Option(help="JSON results file")] = None,
               vault: Annotated[Optional[Path], typer.Option(help="vault file (not with --lab)")] = None,
               vault_password_file: Annotated[Optional[Path], typer.Option()] = None) -> None:
    """Push each device's GB/T 28181 platform access and wait until its tier platform lists it online."""
    from safecity.enroll.batch import run_enroll

    raise typer.Exit(run_enroll(deployment or default_deployment(), regions=region, sites=site, check=check,
                                lab=lab, concurrency=concurrency, wait_timeout=wait, results=results,
                                vault=vault, vault_password_file=vault_password_file))


class VerifyFormat(str, Enum):
    both = "both"
    html = "html"
    json = "json"


@app.command("verify")
def verify_cmd(deployment: DeploymentArg = None,
               region: Annotated[Optional[list[str]], typer.Option("--region", help="region code (repeatable)")] = None,
               site: Annotated[Optional[list[str]], typer.Option("--site", help="site name (repeatable)")] = None,
               lab: Annotated[bool, typer.Option("--lab", help="the deployment's lab (.lab/ addresses and vault)")] = False,
               out: Annotated[Optional[Path], typer.Option("--out", help="report directory (default <deployment>/results/acceptance)")] = None,
               format: Annotated[VerifyFormat, typer.Option("--format", help="both, html or json")] = VerifyFormat.both,
               concurrency: Annotated[int, typer.Option(min=1, help="devices in flight at once")] = 32,
               sip_local_host: Annotated[str, typer.Option(help="this host's address for GB/T 28181 Catalog queries")] = "127.0.0.1",
               vault: Annotated[Optional[Path], typer.Option(help="vault file (not with --lab)")] = None,
               vault_password_file: Annotated[Optional[Path], typer.Option()] = None) -> None:
    """Acceptance: every check per device with evidence; HTML + JSON report. Exit 1 unless accepted."""
    from safecity.verify.platform_checks import PlatformCheckOptions
    from safecity.verify.command import run_verify
    from safecity.verify.runner import VerifyOptions

    formats = ("html", "json") if format is VerifyFormat.both else (format.value,)
    options = VerifyOptions(concurrency=concurrency, platform=PlatformCheckOptions(sip_local_host=sip_local_host))
    raise typer.Exit(run_verify(deployment or default_deployment(), regions=region, sites=site, lab=lab, out=out,
                                formats=formats, vault=vault, vault_password_file=vault_password_file,
                                options=options))


def main() -> None:
    try:
        app()
    except SafecityError as e:
        from safecity.errors import InventoryError

        if isinstance(e, InventoryError):
            for p in e.problems:
                err_console.print(str(p), markup=False)
            err_console.print(f"{len(e.problems)} inventory problem(s); nothing was touched")
        else:
            err_console.print(f"error: {e}", markup=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
