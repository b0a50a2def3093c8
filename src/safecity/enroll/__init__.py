"""Enrollment onto the tier platform: each device's GB/T 28181 access settings (from the
inventory and the vault master key) pushed through its vendor plug-in, then confirmed online on
the platform (``ul.dump``)."""

from safecity.enroll.batch import EnrollReport, enroll_fleet, plan_enrollment, run_enroll
from safecity.enroll.core import enroll_device
from safecity.enroll.fleet import FleetView, load_fleet_view, read_fleet_secrets
from safecity.enroll.platform_watch import RegistrationWatch
from safecity.enroll.targets import EnrollPolicy, EnrollTarget, PlatformRef, desired_gb_settings

__all__ = ["EnrollPolicy", "EnrollReport", "EnrollTarget", "FleetView", "PlatformRef",
           "RegistrationWatch", "desired_gb_settings", "enroll_device", "enroll_fleet",
           "load_fleet_view", "plan_enrollment", "read_fleet_secrets", "run_enroll"]
