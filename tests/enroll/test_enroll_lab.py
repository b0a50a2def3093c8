"""Enrollment against the lab: real ISAPI (vendor plug-in) to the simulated devices, real SIP
registration to the lab registrars, ``ul.dump`` over JSON-RPC. The outcome is read from the lab
itself (status, persisted device state), not through the code under test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from enroll_lab_support import (
    device_state,
    example_copy,
    lab_rows,
    planned_gb_id,
    provisioned_lab,
    wait_lab,
)

from safecity.drivers.vendor.isapi import SIP_PATH, IsapiSession, _doc
from safecity.drivers.vendor.plugins import VendorEndpoint
from safecity.enroll import enroll_device, enroll_fleet, load_fleet_view, read_fleet_secrets
from safecity.enroll.batch import NOT_IN_LAB, plan_enrollment
from safecity.enroll.platform_watch import RegistrationWatch
from safecity.enroll.targets import EnrollTarget
from safecity.lab.control import lab_fault

ENROLLING = ("ipc", "encoder", "alarm_host")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with provisioned_lab(example_copy(tmp_path_factory.mktemp("enroll") / "dep")) as root:
        yield root


def targets(root: Path) -> dict[str, EnrollTarget]:
    view = load_fleet_view(root, lab=True)
    return {t.name: t for t in plan_enrollment(view, read_fleet_secrets(root, lab=True)).targets}


async def push_wrong_password(t: EnrollTarget) -> None:
    """The fault as an operator would cause it: a wrong SIP password typed into the device's
    GB/T 28181 page (one ISAPI PUT of the SIP server block)."""
    session = IsapiSession(VendorEndpoint(t.name, t.host, t.port, t.username, t.password))
    try:
        await session.request("PUT", SIP_PATH, _doc("SIPServerList", (
            "<SIPServer><id>1</id><GB28181><password>Wrong-Passw0rd!</password></GB28181></SIPServer>")))
    finally:
        await session.close()


def test_check_mode_then_enroll_then_idempotent(lab: Path) -> None:
    view = load_fleet_view(lab, lab=True)
    secrets = read_fleet_secrets(lab, lab=True)

    check = asyncio.run(enroll_fleet(view, secrets, check_mode=True))
    assert [r.error for r in check.failed] == [] and len(check.changed) == len(check.results) == 59
    rows = lab_rows(lab)
    assert all(r.get("gb28181") == "disabled" for r in rows.values() if r["kind"] in ENROLLING)
    # Out of scope: listed with the reason, never dropped. Alarm hosts are simulated now.
    assert "dscg-alarm-01" not in check.skipped and NOT_IN_LAB not in check.skipped.values()
    assert check.skipped["dsc-nvr-01"].startswith("kind nvr")

    first = asyncio.run(enroll_fleet(view, secrets, check_mode=False, wait_timeout=20))
    assert [r.error for r in first.failed] == []
    assert len(first.changed) == 59
    rows = lab_rows(lab)
    assert all(r.get("gb28181") == "registered" for r in rows.values() if r["kind"] in ENROLLING)
    registered = {n: r["registered"] for n, r in rows.items() if r["kind"] == "platform_server"}
    assert sum(registered.values()) == 59 and registered["ds-plat-01"] == 23
    alarm = json.loads((lab / ".lab/state/alarm_hosts/dscg-alarm-01.json").read_text())["gb28181"]
    assert alarm["alarm_in_ids"] == [planned_gb_id(lab, f"dscg-alarm-01-in{i}") for i in range(1, 5)]
    assert alarm["alarm_out_ids"] == [planned_gb_id(lab, "dscg-alarm-01-out1")]
    assert alarm["channel_ids"] == [] and alarm["device_id"] == planned_gb_id(lab, "dscg-alarm-01")
    dahua = device_state(lab, "dsc-cam-002")["gb28181"]   # Dahua-like: configManager.cgi
    assert dahua["channel_ids"] == [planned_gb_id(lab, "dsc-cam-002")]
    enc = device_state(lab, "dsc-enc-01")["gb28181"]
    assert enc["channel_ids"] == [planned_gb_id(lab, f"dsc-enc-01-ch{i}") for i in range(1, 5)]
    assert enc["device_id"] == planned_gb_id(lab, "dsc-enc-01")
    assert enc["registrar"] == "10.34.3.2"   # the platform's real address, not the lab's
    r = next(x for x in first.results if x.device == "dsc-enc-01")
    assert r.evidence["platform"] == "ds-plat-01" and r.evidence["online"] is True
    assert "password" not in str(r.to_dict()).lower().replace("gb28181.password", "")

    again = asyncio.run(enroll_fleet(view, secrets, check_mode=False))
    assert again.summary() == {"devices": 59, "changed": 0, "failed": 0, "ok": 59,
                               "skipped": len(check.skipped)}


def stays_registered(root: Path, name: str) -> None:
    """The device stays registered: the plug-in's two ISAPI writes in a row (channel IDs, then
    the server block) are applied by the simulator one after the other, the latest winning."""
    rows = wait_lab(root, lambda rows: rows[name].get("gb28181") != "registering")
    assert rows[name].get("gb28181") == "registered"


def test_wrong_password_is_repaired(lab: Path) -> None:
    t = targets(lab)["xhc-cam-002"]
    asyncio.run(push_wrong_password(t))
    wait_lab(lab, lambda rows: rows["xhc-cam-002"].get("gb28181") == "auth_failed")
    check = asyncio.run(enroll_device(t, RegistrationWatch(), check_mode=True))
    assert check.changed and [c.setting for c in check.diff] == ["gb28181.password"]
    r = asyncio.run(enroll_device(t, RegistrationWatch(), check_mode=False, wait_timeout=20))
    assert r.changed and [c.setting for c in r.diff] == ["gb28181.password"]
    assert not r.failed, r.error                  # the platform listed it online after the push
    assert r.evidence["online"] is True
    stays_registered(lab, "xhc-cam-002")


def test_platform_down_is_a_failed_result_naming_it(lab: Path) -> None:
    t = targets(lab)["dslg-cam-002"]
    other = replace(t, desired=replace(t.desired, heartbeat_s=30))
    lab_fault(lab, "ds-plat-01", "down")
    try:
        unknown = asyncio.run(enroll_device(t, RegistrationWatch(timeout=1.0), check_mode=False))
        pushed = asyncio.run(enroll_device(other, RegistrationWatch(timeout=1.0), check_mode=False,
                                           wait_timeout=5))
    finally:
        lab_fault(lab, "ds-plat-01", None)
    # Settings already right: nothing is written, but online cannot be confirmed.
    assert unknown.failed and not unknown.changed and unknown.error == (
        "dslg-cam-002: enroll: platform ds-plat-01 does not answer (no answer in 1s): cannot "
        "tell whether the device is online")
    assert pushed.failed and pushed.changed
    assert [c.setting for c in pushed.diff] == ["gb28181.heartbeat_s"]
    assert pushed.error is not None and pushed.error.startswith(
        "dslg-cam-002: enroll: settings pushed, but platform ds-plat-01 does not answer")


def test_vendor_without_gb_api(lab: Path) -> None:
    t = replace(targets(lab)["jhc-cam-003"], gb_api="none")
    registered = asyncio.run(enroll_device(t, RegistrationWatch(), check_mode=False))
    assert not registered.failed and not registered.changed
    assert "has no GB/T 28181 API" in registered.warnings[0]
    unknown = replace(t, desired=replace(t.desired, device_id="34020000001329999999"))
    r = asyncio.run(enroll_device(unknown, RegistrationWatch(), check_mode=False))
    assert r.failed and r.error == (
        "jhc-cam-003: enroll: the vendor profile has no GB/T 28181 API (gb28181_api: none) and the "
        "device is not registered on jc-plat-01; configure it by hand or add a vendor plug-in")
