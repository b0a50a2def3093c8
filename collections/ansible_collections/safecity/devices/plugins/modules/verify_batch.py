#!/usr/bin/python
"""Module ``safecity.devices.verify_batch``: a thin adapter over safecity.verify."""

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_batch
short_description: Acceptance checks of a scope with evidence, and the acceptance report
version_added: 0.1.0
author:
  - safecity project
description:
  - Read-only. Per device - reachable, ONVIF answers with the inventory credentials and not with
    the factory ones, clock offset below 1 s, settings equal the desired state (provisioning and
    enrollment plans, in check mode), RTSP DESCRIBE of the main stream, snapshot and image
    checks, MAC on the inventory's switch port, registered with a fresh keepalive on its tier
    platform, catalog equal to the inventory's channels. Each check records expected, seen and
    when.
  - Writes the acceptance report (self-contained HTML and JSON) per site and region with totals
    and the enrollment rate. Fails when acceptance does not pass, naming every failed check.
options:
  deployment:
    description: Deployment directory.
    type: path
    required: true
  devices:
    description: Limit to these front-end device names (for instance C(ansible_play_hosts)).
    type: list
    elements: str
  regions:
    description: Region codes of the scope.
    type: list
    elements: str
  sites:
    description: Site names of the scope.
    type: list
    elements: str
  secrets:
    description:
      - Vault variable name to value; device, account and switch passwords and
        C(vault_gb28181_master_key).
    type: dict
    required: true
  out:
    description: Report directory (default C(<deployment>/results/acceptance)).
    type: path
  formats:
    description: Report formats.
    type: list
    elements: str
    choices: [html, json]
    default: [html, json]
  concurrency:
    description: Devices checked at once.
    type: int
    default: 32
  sip_local_host:
    description: This controller's address for GB/T 28181 Catalog queries.
    type: str
    default: 127.0.0.1
  lab:
    description: Reach hosts at their lab addresses (C(<deployment>/.lab/)).
    type: bool
    default: false
  fail_on_rejection:
    description: Fail the task when acceptance does not pass.
    type: bool
    default: true
notes:
  - Read-only; C(check_mode) runs the same checks. Never reports C(changed).
"""

EXAMPLES = r"""
- name: Verify the play's devices and write the acceptance report
  safecity.devices.verify_batch:
    deployment: "{{ inventory_dir }}"
    devices: "{{ ansible_play_hosts }}"
    secrets: "{{ verify_secrets }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
passed:
  description: Whether acceptance passed.
  returned: always
  type: bool
totals:
  description: Devices, verifiable, verified, failed, blocked, not verifiable, enrolled, rates.
  returned: always
  type: dict
failures:
  description: "C(<device>: <check>: <detail>) of every failed check."
  returned: always
  type: list
  elements: str
reports:
  description: Paths of the report files.
  returned: always
  type: list
  elements: str
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

try:
    from safecity.errors import InventoryError, SafecityError
    from safecity.verify.command import DEFAULT_OUT
    from safecity.verify.platform_checks import PlatformCheckOptions
    from safecity.verify.report import write_reports
    from safecity.verify.runner import VerifyOptions
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
        "out": {"type": "path"},
        "formats": {"type": "list", "elements": "str", "choices": ["html", "json"],
                    "default": ["html", "json"]},
        "concurrency": {"type": "int", "default": 32},
        "sip_local_host": {"type": "str", "default": "127.0.0.1"},
        "lab": {"type": "bool", "default": False},
        "fail_on_rejection": {"type": "bool", "default": True},
    }, supports_check_mode=True)
    p = module.params
    root = Path(p["deployment"])
    scope = ",".join(p["regions"] or []) or ",".join(p["sites"] or []) or root.name
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{scope}: import: the safecity package is not importable "
                             f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
    secrets = {str(k): str(v) for k, v in (p["secrets"] or {}).items() if v not in (None, "")}
    options = VerifyOptions(concurrency=max(1, p["concurrency"]),
                            platform=PlatformCheckOptions(sip_local_host=p["sip_local_host"]))
    try:
        import asyncio

        from safecity.enroll.fleet import load_fleet_view
        from safecity.verify.command import limit_view
        from safecity.verify.runner import run_verification

        view = load_fleet_view(root, regions=p["regions"], sites=p["sites"], lab=p["lab"])
        if p["devices"] is not None:
            view = limit_view(view, p["devices"])
        report = asyncio.run(run_verification(view, secrets, regions=p["regions"],
                                              sites=p["sites"], options=options))
    except InventoryError as e:
        module.fail_json(msg=f"{scope}: inventory: " + "; ".join(str(x) for x in e.problems[:20]))
    except SafecityError as e:
        module.fail_json(msg=f"{scope}: verify: {e}")
    files = write_reports(report, Path(p["out"]) if p["out"] else view.root / DEFAULT_OUT,
                          p["formats"])
    out = {"changed": False, "passed": report.passed, "totals": report.to_dict()["totals"],
           "failures": [f"{d}: {c}: {x}" for d, c, x in report.failures],
           "reports": [str(f) for f in files]}
    if not report.passed and p["fail_on_rejection"]:
        module.fail_json(msg=f"{scope}: verify: acceptance not passed: {len(out['failures'])} failed "
                             f"check(s): " + "; ".join(out["failures"][:10]), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
