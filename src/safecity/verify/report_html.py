"""The acceptance report as one self-contained, printable HTML file (no script, no CDN)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from safecity.verify.evidence import CheckName
from safecity.verify.report import AcceptanceReport

_TEMPLATES = Path(__file__).parent / "templates"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def short(value: Any, limit: int = 160) -> str:
    """Evidence values in one line (JSON), cut to ``limit`` characters."""
    if value is None or value == "":
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render_html(report: AcceptanceReport) -> str:
    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    env.filters["short"] = short
    data = report.to_dict()
    columns = [str(c) for c in CheckName]
    used = {c["name"] for d in data["devices"] for c in d["checks"]}
    return env.get_template("acceptance.html.j2").render(
        r=data, columns=[c for c in columns if c in used])


__all__ = ["render_html"]
