"""apply_switch_config against lab switches over real SSH: check, apply, verify, idempotence,
rollback on every injected fault, save only after verification, batch isolation.

What the switch holds is asserted through the lab (``running_config`` / ``saved_config``) or an
unmodified netmiko session, never through the code under test.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from switch_lab_fixtures import (
    ONE_PER_PLATFORM,
    REPO,
    example_intent,
    lab_spec,
    target_for,
    unmodified_netmiko,
)

from safecity.drivers.cli.mac_table import format_mac
from safecity.lab.switch import SwitchLab, SwitchSpec
from safecity.provision.switch import apply_switch_config, apply_switch_configs
from safecity.provision.switch_intent import SwitchIntent

pytestmark = pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields:UserWarning")

StartLab = Callable[..., Awaitable[SwitchLab]]


@pytest.fixture
async def switch_lab(tmp_path: Path) -> AsyncIterator[StartLab]:
    """``await switch_lab(specs)``: a SwitchLab in this test's state dir, closed at teardown."""
    labs: list[SwitchLab] = []

    async def start(specs: Sequence[SwitchSpec]) -> SwitchLab:
        lab = await SwitchLab.start(specs, tmp_path / f"switch-state{len(labs)}")
        labs.append(lab)
        return lab

    try:
        yield start
    finally:
        for lab in labs:
            await asyncio.wait_for(lab.close(), timeout=15)


SHOW_RUN = {"huawei_vrp": "display current-configuration",
            "hp_comware": "display current-configuration", "cisco_ios": "show running-config"}


def _show_run(spec: SwitchSpec) -> str:
    conn = unmodified_netmiko(spec)
    try:
        return str(conn.send_command(SHOW_RUN[spec.platform], read_timeout=30))
    finally:
        conn.disconnect()


def _expected_port_lines(spec: SwitchSpec, intent: SwitchIntent) -> list[str]:
    notation = "dot" if spec.platform == "cisco_ios" else "hyphen"
    lines = [f"interface {p.port}" for p in intent.access_ports]
    lines += [f" description {p.device} {p.gb_id}" for p in intent.access_ports]
    lines += [f"{format_mac(p.mac, notation)}" for p in intent.access_ports if p.mac]
    return lines


async def test_three_vendors_check_apply_verify_and_second_run(switch_lab) -> None:
    # Huawei is a legacy-SSH-only switch (SHA-1 kex, ssh-rsa): paramiko < 5 still reaches it.
    specs = [lab_spec(n, legacy_ssh_only=(n == "dsc-sw-01")) for n in ONE_PER_PLATFORM]
    lab = await switch_lab(specs)
    jobs = [(target_for(s), example_intent(s.name)) for s in specs]
    factory = {s.name: lab.running_config(s.name) for s in specs}
    factory_saved = {s.name: lab.saved_config(s.name) for s in specs}

    checked = await asyncio.to_thread(apply_switch_configs, jobs, check_mode=True)
    assert [r.failed for r in checked] == [False] * 3, [r.error for r in checked]
    assert all(r.changed and r.evidence["commands"] for r in checked)
    for r in checked:
        assert r.evidence["diff"].startswith("--- running\n+++ intended\n")
        assert any(c.setting.startswith("interface ") for c in r.diff)
    for s in specs:  # check mode pushed nothing
        assert lab.running_config(s.name) == factory[s.name]
        assert lab.saved_config(s.name) == factory_saved[s.name]

    applied = await asyncio.to_thread(apply_switch_configs, jobs)
    assert [(r.device, r.failed, r.changed) for r in applied] == \
        [(s.name, False, True) for s in specs], [r.error for r in applied]
    assert all(r.evidence["saved"] is True and r.warnings == [] for r in applied)

    shown = await asyncio.gather(*(asyncio.to_thread(_show_run, s) for s in specs))
    for spec, text, (_, intent) in zip(specs, shown, jobs, strict=True):
        for line in _expected_port_lines(spec, intent):
            assert line in text, f"{spec.name}: {line!r} missing"
        assert lab.saved_config(spec.name) == lab.running_config(spec.name)
    assert "sysname dsc-sw-01" in shown[0] and " sysname xhc-sw-01" in shown[1]
    assert "hostname jhc-sw-01" in shown[2]
    assert "port trunk allow-pass vlan 100 1002" in shown[0]
    assert "rule 5 permit ip destination 10.34.3.2 0" in shown[0]
    assert "switchport trunk allowed vlan 100,1007" in shown[2]
    # What safecity does not own is untouched (AAA users, the SSH user on Huawei).
    assert "local-user admin privilege level 15" in shown[0]

    before = {s.name: lab.running_config(s.name) for s in specs}
    again = await asyncio.to_thread(apply_switch_configs, jobs)
    assert [(r.failed, r.changed, r.evidence["commands"]) for r in again] == \
        [(False, False, [])] * 3
    assert {s.name: lab.running_config(s.name) for s in specs} == before


async def test_rejected_line_rolls_back_and_rerun_converges(switch_lab) -> None:
    spec = lab_spec("xhc-sw-01")
    lab = await switch_lab([spec])
    original, saved = lab.running_config(spec.name), lab.saved_config(spec.name)
    lab.set_fault(spec.name, "reject", "packet-filter")  # half the ports are done by then
    intent = example_intent(spec.name)

    result = await asyncio.to_thread(apply_switch_config, target_for(spec), intent)
    assert result.failed and not result.changed
    assert result.error is not None
    assert result.error.startswith("xhc-sw-01: push: line 'packet-filter 3001 inbound' refused: ")
    assert "Wrong parameter" in result.error
    assert result.error.endswith("; rolled back to the previous configuration")
    assert result.evidence["rolled_back"] is True
    assert lab.running_config(spec.name) == original
    assert lab.saved_config(spec.name) == saved

    lab.clear_faults(spec.name)
    result = await asyncio.to_thread(apply_switch_config, target_for(spec), intent)
    assert (result.failed, result.changed) == (False, True), result.error


async def test_session_drop_mid_push_is_reported_and_rerun_converges(switch_lab) -> None:
    spec = lab_spec("jhc-sw-01")
    lab = await switch_lab([spec])
    original = lab.running_config(spec.name)
    # Dropped inside the ACL: the VLANs and part of the ACL are on the switch by then.
    lab.set_fault(spec.name, "drop", "8")
    intent = example_intent(spec.name)

    result = await asyncio.to_thread(apply_switch_config, target_for(spec), intent)
    assert result.failed and result.error is not None
    assert result.error.startswith("jhc-sw-01: push: session dropped")
    # Undoing 8 lines takes fewer than 8, so the rollback session is not dropped itself.
    assert result.evidence["rolled_back"] is True, result.error
    assert lab.running_config(spec.name) == original

    lab.clear_faults(spec.name)
    converged = await asyncio.to_thread(apply_switch_config, target_for(spec), intent)
    assert (converged.failed, converged.changed) == (False, True), converged.error
    again = await asyncio.to_thread(apply_switch_config, target_for(spec), intent)
    assert (again.failed, again.changed) == (False, False)


async def test_wrong_credentials_and_offline_fail_alone_in_a_batch(switch_lab) -> None:
    good = lab_spec("xhnm-sw-01")
    locked = lab_spec("xhc-sw-01")
    gone = lab_spec("jhbj-sw-01")
    lab = await switch_lab([good, locked, gone])
    lab.set_fault(locked.name, "wrong_credentials")
    lab.set_fault(gone.name, "offline")
    before = lab.running_config(locked.name)

    results = await asyncio.to_thread(
        apply_switch_configs, [(target_for(s), example_intent(s.name)) for s in (good, locked, gone)])
    by_name = {r.device: r for r in results}
    assert (by_name["xhnm-sw-01"].failed, by_name["xhnm-sw-01"].changed) == (False, True)
    assert by_name["xhc-sw-01"].error == \
        "xhc-sw-01: login: the switch refused the credentials"
    assert by_name["xhc-sw-01"].evidence["rolled_back"] is None  # nothing was pushed
    assert lab.running_config(locked.name) == before
    assert by_name["jhbj-sw-01"].error is not None
    assert by_name["jhbj-sw-01"].error.startswith("jhbj-sw-01: login: no SSH service at 127.36.")


async def test_failed_verification_rolls_back_and_never_saves(switch_lab, tmp_path: Path) -> None:
    # A template that abbreviates a keyword: the switch accepts it and stores the long form,
    # so the push succeeds and only the fresh-session verification can notice.
    root = tmp_path / "switches"
    shutil.copytree(REPO / "device_templates" / "switches" / "hp_comware", root / "hp_comware")
    ports = root / "hp_comware" / "ports.j2"
    ports.write_text(ports.read_text().replace(" description unused", " desc unused"))
    spec = lab_spec("xhnm-sw-01")
    lab = await switch_lab([spec])
    original, saved = lab.running_config(spec.name), lab.saved_config(spec.name)

    result = await asyncio.to_thread(apply_switch_config, target_for(spec),
                                     example_intent(spec.name), templates_root=root)
    assert result.failed and result.error is not None
    assert result.error.startswith("xhnm-sw-01: verify: ")
    assert "desc unused" in result.error
    assert result.evidence["rolled_back"] is True
    assert lab.running_config(spec.name) == original
    assert lab.saved_config(spec.name) == saved


async def test_swapped_cables_are_reported_naming_both_ports(switch_lab) -> None:
    intent = example_intent("dscg-sw-01")
    first, second = intent.access_ports[0], intent.access_ports[1]
    base = lab_spec("dscg-sw-01")
    table = [replace(e, interface=second.port) if e.interface == first.port
             else replace(e, interface=first.port) if e.interface == second.port else e
             for e in base.mac_table]
    spec = replace(base, mac_table=tuple(table))
    await switch_lab([spec])

    result = await asyncio.to_thread(apply_switch_config, target_for(spec), intent,
                                     check_mode=True)
    assert not result.failed, result.error
    assert len(result.warnings) == 2
    text = "\n".join(result.warnings)
    for port in (first.port, second.port):
        assert port in result.warnings[0] and port in result.warnings[1]
    assert f"{first.device} " in text and f"{second.device} " in text
    assert "are swapped" in text


async def test_huawei_is_not_slowed_by_the_config_mode_check(switch_lab) -> None:
    """The fixed driver on Huawei: a full first push (~200 lines) well inside a few seconds."""
    spec = lab_spec("dslg-sw-01")
    await switch_lab([spec])
    result = await asyncio.to_thread(apply_switch_config, target_for(spec),
                                     example_intent(spec.name))
    assert not result.failed, result.error
    # Stock netmiko spends >= 2 s per config-mode check, several per run (benchmark prints it).
    assert result.evidence["seconds"] < 15
