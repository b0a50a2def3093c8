"""One night of the whole network from the shards that swept it (``safecity health merge``).

The natural shards are the tiers (DOMAIN.md §8): each city's platform server sweeps its own
region and writes the canonical JSON report (``report_json``); the province fetches those files
and merges them here into one night — one result per device over the union, KPI roll-ups
station → county → city → province recomputed from the union (never averaged from the shards'
rates), and events against the province's previous merged night.

A merge is refused, naming the files, when the shards cannot be one night: different nights or
deployments, the same shard twice, a device in more than one shard (overlapping scopes), a
whole-network sweep mixed with shards, or a shard the caller expected that is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safecity.errors import SafecityError
from safecity.health.events import compare_nights
from safecity.health.history import store_night
from safecity.health.kpi import compute_rollups
from safecity.health.models import DeviceResult, Night, RegionInfo, Rollup
from safecity.health.report_data import SCHEMA, HealthReport, build_report
from safecity.health.run import TREND_NIGHTS, open_history_for, with_tonight, write_reports

MERGED_SCOPE = "all"


class MergeError(SafecityError):
    """The shards cannot be merged into one night; the message names the files."""


@dataclass(frozen=True)
class Shard:
    """One shard's night, read back from its canonical JSON report."""

    path: Path
    night: Night


def night_from_report(data: dict[str, Any], where: str) -> Night:
    """The ``Night`` a canonical JSON report (with its ``devices``) describes."""
    if data.get("schema") != SCHEMA:
        raise MergeError(f"{where}: not a safecity health report (schema {data.get('schema')!r}, "
                         f"expected {SCHEMA!r})")
    if "devices" not in data:
        raise MergeError(f"{where}: the report has no per-device results (written without devices?)")
    try:
        regions = [RegionInfo(str(r["code"]), str(r["name"]), str(r["tier"]),
                              None if r.get("parent") is None else str(r["parent"]))
                   for r in data["regions"]]
        results = [DeviceResult.from_dict(d) for d in data["devices"]]
        return Night(str(data["night"]), float(data["started_at"]), float(data["finished_at"]),
                     str(data["deployment"]), str(data["scope"]), regions, results)
    except (KeyError, TypeError, ValueError) as e:
        raise MergeError(f"{where}: malformed health report: {type(e).__name__}: {e}") from e


def read_shard(path: Path) -> Shard:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise MergeError(f"{path}: cannot read: {e.strerror or e}") from e
    except ValueError as e:
        raise MergeError(f"{path}: not JSON: {e}") from e
    if not isinstance(data, dict):
        raise MergeError(f"{path}: not a safecity health report (not a JSON object)")
    return Shard(path, night_from_report(data, str(path)))


def _merge_regions(shards: Sequence[Shard]) -> list[RegionInfo]:
    seen: dict[str, tuple[RegionInfo, Path]] = {}
    for s in shards:
        for r in s.night.regions:
            old = seen.get(r.code)
            if old is None:
                seen[r.code] = (r, s.path)
            elif old[0] != r:
                raise MergeError(f"{old[1]} and {s.path}: region {r.code} differs "
                                 f"({old[0].name}/{old[0].tier}/{old[0].parent} vs {r.name}/{r.tier}/{r.parent}): "
                                 "the shards were swept from different inventories")
    return [r for _, (r, _) in sorted(seen.items())]


def merge_shards(shards: Sequence[Shard], *, scope: str = MERGED_SCOPE,
                 expected: Iterable[str] | None = None) -> Night:
    """The union of ``shards`` as one night of ``scope``; raises ``MergeError`` if they are not
    one night's disjoint parts (or if a shard named in ``expected`` is missing)."""
    if not shards:
        raise MergeError("no shard reports to merge")
    first = shards[0]
    for s in shards[1:]:
        if s.night.night != first.night.night:
            raise MergeError(f"{first.path} and {s.path}: different nights ({first.night.night} vs "
                             f"{s.night.night}): a night is merged from that night's shards only")
        if s.night.deployment != first.night.deployment:
            raise MergeError(f"{first.path} and {s.path}: different deployments "
                             f"({first.night.deployment!r} vs {s.night.deployment!r})")
    by_scope: dict[str, Path] = {}
    for s in shards:
        if s.night.scope in by_scope:
            raise MergeError(f"{by_scope[s.night.scope]} and {s.path}: the same shard "
                             f"({s.night.scope}) twice")
        by_scope[s.night.scope] = s.path
    if len(shards) > 1 and "all" in by_scope:
        raise MergeError(f"{by_scope['all']}: a sweep of the whole network (scope all) cannot be "
                         "merged with shards: they overlap")
    if expected is not None:
        missing = sorted(set(expected) - set(by_scope))
        if missing:
            raise MergeError(f"missing shard(s): {', '.join(missing)} (got: {', '.join(sorted(by_scope))})")
    owner: dict[str, Path] = {}
    overlaps: dict[str, list[Path]] = {}
    results: list[DeviceResult] = []
    for s in shards:
        for r in s.night.results:
            if r.name in owner:
                overlaps.setdefault(r.name, [owner[r.name]]).append(s.path)
                continue
            owner[r.name] = s.path
            results.append(r)
    if overlaps:
        shown = "; ".join(f"{d} ({', '.join(str(p) for p in paths)})"
                          for d, paths in sorted(overlaps.items())[:10])
        more = f" and {len(overlaps) - 10} more" if len(overlaps) > 10 else ""
        raise MergeError(f"{len(overlaps)} device(s) in more than one shard — the shards overlap: "
                         f"{shown}{more}")
    results.sort(key=lambda r: r.name)
    return Night(first.night.night, min(s.night.started_at for s in shards),
                 max(s.night.finished_at for s in shards), first.night.deployment, scope,
                 _merge_regions(shards), results)


@dataclass
class MergeConfig:
    files: Sequence[Path]
    history_url: str | None = None          # the province's store; None: nothing stored
    out_dir: Path | None = None
    formats: Sequence[str] = ("html", "json", "junit", "prometheus")
    scope: str = MERGED_SCOPE
    expected: Sequence[str] | None = None
    write_history: bool = True              # False (check mode): compare and report, store nothing
    retention_nights: int = 400


@dataclass
class MergeResult:
    report: HealthReport
    shards: list[str]                       # the scopes merged
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def health_merge(cfg: MergeConfig) -> MergeResult:
    """Read the shard reports, merge, compare with the previous merged night, store, report."""
    t0 = time.perf_counter()
    shards = [read_shard(Path(f)) for f in cfg.files]
    night = merge_shards(shards, scope=cfg.scope, expected=cfg.expected)
    rollups = compute_rollups(night)
    store = open_history_for(cfg.history_url, cfg.write_history) if cfg.history_url else None
    try:
        previous = store.previous_night(night.night, night.scope) if store is not None else None
        events = compare_nights(previous, night)
        trend: list[tuple[str, Rollup]] = []
        if store is not None and cfg.write_history:
            store_night(store, night, rollups, events, cfg.retention_nights)
            trend = store.trend("all", "all", TREND_NIGHTS, night.scope)
        elif store is not None:
            trend = with_tonight(store.trend("all", "all", TREND_NIGHTS, night.scope), night.night, rollups)
    finally:
        if store is not None:
            store.close()
    report = build_report(night, rollups, events, trend)
    files = write_reports(report, cfg.out_dir, cfg.formats) if cfg.out_dir else []
    return MergeResult(report, sorted(s.night.scope for s in shards), files, time.perf_counter() - t0)
