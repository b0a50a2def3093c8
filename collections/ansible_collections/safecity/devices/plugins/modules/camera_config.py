#!/usr/bin/python
"""Module ``safecity.devices.camera_config``: a thin adapter over safecity.provision.

argument spec → ``CameraInputs`` → ``plan_camera`` → ``apply_camera_state`` → exit_json.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: camera_config
short_description: Bring one ONVIF camera or encoder to its whole desired state
version_added: 0.1.0
author:
  - safecity project
description:
  - One call applies a device's whole desired state, in the order devices need it
    (activation and ONVIF enablement, time and NTP, hostname, DNS, users, video encoders,
    discovery mode, GB/T 28181 where configured, and the network last).
  - Reads the device, computes the difference, stops there in check mode, applies, then re-reads
    through a fresh session and fails if anything still differs.
  - The desired state comes from the inventory (C(safecity_*) host variables), the model profile
    in C(device_templates/) and the vault; see the C(safecity.devices.camera_provision) role.
  - Secrets are passed in O(secrets) (declared no_log) and never returned; password changes show
    as C(********).
  - Every change applied is appended to C(<deployment>/audit/provision-YYYY-MM.jsonl).
  - "Runs on the controller (C(connection: local)) in the safecity Python environment."
options:
  name:
    description: Device name (the inventory host name).
    type: str
    required: true
  kind:
    description: Device kind from the inventory (C(safecity_kind)).
    type: str
    required: true
    choices: [ipc, encoder]
  model:
    description: Profile key C(<vendor>/<model>) (C(safecity_model)).
    type: str
    required: true
  address:
    description: The device's real address as recorded (C(safecity_ip)); also its desired address.
    type: str
    required: true
  host:
    description: Where the controller reaches the device (C(ansible_host); a loopback address in the lab).
    type: str
  port:
    description: HTTP port of the device's ONVIF service. Ignored with O(lab=true) (the lab's port is used).
    type: int
    default: 80
  prefix:
    description: Prefix length of the device subnet (C(safecity_prefix)).
    type: int
    required: true
  gateway:
    description: Default gateway (C(safecity_gateway)).
    type: str
    default: ""
  dns:
    description: DNS servers (C(safecity_dns)).
    type: list
    elements: str
    default: []
  ntp_servers:
    description: NTP servers, the device's tier platform (C(safecity_ntp_servers)).
    type: list
    elements: str
    default: []
  channels:
    description: Number of video channels (encoders; default the profile's).
    type: int
  streams:
    description:
      - Stream overrides over the profile's defaults, C(main)/C(sub) (every channel) or
        C(<channel>:main|sub); values are partial C({codec, resolution, fps, bitrate_kbps, gop}).
    type: dict
    default: {}
  timezone:
    description: IANA time zone (C(Asia/Shanghai)) or POSIX TZ string (C(CST-8)).
    type: str
    default: Asia/Shanghai
  credentials:
    description: Name of the vault variable holding the admin password (C(safecity_credentials)).
    type: str
    required: true
  secrets:
    description:
      - Vault variable name to value, for O(credentials), every account's C(password_var) and
        optionally C(<credentials>_previous) (the admin password being rotated away from).
    type: dict
    required: true
  accounts:
    description: Accounts besides the administrator.
    type: list
    elements: dict
    default: []
    suboptions:
      username:
        type: str
        required: true
        description: Account name.
      level:
        type: str
        required: true
        choices: [Administrator, Operator, User]
        description: ONVIF user level.
      password_var:
        type: str
        required: true
        description: Vault variable holding the password (a key of O(secrets)).
  remove_users:
    description: Accounts that must not exist (the factory account is always removed unless it is the administrator).
    type: list
    elements: str
    default: []
  discoverable:
    description: WS-Discovery mode; devices on the video network are not discoverable.
    type: bool
    default: false
  deployment:
    description: Deployment directory; the audit log goes to its C(audit/). No audit log when omitted.
    type: path
  lab:
    description: The device is a lab device of O(deployment) (address moves follow the lab's map).
    type: bool
    default: false
  timeout:
    description: Seconds for each device request.
    type: float
    default: 5.0
  move_timeout:
    description: Seconds to wait for the device at its new address after an address change.
    type: float
    default: 30.0
  templates:
    description: The C(device_templates/) directory (default, the repository's).
    type: path
notes:
  - Supports C(check_mode) and C(diff_mode). A factory-new device that is not activated yet can
    only report C(activation) in check mode; the rest is read once it is active.
  - For fleets use M(safecity.devices.camera_batch), one call per shard.
"""

EXAMPLES = r"""
- name: Provision the camera's whole desired state
  safecity.devices.camera_config:
    name: "{{ inventory_hostname }}"
    kind: "{{ safecity_kind }}"
    model: "{{ safecity_model }}"
    address: "{{ safecity_ip }}"
    host: "{{ ansible_host }}"
    prefix: "{{ safecity_prefix }}"
    gateway: "{{ safecity_gateway }}"
    dns: "{{ safecity_dns }}"
    ntp_servers: "{{ safecity_ntp_servers }}"
    credentials: "{{ safecity_credentials }}"
    secrets:
      vault_camera_admin_password: "{{ vault_camera_admin_password }}"
      vault_camera_operator_password: "{{ vault_camera_operator_password }}"
    accounts:
      - {username: operator, level: Operator, password_var: vault_camera_operator_password}
    deployment: "{{ inventory_dir }}"
"""

RETURN = r"""
device:
  description: Device name.
  returned: always
  type: str
changes:
  description: Settings that differ (check mode) or were changed, in apply order; secrets are C(********).
  returned: always
  type: list
  elements: dict
  sample: [{setting: hostname, old: IPC, new: dsc-cam-001}]
evidence:
  description: What was observed (address, device model/serial/firmware, clock offset, stream URI).
  returned: always
  type: dict
device_warnings:
  description: Non-fatal findings (also shown as warnings).
  returned: always
  type: list
  elements: str
audit_records:
  description: Lines appended to the audit log.
  returned: always
  type: int
"""

import asyncio
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.safecity.devices.plugins.module_utils.provision_result import (
    result_diff,
    result_values,
)

try:
    from safecity.inventory.profiles import load_profiles
    from safecity.provision.audit import AuditLog
    from safecity.provision.batch import lab_port, lab_resolver
    from safecity.provision.camera import apply_camera_state
    from safecity.provision.camera_plan import (
        AccountSpec,
        CameraInputs,
        CameraPlanError,
        CameraPolicy,
        plan_camera,
    )
except ImportError as exc:  # the controller must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "kind": {"type": "str", "required": True, "choices": ["ipc", "encoder"]},
    "model": {"type": "str", "required": True},
    "address": {"type": "str", "required": True},
    "host": {"type": "str"},
    "port": {"type": "int", "default": 80},
    "prefix": {"type": "int", "required": True},
    "gateway": {"type": "str", "default": ""},
    "dns": {"type": "list", "elements": "str", "default": []},
    "ntp_servers": {"type": "list", "elements": "str", "default": []},
    "channels": {"type": "int"},
    "streams": {"type": "dict", "default": {}},
    "timezone": {"type": "str", "default": "Asia/Shanghai"},
    "credentials": {"type": "str", "required": True},
    "secrets": {"type": "dict", "required": True, "no_log": True},
    "accounts": {"type": "list", "elements": "dict", "default": [], "options": {
        "username": {"type": "str", "required": True},
        "level": {"type": "str", "required": True, "choices": ["Administrator", "Operator", "User"]},
        "password_var": {"type": "str", "required": True, "no_log": False}}},
    "remove_users": {"type": "list", "elements": "str", "default": []},
    "discoverable": {"type": "bool", "default": False},
    "deployment": {"type": "path"},
    "lab": {"type": "bool", "default": False},
    "timeout": {"type": "float", "default": 5.0},
    "move_timeout": {"type": "float", "default": 30.0},
    "templates": {"type": "path"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[("lab", True, ("deployment",))])
    p = module.params
    name = p["name"]
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{name}: import: the safecity package is not importable "
                             f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
    secrets = {str(k): str(v) for k, v in (p["secrets"] or {}).items() if v not in (None, "")}
    policy = CameraPolicy(
        timezone=p["timezone"], remove_users=tuple(p["remove_users"]),
        discoverable=p["discoverable"],
        accounts=tuple(AccountSpec(a["username"], a["level"], a["password_var"])
                       for a in p["accounts"]))
    inputs = CameraInputs(
        name=name, kind=p["kind"], model=p["model"], ip=p["address"],
        reach=p["host"] or p["address"], prefix=p["prefix"], gateway=p["gateway"],
        dns=tuple(p["dns"]), ntp_servers=tuple(p["ntp_servers"]), credentials=p["credentials"],
        channels=p["channels"], streams=p["streams"] or {}, timezone=p["timezone"])
    root = Path(p["deployment"]) if p["deployment"] else None
    try:
        catalog = load_profiles(Path(p["templates"]) if p["templates"] else None)
        port = lab_port(root) if p["lab"] and root else p["port"]
        plan = plan_camera(inputs, catalog, secrets, policy, port=port, timeout=p["timeout"])
        resolve = lab_resolver(root, port) if p["lab"] and root else None
    except CameraPlanError as e:
        module.fail_json(msg=str(e))
    except Exception as e:  # noqa: BLE001 - a profile/lab problem: report it as this device's
        module.fail_json(msg=f"{name}: desired state: {e}")
    result = asyncio.run(apply_camera_state(plan.target, plan.desired, check_mode=module.check_mode,
                                            resolve_address=resolve,
                                            move_timeout=p["move_timeout"]))
    audited = 0
    if root is not None and not module.check_mode:
        audited = AuditLog(root).append([result])
    values = result_values(result)
    for warning in result.warnings:
        module.warn(warning)
    out: dict[str, Any] = {"changed": result.changed, "audit_records": audited, **values}
    if module._diff and values["changes"]:
        out["diff"] = result_diff(name, values["changes"])
    if result.failed:
        module.fail_json(msg=result.error or f"{name}: provision: failed", **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
