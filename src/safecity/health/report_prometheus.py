"""Prometheus textfile-collector format (node_exporter ``--collector.textfile.directory``):
the KPIs per region and tier, fault counts per code, and when the sweep ran. Per-device series
are left out on purpose: 100k cameras would be 100k series per metric."""

from __future__ import annotations

from collections import Counter

from safecity.health.report_data import HealthReport


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_prometheus(report: HealthReport) -> str:
    lines: list[str] = []
    rows = [r for r in report.rollups if r.kind == "*" and r.level != "site"]
    gauges = (("online_rate", "Share of checked devices that answered."),
              ("intact_rate", "Share of video devices with usable, fault-free video."),
              ("time_sync_rate", "Share of devices whose clock is within tolerance."),
              ("enrollment_rate", "Share of front-end devices registered on their tier platform."))
    for metric, help_text in gauges:
        name = f"safecity_health_{metric}"
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for r in rows:
            value = getattr(r, metric)
            if value is not None:
                lines.append(f'{name}{{level="{r.level}",region="{_esc(r.code)}",name="{_esc(r.name)}"}} {value:.6g}')
    lines += ["# HELP safecity_health_devices Devices checked tonight.", "# TYPE safecity_health_devices gauge"]
    lines += [f'safecity_health_devices{{level="{r.level}",region="{_esc(r.code)}"}} {r.devices}' for r in rows]
    counts = Counter(f.fault for f in report.faults())
    lines += ["# HELP safecity_health_faults Devices with each fault code tonight.",
              "# TYPE safecity_health_faults gauge"]
    lines += [f'safecity_health_faults{{fault="{_esc(code)}"}} {n}' for code, n in sorted(counts.items())]
    lines += ["# HELP safecity_health_sweep_seconds Duration of the last sweep.",
              "# TYPE safecity_health_sweep_seconds gauge",
              f"safecity_health_sweep_seconds {report.night.seconds:.3f}",
              "# HELP safecity_health_last_sweep_timestamp_seconds End of the last sweep.",
              "# TYPE safecity_health_last_sweep_timestamp_seconds gauge",
              f"safecity_health_last_sweep_timestamp_seconds {report.night.finished_at:.3f}"]
    return "\n".join(lines) + "\n"
