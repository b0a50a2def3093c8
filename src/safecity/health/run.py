"""``safecity health run|report``: the command functions (the CLI and the Ansible module are thin
adapters over these). A run reads the inventory and the vault, sweeps, stores the night with its
roll-ups and events, prunes old nights and writes the reports."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from safecity.aio import run_async
from safecity.errors import SafecityError
from safecity.health.events import compare_nights
from safecity.health.history import HistoryStore, open_history, redact_url, store_night
from safecity.health.kpi import compute_rollups, find_rollup
from safecity.health.models import Rollup
from safecity.health.report_data import HealthReport, build_report
from safecity.health.report_html import render_html
from safecity.health.report_json import render_json
from safecity.health.report_junit import render_junit
from safecity.health.report_prometheus import render_prometheus
from safecity.health.sweep import (
    SweepOptions,
    SweepOutcome,
    VqdMemory,
    carry_rotation_findings,
    run_sweep,
)
from safecity.health.targets import Ports, plan_sweep, read_lab_ports, shard_scope
from safecity.inventory import load_valid_deployment
from safecity.inventory.plan import compute_plan, lock_path, read_lock
from safecity.inventory.resolve import read_lab_addresses
from safecity.vault import Secrets, read_vault

FORMATS = ("html", "json", "junit", "prometheus")
_SUFFIX = {"html": ".html", "json": ".json", "junit": ".junit.xml", "prometheus": ".prom"}
TREND_NIGHTS = 30


def default_history_url(deployment_root: Path) -> str:
    return f"sqlite:///{deployment_root.resolve() / '.health' / 'history.db'}"


@dataclass
class RunConfig:
    deployment_root: Path
    history_url: str | None = None
    out_dir: Path | None = None                 # reports go here (None: no files)
    formats: Sequence[str] = FORMATS
    lab: bool = False                           # use the running lab's addresses, ports and vault
    vault: Path | None = None
    vault_password_file: Path | None = None
    secrets: Secrets | None = None              # given directly (the Ansible module); else the vault
    regions: list[str] | None = None            # shard: only these regions (and below)
    exclude_regions: list[str] | None = None    # ... but not these (and below): the province's own shard
    write_history: bool = True                  # False: sweep and report, store nothing (check mode)
    night: str | None = None                    # YYYY-MM-DD; default today
    retention_nights: int = 400
    ports: Ports | None = None
    options: SweepOptions = field(default_factory=SweepOptions)
    progress: Callable[[int, int], None] | None = None    # (devices done, devices to probe)


@dataclass
class RunResult:
    report: HealthReport
    files: list[Path]
    timings: dict[str, float]
    store_seconds: float


def _secrets(cfg: RunConfig) -> Secrets:
    if cfg.secrets is not None:
        return cfg.secrets
    if cfg.vault and cfg.vault_password_file:
        return read_vault(cfg.vault, cfg.vault_password_file)
    if cfg.lab:
        lab = cfg.deployment_root.resolve() / ".lab"
        return read_vault(lab / "vault.yml", lab / "vault-pass")
    raise SafecityError("health run needs the vault: pass --vault and --vault-password-file (or --lab)")


async def sweep_deployment(cfg: RunConfig, store: HistoryStore | None) -> SweepOutcome:
    deployment, catalog = load_valid_deployment(cfg.deployment_root)
    plan, _ = compute_plan(deployment, read_lock(lock_path(deployment)))
    hdr = deployment.header
    ports = cfg.ports or Ports(hdr.http_port, hdr.rtsp_port, hdr.ssh_port)
    address_map = None
    if cfg.lab:
        address_map = read_lab_addresses(deployment.root)
        ports = cfg.ports or read_lab_ports(deployment.root, ports)
    targets = plan_sweep(deployment, plan, catalog, _secrets(cfg), ports=ports, regions=cfg.regions,
                         exclude_regions=cfg.exclude_regions, address_map=address_map)
    thumbs, bases = store.vqd_memory() if store is not None else ({}, {})
    scope = shard_scope(cfg.regions, cfg.exclude_regions)
    # The inventory and the targets (millions of objects at 100k devices) live through the
    # sweep: out of the collector's sight while it runs, so that collections triggered by the
    # results do not walk them again and again.
    gc.freeze()
    try:
        return await run_sweep(targets, cfg.options, memory=VqdMemory(thumbs, bases), night=cfg.night,
                               deployment=deployment.header.name, scope=scope, progress=cfg.progress)
    finally:
        gc.unfreeze()


def open_history_for(url: str, write: bool) -> HistoryStore | None:
    """The store, or — read-only (check mode) and no SQLite file yet — None: a check-mode run
    must not even create the database."""
    if not write and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return open_history(url)


def with_tonight(trend: Sequence[tuple[str, Rollup]], night: str,
                 rollups: Sequence[Rollup]) -> list[tuple[str, Rollup]]:
    """The stored trend with tonight's summary in place (tonight not stored: check mode)."""
    summary = find_rollup(rollups, "all", "all")
    kept = [(n, r) for n, r in trend if n < night]
    return (kept + ([(night, summary)] if summary else []))[-TREND_NIGHTS:]


def health_run(cfg: RunConfig) -> RunResult:
    """Sweep, store (unless ``write_history`` is False), report. Without history writes the
    night is compared with the stored previous night all the same, and the VQD memory (last
    thumbnails, baselines) is read but not updated."""
    import time

    store = open_history_for(cfg.history_url or default_history_url(cfg.deployment_root), cfg.write_history)
    try:
        outcome = run_async(sweep_deployment(cfg, store))
        t0 = time.perf_counter()
        night = outcome.night
        previous = store.previous_night(night.night, night.scope) if store is not None else None
        carry_rotation_findings(previous, night, cfg.options.probe.rotation_nights)
        rollups = compute_rollups(night)
        events = compare_nights(previous, night)
        trend: list[tuple[str, Rollup]] = []
        if store is not None and cfg.write_history:
            t_write = time.perf_counter()
            store_night(store, night, rollups, events, cfg.retention_nights)
            outcome.timings["history_write_s"] = time.perf_counter() - t_write
            store.save_vqd_memory(night.night, outcome.thumbnails, outcome.new_baselines)
            trend = store.trend("all", "all", TREND_NIGHTS, night.scope)
        elif store is not None:
            trend = with_tonight(store.trend("all", "all", TREND_NIGHTS, night.scope), night.night, rollups)
        store_seconds = time.perf_counter() - t0
        report = build_report(night, rollups, events, trend)
    finally:
        if store is not None:
            store.close()
    files = write_reports(report, cfg.out_dir, cfg.formats) if cfg.out_dir else []
    return RunResult(report, files, outcome.timings, store_seconds)


def load_report(history_url: str, night: str | None = None, scope: str = "all") -> HealthReport:
    store = open_history(history_url)
    try:
        n = store.load_night(night, scope)
        if n is None:
            raise SafecityError(f"no night {night or '(latest)'} of scope {scope} in {redact_url(history_url)}")
        return build_report(n, store.rollups(n.night, scope), store.events(n.night, scope),
                            store.trend("all", "all", TREND_NIGHTS, scope))
    finally:
        store.close()


def health_report(deployment_root: Path, out_dir: Path, *, history_url: str | None = None,
                  night: str | None = None, scope: str = "all",
                  formats: Sequence[str] = FORMATS) -> list[Path]:
    """Re-render the reports of a stored night (latest by default)."""
    return write_reports(load_report(history_url or default_history_url(deployment_root), night, scope),
                         out_dir, formats)


def write_reports(report: HealthReport, out_dir: Path, formats: Iterable[str] = FORMATS) -> list[Path]:
    renderers = {"html": render_html, "json": render_json, "junit": render_junit,
                 "prometheus": render_prometheus}
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for fmt in formats:
        if fmt not in renderers:
            raise SafecityError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")
        # The Prometheus textfile keeps one stable name: node_exporter reads the latest.
        name = "safecity_health.prom" if fmt == "prometheus" else f"health-{report.night.night}{_SUFFIX[fmt]}"
        path = out_dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(renderers[fmt](report), encoding="utf-8")
        tmp.replace(path)   # atomic: a dashboard never reads half a file
        files.append(path)
    return files
