"""Acceptance verification: per-device checks with evidence, a bounded-concurrency runner and
the acceptance report (HTML + JSON) per site and region, with the enrollment rate."""

from safecity.verify.command import run_verify, verify_scope
from safecity.verify.evidence import Check, CheckName, DeviceVerdict, Status
from safecity.verify.report import AcceptanceReport, render_json, write_reports
from safecity.verify.runner import VerifyOptions, run_verification

__all__ = ["AcceptanceReport", "Check", "CheckName", "DeviceVerdict", "Status", "VerifyOptions",
           "render_json", "run_verification", "run_verify", "verify_scope", "write_reports"]
