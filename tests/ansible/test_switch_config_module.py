"""playbooks/provision.yml (role switch_access → module switch_config) and the switch_batch
module, run by ansible-playbook for real against lab switches of all three platforms.

What a switch holds is read with plain netmiko ``ConnectHandler`` sessions (no safecity code),
never through the module under test. Lab addresses are 127.39.x.y (address offset 5); the
ports differ from the switch_access Molecule scenario's, but both labs bind the platform
servers' SIP port on the same addresses, so do not run the two at the same moment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

from safecity.lab.control import lab_down, lab_up
from safecity.vault import read_vault

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "inventory" / "example"
GOLDEN = REPO / "tests" / "fixtures" / "golden" / "switches"
BIN = Path(sys.executable).parent
SSH_PORT = 18123
SITES = ["ds-centre", "ds-chengguan", "ds-longgang", "lz-city-centre", "xh-centre", "xh-nanmen",
         "jh-centre", "jh-binjiang", "jh-daqiao"]
# The example's 9 switches: stock netmiko device type and real management address.
SWITCHES = {"dsc-sw-01": ("huawei", "10.34.65.2"), "dscg-sw-01": ("huawei", "10.34.66.2"),
            "dslg-sw-01": ("huawei", "10.34.67.2"), "lzc-sw-01": ("huawei", "10.34.64.2"),
            "xhc-sw-01": ("hp_comware", "10.34.68.2"), "xhnm-sw-01": ("hp_comware", "10.34.69.2"),
            "jhc-sw-01": ("cisco_ios", "10.34.70.2"), "jhbj-sw-01": ("cisco_ios", "10.34.71.2"),
            "jhdq-sw-01": ("cisco_ios", "10.34.72.2")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("switches") / "dep"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab", "audit", "results"))
    # Every site: a site limit leaves out the platform servers, which the lab only partly runs.
    (root / "safecity.yml").write_text(
        f"plugin: safecity.devices.safecity\ndeployment: .\nsites: {json.dumps(SITES)}\nlab: true\n")
    lab_up(root, address_offset=5, ssh_port=SSH_PORT, http_port=18181, rtsp_port=18655, timeout=60)
    try:
        yield root
    finally:
        lab_down(root)


def _password(root: Path) -> str:
    return read_vault(root / ".lab" / "vault.yml", root / ".lab" / "vault-pass").get(
        "vault_switch_admin_password")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOME": str(home),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def playbook(inventory: Path, home: Path, *args: str,
             book: Path = REPO / "playbooks" / "provision.yml") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(book), "--forks", "10", *args],
        capture_output=True, text=True, timeout=120, env=_env(home), cwd=REPO, check=False)


def lab_playbook(root: Path, *args: str, book: Path | None = None) -> subprocess.CompletedProcess[str]:
    vault = ["--extra-vars", f"@{root / '.lab' / 'vault.yml'}",
             "--vault-password-file", str(root / ".lab" / "vault-pass")]
    return playbook(root / "safecity.yml", root.parent / "ansible-home", *vault, *args,
                    **({"book": book} if book else {}))


def recap(output: str) -> dict[str, dict[str, int]]:
    rows = re.findall(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                      output, re.MULTILINE)
    return {h: {"ok": int(o), "changed": int(c), "unreachable": int(u), "failed": int(f)}
            for h, o, c, u, f in rows}


def netmiko_session(root: Path, name: str) -> BaseConnection:
    """A plain ``ConnectHandler`` session (no safecity code) to one lab switch."""
    amap = json.loads((root / ".lab" / "addresses.json").read_text())
    password = _password(root)
    device_type, ip = SWITCHES[name]
    conn = ConnectHandler(device_type=device_type, host=amap[ip], port=SSH_PORT,
                          username="admin", password=password, secret=password,
                          conn_timeout=20, auth_timeout=20, banner_timeout=20)
    if device_type == "cisco_ios":
        conn.enable()
    return conn


def running_configs(root: Path) -> dict[str, str]:
    """Each switch's running config over a fresh, unmodified netmiko session."""
    def read(name: str) -> str:
        conn = netmiko_session(root, name)
        try:
            command = "show running-config" if SWITCHES[name][0] == "cisco_ios" else \
                "display current-configuration"
            return str(conn.send_command(command, read_timeout=30))
        finally:
            conn.disconnect()

    with ThreadPoolExecutor(max_workers=len(SWITCHES)) as pool:
        return dict(zip(SWITCHES, pool.map(read, SWITCHES), strict=True))


def config_paths(text: str) -> set[tuple[str, ...]]:
    """Each line as (parents..., line) by indentation; a separator line ends a block."""
    out: set[tuple[str, ...]] = set()
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped in {"#", "!", "end", "return"} or stripped.startswith("!"):
            stack = []
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, stripped))
        out.add(tuple(t for _, t in stack))
    return out


def test_rendered_works_offline_and_matches_the_reviewed_configs(tmp_path: Path) -> None:
    """No lab, no vault: the repository's example inventory as it is (real addresses)."""
    out = tmp_path / "review"
    run = playbook(EXAMPLE / "safecity.yml", tmp_path / "home", "--limit", "switches",
                   "-e", "switch_access_state=rendered", "-e", f"switch_access_render_dir={out}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert set(recap(run.stdout)) == set(SWITCHES)
    assert sorted(p.stem for p in out.glob("*.cfg")) == sorted(set(SWITCHES))
    for cfg in out.glob("*.cfg"):
        assert cfg.read_text() == (GOLDEN / cfg.name).read_text(), cfg.name


def test_a_bad_intent_fails_naming_switch_and_field(tmp_path: Path) -> None:
    run = playbook(EXAMPLE / "safecity.yml", tmp_path / "home", "--limit", "dsc-sw-01",
                   "-e", "switch_access_state=rendered", "-e", '{"safecity_mgmt_vlan": 1002}')
    assert run.returncode != 0
    assert "dsc-sw-01: the management VLAN 1002 is also a camera VLAN" in run.stdout, \
        run.stdout[-2000:]


def test_check_changes_nothing_then_apply_converges_then_idempotent(lab: Path) -> None:
    password = _password(lab)
    factory = running_configs(lab)

    check = lab_playbook(lab, "--limit", "switches", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    r = recap(check.stdout)
    assert set(r) == set(SWITCHES)
    assert all(v["changed"] == 1 and v["failed"] == 0 for v in r.values()), r
    assert "+sysname dsc-sw-01" in check.stdout and "+hostname jhc-sw-01" in check.stdout
    assert running_configs(lab) == factory  # check mode touched nothing

    apply = lab_playbook(lab, "--limit", "switches")
    assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr[-2000:]
    assert all(v["changed"] == 1 and v["failed"] == 0 for v in recap(apply.stdout).values())

    rendered = lab_playbook(lab, "--limit", "switches", "-e", "switch_access_state=rendered",
                            "-e", f"switch_access_render_dir={lab.parent / 'rendered'}")
    assert rendered.returncode == 0, rendered.stdout[-3000:]
    running = running_configs(lab)
    for name in SWITCHES:
        wanted = config_paths((lab.parent / "rendered" / f"{name}.cfg").read_text())
        assert wanted - config_paths(factory[name]), name  # the factory config lacked the intent
        assert wanted <= config_paths(running[name]), (name, sorted(wanted - config_paths(running[name]))[:5])

    again = lab_playbook(lab, "--limit", "switches")
    assert again.returncode == 0, again.stdout[-3000:]
    assert all(v["changed"] == 0 for v in recap(again.stdout).values()), recap(again.stdout)
    assert running_configs(lab) == running
    for run in (check, apply, rendered, again):
        assert password not in run.stdout + run.stderr  # secrets never printed


def test_refused_login_fails_naming_switch_operation_and_reason(lab: Path) -> None:
    run = lab_playbook(lab, "--limit", "xhc-sw-01", "-e", "vault_switch_admin_password=Wrong-pw-1")
    assert run.returncode != 0
    assert "xhc-sw-01: login: the switch refused the credentials" in run.stdout, run.stdout[-2000:]


def test_batch_converges_the_whole_deployment_in_one_call(lab: Path) -> None:
    """The fleet path reads the inventory itself (switches only) and converges them all,
    undoing a hand-made change on one switch (done over plain netmiko)."""
    conn = netmiko_session(lab, "xhnm-sw-01")
    try:
        conn.send_config_set(["interface GigabitEthernet1/0/1", "description tampered"])
    finally:
        conn.disconnect()
    book = lab.parent / "batch.yml"
    task = {"safecity.devices.switch_batch": {
        "deployment": str(lab), "lab": True,
        "secrets": {"vault_switch_admin_password": "{{ vault_switch_admin_password }}"}}}
    book.write_text(json.dumps([{
        "name": "Batch", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [
            {"name": "check", **task, "check_mode": True, "register": "check"},
            {"name": "apply", **task, "register": "apply"},
            {"name": "again", **task, "register": "again"},
            {"name": "keep", "ansible.builtin.copy": {"dest": str(lab.parent / "batch.json"),
                                                      "mode": "0600", "content": (
                "{{ {'check': check.summary, 'check_changed': check.changed_switches, "
                "'apply': apply.summary, 'again': again.summary} | to_json }}")}}]}]))
    run = lab_playbook(lab, book=book)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    shown = json.loads((lab.parent / "batch.json").read_text())
    assert shown["check"]["switches"] == 9 and shown["check"]["failed"] == 0
    assert "xhnm-sw-01" in shown["check_changed"]
    assert shown["apply"]["failed"] == 0
    assert shown["again"] == {"switches": 9, "changed": 0, "failed": 0, "ok": 9, "skipped": 0}
    assert _password(lab) not in run.stdout + run.stderr
    running = running_configs(lab)["xhnm-sw-01"]
    assert "description tampered" not in running
    assert "description xhnm-cam-001 " in running
