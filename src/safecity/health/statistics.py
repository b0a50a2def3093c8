"""The bimonthly statistics report (DOMAIN.md §1, §6): ``safecity health stats``.

From the inventory: devices per region (each region counts everything below it) — IP cameras,
encoders and their channels, alarm hosts and their alarm points, NVRs — and the key-place
installation rate per region and category (key places with at least one installed camera ÷
key places declared; target 90 %). From the history over the period (nights ``from``..``to``
of one scope, ``all`` by default — a whole sweep or the province's merge):

- enrollment rate (联网率) per region = devices registered on their tier platform on the last
  night of the period ÷ enrolling devices (IP cameras, encoders, alarm hosts) in the inventory;
  against a target (40 % by default). A kind the sweep has no probe for (alarm hosts today)
  is never seen registered, so it counts as not enrolled: the report says how many were checked.
- online rate = device-nights online ÷ device-nights checked over the period;
- intact rate (完好率) = video-device-nights intact ÷ video-device-nights.

JSON is the canonical form; HTML is one self-contained file (inline SVG, no script, no CDN).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from safecity.errors import SafecityError
from safecity.health.history import HistoryStore
from safecity.health.models import Rollup
from safecity.health.report_html import pct
from safecity.inventory.loader import Deployment, RegionNode
from safecity.inventory.models import AlarmHost, Encoder
from safecity.inventory.stats import KEY_PLACE_CATEGORIES

SCHEMA = "safecity.statistics/1"
ENROLLING_KINDS = ("ipc", "encoder", "alarm_host")
_TIER_ORDER = {"province": 0, "city": 1, "county": 2}
_TEMPLATES = Path(__file__).parent / "templates"


class StatisticsError(SafecityError):
    pass


@dataclass
class KeyPlaceCount:
    places: int = 0
    covered: int = 0

    @property
    def rate(self) -> float | None:
        return self.covered / self.places if self.places else None


@dataclass
class RegionFigures:
    code: str
    name: str
    tier: str
    devices: Counter[str] = field(default_factory=Counter)      # ipc, encoder, alarm_host, nvr
    encoder_channels: int = 0
    alarm_points: int = 0                                        # alarm inputs + outputs
    key_places: dict[str, KeyPlaceCount] = field(default_factory=dict)
    enrolling: int = 0                                           # in the inventory
    registered: int | None = None                                # last night of the period
    enrollment_checked: int | None = None                        # whose platform answered
    nights: int = 0
    device_nights: int = 0
    online_nights: int = 0
    video_nights: int = 0
    intact_nights: int = 0

    @property
    def video_channels(self) -> int:
        return self.devices["ipc"] + self.encoder_channels

    @property
    def key_place_total(self) -> KeyPlaceCount:
        return KeyPlaceCount(sum(k.places for k in self.key_places.values()),
                             sum(k.covered for k in self.key_places.values()))

    @property
    def enrollment_rate(self) -> float | None:
        return None if self.registered is None or not self.enrolling else self.registered / self.enrolling

    @property
    def online_rate(self) -> float | None:
        return self.online_nights / self.device_nights if self.device_nights else None

    @property
    def intact_rate(self) -> float | None:
        return self.intact_nights / self.video_nights if self.video_nights else None

    def as_dict(self) -> dict[str, Any]:
        kp = self.key_place_total
        return {
            "code": self.code, "name": self.name, "tier": self.tier,
            "devices": {k: self.devices[k] for k in ("ipc", "encoder", "alarm_host", "nvr")},
            "encoder_channels": self.encoder_channels, "video_channels": self.video_channels,
            "alarm_points": self.alarm_points,
            "key_places": {c: {"places": k.places, "covered": k.covered, "rate": k.rate}
                           for c, k in self.key_places.items()},
            "key_place_places": kp.places, "key_place_covered": kp.covered, "key_place_rate": kp.rate,
            "enrolling": self.enrolling, "registered": self.registered,
            "enrollment_checked": self.enrollment_checked, "enrollment_rate": self.enrollment_rate,
            "nights": self.nights, "device_nights": self.device_nights, "online_nights": self.online_nights,
            "online_rate": self.online_rate, "video_nights": self.video_nights,
            "intact_nights": self.intact_nights, "intact_rate": self.intact_rate,
        }


@dataclass
class StatisticsReport:
    deployment: str
    period_from: str
    period_to: str
    scope: str
    nights: list[str]
    enrollment_target: float
    key_place_target: float
    regions: list[RegionFigures]

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "deployment": self.deployment, "from": self.period_from,
                "to": self.period_to, "scope": self.scope, "nights": self.nights,
                "targets": {"enrollment_rate": self.enrollment_target, "key_place_rate": self.key_place_target},
                "regions": [r.as_dict() for r in self.regions]}


def _check_day(value: str, what: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as e:
        raise StatisticsError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from e


def _bump(node: RegionNode, figures: dict[str, RegionFigures], **counts: int) -> None:
    for n in node.lineage():
        f = figures[n.code]
        for key, value in counts.items():
            if key in ("ipc", "encoder", "alarm_host", "nvr"):
                f.devices[key] += value
            else:
                setattr(f, key, getattr(f, key) + value)


def inventory_figures(deployment: Deployment) -> dict[str, RegionFigures]:
    figures = {code: RegionFigures(code, node.region.name, node.region.tier)
               for code, node in deployment.regions.items()}
    for d in deployment.devices:
        dev = d.device
        if dev.status == "decommissioned" or d.kind not in ("ipc", "encoder", "alarm_host", "nvr"):
            continue
        counts = {d.kind: 1, "enrolling": int(d.kind in ENROLLING_KINDS)}
        if isinstance(dev, Encoder):
            counts["encoder_channels"] = len(dev.channels)
        if isinstance(dev, AlarmHost):
            counts["alarm_points"] = len(dev.inputs) + len(dev.outputs)
        _bump(d.site.region, figures, **counts)
    covered: dict[str, set[str]] = {}
    for d in deployment.devices:
        if d.device.key_place and d.device.status == "installed" and d.kind in ("ipc", "encoder"):
            covered.setdefault(d.site.name, set()).add(d.device.key_place)
    for s in deployment.sites:
        for kp in s.site.key_places:
            for n in s.region.lineage():
                per_category = figures[n.code].key_places
                for c in KEY_PLACE_CATEGORIES:
                    per_category.setdefault(c, KeyPlaceCount())
                k = per_category.setdefault(kp.category, KeyPlaceCount())
                k.places += 1
                k.covered += kp.name in covered.get(s.name, set())
    return figures


def compute_statistics(deployment: Deployment, store: HistoryStore | None, period_from: str, period_to: str, *,
                       scope: str = "all", enrollment_target: float = 0.40,
                       key_place_target: float = 0.90) -> StatisticsReport:
    start, end = _check_day(period_from, "--from"), _check_day(period_to, "--to")
    if start > end:
        raise StatisticsError(f"--from {start} is after --to {end}")
    figures = inventory_figures(deployment)
    nights = [n for n in (store.nights(scope) if store is not None else []) if start <= n <= end]
    if store is not None and nights:
        for f in figures.values():
            trend: list[tuple[str, Rollup]] = [
                (n, r) for n, r in store.trend(f.tier, f.code, len(store.nights(scope)), scope) if start <= n <= end]
            for _, r in trend:
                f.nights += 1
                f.device_nights += r.devices
                f.online_nights += r.online
                f.video_nights += r.video_devices
                f.intact_nights += r.intact
            last = [r for n, r in trend if n == nights[-1]]
            if last:
                f.registered, f.enrollment_checked = last[0].registered, last[0].enrollable
            else:
                f.registered, f.enrollment_checked = 0, 0
    regions = sorted(figures.values(), key=lambda f: (_TIER_ORDER.get(f.tier, 9), f.code))
    return StatisticsReport(deployment.header.name, start, end, scope, nights, enrollment_target,
                            key_place_target, regions)


def render_statistics_json(report: StatisticsReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1) + "\n"


def rate_bars_svg(rows: list[tuple[str, float | None]], target: float, width: int = 640) -> Markup:
    """Horizontal bars of one rate per region, with the target as a dashed line."""
    if not rows:
        return Markup("")
    bar, gap, label_w = 14, 6, 200
    scale = width - label_w - 60
    height = len(rows) * (bar + gap) + 16
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(rows):
        y = 4 + i * (bar + gap)
        v = value or 0.0
        colour = "#2ca02c" if value is not None and value >= target else "#d62728"
        parts.append(f'<text x="0" y="{y + bar - 3}" font-size="11">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{scale * min(v, 1.0):.1f}" height="{bar}" fill="{colour}">'
                     f'<title>{escape(label)} {pct(value)}</title></rect>'
                     f'<text x="{label_w + scale * min(v, 1.0) + 4:.1f}" y="{y + bar - 3}" font-size="10">{pct(value)}</text>')
    tx = label_w + scale * target
    parts.append(f'<line x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - 12}" stroke="#444" stroke-dasharray="4 3"/>'
                 f'<text x="{tx:.1f}" y="{height - 1}" font-size="10" text-anchor="middle">target {pct(target)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def render_statistics_html(report: StatisticsReport) -> str:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    labels = [(f"{r.tier} {r.name}", r) for r in report.regions]
    return env.get_template("statistics.html.j2").render(
        report=report, pct=pct, categories=KEY_PLACE_CATEGORIES,
        enrollment_svg=rate_bars_svg([(label, r.enrollment_rate) for label, r in labels], report.enrollment_target),
        key_place_svg=rate_bars_svg([(label, r.key_place_total.rate) for label, r in labels],
                                    report.key_place_target))


def write_statistics(report: StatisticsReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"statistics-{report.period_from}-{report.period_to}"
    files = []
    for suffix, text in ((".json", render_statistics_json(report)), (".html", render_statistics_html(report))):
        path = out_dir / f"{stem}{suffix}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        files.append(path)
    return files
