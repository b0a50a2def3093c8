"""``safecity verify``: read the inventory and vault, run every check, write the reports, print
the summary and the failed checks. The Ansible module ``verify_batch`` runs the same steps."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from safecity.enroll.fleet import FleetView, load_fleet_view, read_fleet_secrets
from safecity.verify.report import AcceptanceReport, write_reports
from safecity.verify.runner import VerifyOptions, run_verification

DEFAULT_OUT = Path("results") / "acceptance"


def verify_scope(deployment: Path, *, regions: Sequence[str] | None = None,
                 sites: Sequence[str] | None = None, lab: bool = False,
                 vault: Path | None = None, vault_password_file: Path | None = None,
                 options: VerifyOptions | None = None,
                 devices: Sequence[str] | None = None) -> AcceptanceReport:
    root = deployment.resolve()
    view = load_fleet_view(root, regions=regions, sites=sites, lab=lab)
    if devices is not None:
        view = limit_view(view, devices)
    secrets = read_fleet_secrets(root, lab=lab, vault=vault, vault_password_file=vault_password_file)
    return asyncio.run(run_verification(view, secrets, regions=regions, sites=sites,
                                        options=options or VerifyOptions()))


def run_verify(deployment: Path, *, regions: Sequence[str] | None = None,
               sites: Sequence[str] | None = None, lab: bool = False, out: Path | None = None,
               formats: Sequence[str] = ("html", "json"), vault: Path | None = None,
               vault_password_file: Path | None = None,
               options: VerifyOptions | None = None) -> int:
    """Exit status 0 when accepted (no failed or blocked check), else 1."""
    from rich.console import Console

    con = Console(highlight=False, soft_wrap=True)
    report = verify_scope(deployment, regions=regions, sites=sites, lab=lab, vault=vault,
                          vault_password_file=vault_password_file, options=options)
    files = write_reports(report, out or deployment.resolve() / DEFAULT_OUT, formats)
    t = report.totals()
    for device, check, detail in report.failures:
        con.print(f"FAILED {device}: {check}: {detail}", markup=False)
    blocked = [v.device for v in report.verdicts if str(v.status) == "blocked"]
    if blocked:
        con.print(f"blocked (a check they depend on failed elsewhere): {', '.join(blocked)}",
                  markup=False)

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x * 100:.1f} %"

    con.print(f"acceptance {'PASSED' if report.passed else 'NOT PASSED'}: {t.devices} front-end "
              f"device(s), {t.verifiable} verifiable here, {t.verified} verified ({pct(t.verified_rate)}), "
              f"{t.enrolled} enrolled ({pct(t.enrollment_rate)}), {t.failed} failed, "
              f"{t.not_verifiable} not verifiable here; {len(report.verdicts)} host(s) in "
              f"{report.seconds:.1f} s", markup=False)
    for f in files:
        con.print(f"report: {f}", markup=False)
    return 0 if report.passed else 1




def limit_view(view: FleetView, devices: Sequence[str]) -> FleetView:
    """Only ``devices`` (front-end names, e.g. Ansible's play hosts), with the switches they hang
    on and every platform server (the platforms they enroll on are picked by the plan)."""
    from dataclasses import replace

    names = set(devices)
    chosen = [h for h in view.hosts if h.name in names]
    switches = {str(h.vars.get("safecity_switch")) for h in chosen if h.vars.get("safecity_switch")}
    keep = [h for h in view.hosts if h.name in names or h.name in switches
            or h.vars.get("safecity_kind") == "platform_server"]
    return replace(view, hosts=keep)


__all__ = ["DEFAULT_OUT", "limit_view", "run_verify", "verify_scope"]
