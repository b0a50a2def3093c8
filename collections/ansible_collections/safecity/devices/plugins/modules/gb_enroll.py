#!/usr/bin/python
"""Module ``safecity.devices.gb_enroll``: a thin adapter over safecity.enroll (the batch path)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: gb_enroll
short_description: Enroll devices on their tier GB/T 28181 platform and wait until they are online
version_added: 0.1.0
author:
  - safecity project
description:
  - For every camera, encoder and alarm host in scope, pushes the GB/T 28181 platform access of
    its tier's platform (server ID, domain, address, device ID, per-device password derived from
    C(vault_gb28181_master_key), channel and alarm-point IDs from the plan) through the vendor
    plug-in, re-reads it, and waits until the platform lists the device online (C(ul.dump)).
  - One call enrolls a whole scope from one async process; one device's failure never stops the
    others. The task fails at the end if any device failed, naming each.
  - The registrar side (the device's ID and password in the platform) is the platform role's
    subscriber table, rendered from the same inventory and master key.
options:
  deployment:
    description: Deployment directory.
    type: path
    required: true
  devices:
    description: Limit to these device names (for instance C(ansible_play_hosts)).
    type: list
    elements: str
  regions:
    description: Region codes of the scope (each with everything below it).
    type: list
    elements: str
  sites:
    description: Site names of the scope.
    type: list
    elements: str
  secrets:
    description:
      - Vault variable name to value; needs C(vault_gb28181_master_key) and every device's
        C(safecity_credentials) (its admin password, to reach the vendor API).
    type: dict
    required: true
  concurrency:
    description: Devices in flight at once.
    type: int
    default: 100
  wait_timeout:
    description: Seconds to wait for each changed device to appear online.
    type: float
    default: 30.0
  timeout:
    description: Seconds for each device or platform request.
    type: float
    default: 5.0
  results:
    description: JSON results file (default C(<deployment>/results/enroll-<UTC time>.json)).
    type: path
  lab:
    description: Reach devices and platforms at their lab addresses (C(<deployment>/.lab/)).
    type: bool
    default: false
notes:
  - Supports C(check_mode) (reads, diffs, writes nothing) and C(diff_mode). Secrets are never
    returned; the SIP password shows as a masked change when it must be sent again.
"""

EXAMPLES = r"""
- name: Enroll the play's devices
  safecity.devices.gb_enroll:
    deployment: "{{ inventory_dir }}"
    devices: "{{ ansible_play_hosts }}"
    secrets:
      vault_gb28181_master_key: "{{ vault_gb28181_master_key }}"
      vault_camera_admin_password: "{{ vault_camera_admin_password }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
summary:
  description: Counts of devices, changed, failed, ok and skipped.
  returned: always
  type: dict
  sample: {devices: 57, changed: 57, failed: 0, ok: 57, skipped: 6}
failed_devices:
  description: "C(<device>: enroll: <reason>) of every failed device."
  returned: always
  type: list
  elements: str
changed_devices:
  description: Names of the devices changed (or that would change in check mode).
  returned: always
  type: list
  elements: str
skipped:
  description: Devices in scope that were not enrolled, with the reason.
  returned: always
  type: dict
results_file:
  description: Path of the JSON results file.
  returned: always
  type: str
"""

import asyncio
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.safecity.devices.plugins.module_utils.provision_result import result_diff

try:
    from safecity.enroll.batch import default_results_path, enroll_fleet
    from safecity.enroll.fleet import load_fleet_view
    from safecity.errors import InventoryError, SafecityError
except ImportError as exc:  # the controller must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def main() -> None:
    module = AnsibleModule(argument_spec={
        "deployment": {"type": "path", "required": True},
        "devices": {"type": "list", "elements": "str"},
        "regions": {"type": "list", "elements": "str"},
        "sites": {"type": "list", "elements": "str"},
        "secrets": {"type": "dict", "required": True, "no_log": True},
        "concurrency": {"type": "int", "default": 100},
        "wait_timeout": {"type": "float", "default": 30.0},
        "timeout": {"type": "float", "default": 5.0},
        "results": {"type": "path"},
        "lab": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    p = module.params
    root = Path(p["deployment"])
    scope = ",".join(p["regions"] or []) or ",".join(p["sites"] or []) or root.name
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{scope}: import: the safecity package is not importable "
                             f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
    if p["concurrency"] < 1:
        module.fail_json(msg=f"{scope}: arguments: concurrency must be at least 1")
    secrets = {str(k): str(v) for k, v in (p["secrets"] or {}).items() if v not in (None, "")}
    try:
        view = load_fleet_view(root, regions=p["regions"], sites=p["sites"], lab=p["lab"])
    except InventoryError as e:
        module.fail_json(msg=f"{scope}: inventory: " + "; ".join(str(x) for x in e.problems[:20]))
    except SafecityError as e:
        module.fail_json(msg=f"{scope}: inventory: {e}")
    report = asyncio.run(enroll_fleet(view, secrets, check_mode=module.check_mode,
                                      devices=p["devices"], concurrency=p["concurrency"],
                                      wait_timeout=p["wait_timeout"], timeout=p["timeout"]))
    path = Path(p["results"]) if p["results"] else default_results_path(view.root, report.started)
    report.write_json(path, deployment=str(view.root), lab=p["lab"])
    out: dict[str, Any] = {
        "changed": bool(report.changed), "summary": report.summary(),
        "failed_devices": [r.error or r.device for r in report.failed],
        "changed_devices": [r.device for r in report.changed], "skipped": report.skipped,
        "results_file": str(path)}
    if module._diff:
        out["diff"] = [result_diff(r.device, r.to_dict()["diff"]) for r in report.changed if r.diff][:50]
    if report.failed:
        module.fail_json(msg=f"{scope}: enroll: {len(report.failed)} of {len(report.results)} "
                             f"device(s) failed: " + "; ".join(out["failed_devices"][:10]), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
