#!/usr/bin/python
"""Module ``safecity.devices.switch_batch``: a thin adapter over safecity.provision.switch_fleet.

One call converges every access switch of a shard (regions or sites) from one process.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: switch_batch
short_description: Converge every access switch of a region or sites in one call
version_added: 0.1.0
author:
  - safecity project
description:
  - The fleet path. Reads the inventory itself (only the files of the shard), builds each
    installed switch's intent like the C(switch_access) role does, and converges the switches
    concurrently (read, diff, push, verify from a fresh session, save; rollback on failure),
    bounded by O(concurrency).
  - One switch's failure never stops the others; the task fails at the end if any switch
    failed, naming each with its operation and reason.
  - Use one task per shard (for instance per county), delegated to a controller near it.
options:
  deployment:
    description: Deployment directory.
    type: path
    required: true
  regions:
    description: Region codes of the shard (each with everything below it).
    type: list
    elements: str
  sites:
    description: Site names of the shard.
    type: list
    elements: str
  secrets:
    description: Vault variable name to value, for every variable the switches name in C(safecity_credentials).
    type: dict
    required: true
  username:
    description: Login name on the switches.
    type: str
    default: admin
  port:
    description: SSH port. Ignored with O(lab=true) (the lab's port is used).
    type: int
    default: 22
  concurrency:
    description: Switches in flight at once.
    type: int
    default: 32
  timeout:
    description: Seconds for each switch's TCP connect, login and each read.
    type: float
    default: 20.0
  lab:
    description: Reach the switches at their lab addresses and port (C(<deployment>/.lab/)).
    type: bool
    default: false
  templates:
    description: The C(device_templates/) directory (default, the repository's).
    type: path
notes:
  - Supports C(check_mode) (reports what would change, touches nothing). With C(diff_mode) the
    diffs of up to 50 switches are shown.
"""

EXAMPLES = r"""
- name: Converge one county's access switches in one call
  safecity.devices.switch_batch:
    deployment: "{{ inventory_dir }}"
    regions: ["340102"]
    secrets:
      vault_switch_admin_password: "{{ vault_switch_admin_password }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary:
  description: Counts of switches, changed, failed, ok and skipped (not installed).
  returned: always
  type: dict
  sample: {switches: 9, changed: 9, failed: 0, ok: 9, skipped: 0}
changed_switches:
  description: Names of the switches changed (or that would change in check mode).
  returned: always
  type: list
  elements: str
failed_switches:
  description: "C(<switch>: <operation>: <reason>) of every failed switch."
  returned: always
  type: list
  elements: str
results:
  description: Per switch, C({device, changed, failed, error, commands, warnings}).
  returned: always
  type: list
  elements: dict
seconds:
  description: Wall time of the batch.
  returned: always
  type: float
"""

from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule

try:
    from safecity.errors import InventoryError, SafecityError
    from safecity.provision.switch_fleet import (
        lab_ssh_port,
        load_switch_fleet,
        provision_switch_fleet,
    )
except ImportError as exc:  # the controller must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

_DIFF_SWITCHES = 50


def main() -> None:
    module = AnsibleModule(argument_spec={
        "deployment": {"type": "path", "required": True},
        "regions": {"type": "list", "elements": "str"},
        "sites": {"type": "list", "elements": "str"},
        "secrets": {"type": "dict", "required": True, "no_log": True},
        "username": {"type": "str", "default": "admin"},
        "port": {"type": "int", "default": 22},
        "concurrency": {"type": "int", "default": 32},
        "timeout": {"type": "float", "default": 20.0},
        "lab": {"type": "bool", "default": False},
        "templates": {"type": "path"},
    }, supports_check_mode=True)
    p = module.params
    root = Path(p["deployment"])
    shard = ",".join(p["regions"] or []) or ",".join(p["sites"] or []) or root.name
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{shard}: import: the safecity package is not importable "
                             f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
    if p["concurrency"] < 1:
        module.fail_json(msg=f"{shard}: arguments: concurrency must be at least 1")
    templates = Path(p["templates"]) if p["templates"] else None
    secrets = {str(k): str(v) for k, v in (p["secrets"] or {}).items() if v not in (None, "")}
    try:
        fleet = load_switch_fleet(root, regions=p["regions"], sites=p["sites"], lab=p["lab"],
                                  templates=templates)
        port = lab_ssh_port(fleet.root) if p["lab"] else p["port"]
    except InventoryError as e:
        module.fail_json(msg=f"{shard}: inventory: " + "; ".join(str(x) for x in e.problems[:20]))
    except SafecityError as e:
        module.fail_json(msg=f"{shard}: inventory: {e}")
    report = provision_switch_fleet(
        fleet, secrets, username=p["username"], port=port, check_mode=module.check_mode,
        concurrency=p["concurrency"], timeout=p["timeout"],
        templates_root=templates / "switches" if templates else None)
    out: dict[str, Any] = {
        "changed": bool(report.changed), "summary": report.summary(len(fleet.skipped)),
        "changed_switches": [r.device for r in report.changed],
        "failed_switches": [r.error or r.device for r in report.failed],
        "results": [{"device": r.device, "changed": r.changed, "failed": r.failed,
                     "error": r.error, "commands": r.evidence.get("commands", []),
                     "warnings": r.warnings} for r in report.results],
        "seconds": report.seconds}
    if module._diff:
        shown = [r for r in report.changed if r.evidence.get("diff")][:_DIFF_SWITCHES]
        out["diff"] = [{"prepared": f"--- {r.device}\n{r.evidence['diff']}"} for r in shown]
    if report.failed:
        module.fail_json(msg=f"{shard}: provision: {len(report.failed)} of {len(report.results)} "
                             f"switch(es) failed: " + "; ".join(out["failed_switches"][:10]), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
