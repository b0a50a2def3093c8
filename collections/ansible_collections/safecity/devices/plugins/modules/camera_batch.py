#!/usr/bin/python
"""Module ``safecity.devices.camera_batch``: a thin adapter over safecity.provision.batch.

One call provisions a whole shard (a region or some sites) from one async process.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: camera_batch
short_description: Provision every camera and encoder of a region or sites in one call
version_added: 0.1.0
author:
  - safecity project
description:
  - The city-scale path. Reads the inventory itself (only the files of the shard), plans every
    installed camera and encoder like M(safecity.devices.camera_config) does, and provisions them
    concurrently from one async process, bounded by O(concurrency).
  - One device's failure never stops the others; the task fails at the end if any device failed,
    naming them.
  - Writes a JSON results file (every device's result) and appends applied changes to
    C(<deployment>/audit/provision-YYYY-MM.jsonl).
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
    description:
      - Vault variable name to value for every vault variable the devices name (their
        C(safecity_credentials)) and the accounts' password variables.
    type: dict
    required: true
  concurrency:
    description: Devices in flight at once.
    type: int
    default: 50
  timeout:
    description: Seconds for each device request.
    type: float
    default: 5.0
  results:
    description: JSON results file (default C(<deployment>/results/provision-<UTC time>.json)).
    type: path
  lab:
    description: Reach the devices at their lab addresses (C(<deployment>/.lab/)).
    type: bool
    default: false
notes:
  - Supports C(check_mode) (reports what would change, touches nothing). With C(diff_mode) the
    changes of up to 50 devices are shown.
  - Accounts and factory-account removals come from C(group_vars/{all,front_end}.yml) keys
    C(camera_provision_accounts) / C(camera_provision_remove_users) of the deployment, the same
    ones the C(camera_provision) role reads; the time zone from C(deployment.yml).
"""

EXAMPLES = r"""
- name: Provision one county's cameras and encoders in one call
  safecity.devices.camera_batch:
    deployment: "{{ inventory_dir }}"
    regions: ["340102"]
    concurrency: 300
    secrets:
      vault_camera_admin_password: "{{ vault_camera_admin_password }}"
      vault_camera_operator_password: "{{ vault_camera_operator_password }}"
      vault_camera_viewer_password: "{{ vault_camera_viewer_password }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary:
  description: Counts of devices, changed, failed, ok and skipped (not installed).
  returned: always
  type: dict
  sample: {devices: 920, changed: 918, failed: 2, ok: 918, skipped: 3}
failed_devices:
  description: "C(<device>: <operation>: <reason>) of every failed device."
  returned: always
  type: list
  elements: str
changed_devices:
  description: Names of the devices changed (or that would change in check mode).
  returned: always
  type: list
  elements: str
results_file:
  description: Path of the JSON results file.
  returned: always
  type: str
seconds:
  description: Wall time of the batch.
  returned: always
  type: float
"""

from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.safecity.devices.plugins.module_utils.provision_result import result_diff

try:
    from safecity.errors import InventoryError, SafecityError
    from safecity.provision.batch import (
        default_results_path,
        load_fleet,
        provision_fleet,
        run_async,
    )
except ImportError as exc:  # the controller must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

_DIFF_DEVICES = 50


def main() -> None:
    module = AnsibleModule(argument_spec={
        "deployment": {"type": "path", "required": True},
        "regions": {"type": "list", "elements": "str"},
        "sites": {"type": "list", "elements": "str"},
        "secrets": {"type": "dict", "required": True, "no_log": True},
        "concurrency": {"type": "int", "default": 50},
        "timeout": {"type": "float", "default": 5.0},
        "results": {"type": "path"},
        "lab": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    p = module.params
    root = Path(p["deployment"])
    shard = ",".join(p["regions"] or []) or ",".join(p["sites"] or []) or root.name
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{shard}: import: the safecity package is not importable "
                             f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
    if p["concurrency"] < 1:
        module.fail_json(msg=f"{shard}: arguments: concurrency must be at least 1")
    secrets = {str(k): str(v) for k, v in (p["secrets"] or {}).items() if v not in (None, "")}
    try:
        fleet = load_fleet(root, regions=p["regions"], sites=p["sites"], lab=p["lab"])
    except InventoryError as e:
        module.fail_json(msg=f"{shard}: inventory: " + "; ".join(str(x) for x in e.problems[:20]))
    except SafecityError as e:
        module.fail_json(msg=f"{shard}: inventory: {e}")
    report = run_async(provision_fleet(fleet, secrets, check_mode=module.check_mode,
                                       concurrency=p["concurrency"], timeout=p["timeout"]))
    path = Path(p["results"]) if p["results"] else default_results_path(fleet.root, report.started)
    report.write_json(path, deployment=str(fleet.root), regions=p["regions"] or [],
                      sites=p["sites"] or [], lab=p["lab"])
    out: dict[str, Any] = {
        "changed": bool(report.changed), "summary": report.summary(),
        "failed_devices": [r.error or r.device for r in report.failed],
        "changed_devices": [r.device for r in report.changed],
        "results_file": str(path), "seconds": round(report.seconds, 3)}
    if module._diff:
        shown = [r for r in report.changed if r.diff][:_DIFF_DEVICES]
        out["diff"] = [result_diff(r.device, r.to_dict()["diff"]) for r in shown]
    if report.failed:
        module.fail_json(msg=f"{shard}: provision: {len(report.failed)} of {len(report.results)} "
                             f"device(s) failed: " + "; ".join(out["failed_devices"][:10]), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
