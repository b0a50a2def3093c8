"""Self-contained HTML report: one file, no CDN, no script; charts are inline SVG drawn here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from safecity.health.models import Rollup
from safecity.health.report_data import HealthReport

_TEMPLATES = Path(__file__).parent / "templates"
_SERIES = (("online_rate", "#1f77b4", "online"), ("intact_rate", "#2ca02c", "intact"),
           ("time_sync_rate", "#ff7f0e", "time sync"), ("enrollment_rate", "#9467bd", "enrollment"))


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def trend_svg(trend: Sequence[tuple[str, Rollup]], width: int = 640, height: int = 200) -> Markup:
    """KPI lines over the nights (0–100 %)."""
    if not trend:
        return Markup("<p>No history yet.</p>")
    left, top, right, bottom = 40, 10, 10, 30
    w, h = width - left - right, height - top - bottom
    n = len(trend)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h * (1 - v)

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="KPI trend">'),
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>']
    for frac in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left - 4}" y="{y(frac) + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{int(frac * 100)}%</text>')
    for attr, colour, label in _SERIES:
        pts = [(x(i), y(v)) for i, (_, r) in enumerate(trend) if (v := getattr(r, attr)) is not None]
        if pts:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2">'
                         f'<title>{label}</title></polyline>')
    for i, (night, _) in enumerate(trend):
        if n <= 8 or i in (0, n - 1) or i % max(1, n // 6) == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" font-size="10" text-anchor="middle">'
                         f'{escape(night[5:])}</text>')
    for k, (_, colour, label) in enumerate(_SERIES):
        parts.append(f'<text x="{left + 90 * k}" y="{height - 1}" font-size="10" fill="{colour}">■ {label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def tier_svg(rows: Sequence[Rollup], width: int = 640) -> Markup:
    """Horizontal bars: intact and online rate per province/city/county."""
    rows = [r for r in rows if r.level in ("province", "city", "county")]
    if not rows:
        return Markup("")
    bar, gap, label_w = 12, 8, 180
    height = len(rows) * (2 * bar + gap) + 10
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="KPIs per tier">')]
    scale = width - label_w - 60
    for i, r in enumerate(rows):
        y0 = 5 + i * (2 * bar + gap)
        parts.append(f'<text x="0" y="{y0 + bar + 3}" font-size="11">{escape(r.level)} {escape(r.name)}</text>')
        for j, (value, colour) in enumerate(((r.online_rate, "#1f77b4"), (r.intact_rate, "#2ca02c"))):
            v = value or 0.0
            parts.append(f'<rect x="{label_w}" y="{y0 + j * bar}" width="{scale * v:.1f}" height="{bar - 2}" '
                         f'fill="{colour}"><title>{"online" if j == 0 else "intact"} {pct(value)}</title></rect>'
                         f'<text x="{label_w + scale * v + 4:.1f}" y="{y0 + j * bar + bar - 3}" font-size="10">'
                         f'{pct(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def render_html(report: HealthReport) -> str:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    tiers = report.tiers()
    return env.get_template("report.html.j2").render(
        night=report.night, summary=report.summary, events=report.events, faults=report.faults(),
        worst=report.worst_sites(), tiers=tiers, trend=report.trend, pct=pct,
        trend_svg=trend_svg(report.trend), tier_svg=tier_svg(tiers))
