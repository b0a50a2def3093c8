#!/usr/bin/python
"""Module ``safecity.devices.switch_config``: a thin adapter over safecity.provision.switch.

argument spec → ``switch_intent_from_vars`` → ``render_switch_config`` (state rendered) or
``apply_switch_config`` (read → diff → check-mode exit → push → fresh-session verify → save).
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: switch_config
short_description: Bring one access switch of the video network to its intended configuration
version_added: 0.1.0
author:
  - safecity project
description:
  - Renders the part of the switch configuration safecity owns (VLANs, camera ports with
    port security and the camera ACL, uplink trunks, unused ports shut, management address,
    NTP, syslog, SNMP location, SSH-only lines) from the inventory's C(safecity_*) host variables
    and the platform's templates in C(device_templates/switches/<platform>/).
  - With O(state=present) reads the running configuration over SSH, computes the commands that
    bring the owned part to the intent (nothing else on the switch is touched), stops there in
    check mode, pushes them, verifies from a fresh session, then saves. A failed push or
    verification is rolled back to the configuration read at the start.
  - With O(state=rendered) only renders the configuration, offline (no switch is contacted), for
    review; the text is returned in RV(rendered).
  - Huawei VRP, H3C Comware and Cisco IOS; the platform's behaviour is data (C(platform.yml)).
  - "Runs on the controller (C(connection: local)) in the safecity Python environment."
options:
  name:
    description: Switch name (the inventory host name).
    type: str
    required: true
  state:
    description:
      - C(present) converges the switch; C(rendered) returns the intended configuration text
        without contacting the switch.
    type: str
    choices: [present, rendered]
    default: present
  platform:
    description: Switch platform (C(safecity_platform)), a directory of C(device_templates/switches/).
    type: str
    required: true
  host:
    description: Where the controller reaches the switch (C(ansible_host); a loopback address in the lab).
    type: str
  port:
    description: SSH port. Ignored with O(lab=true) (the lab's port is used).
    type: int
    default: 22
  username:
    description: Login name.
    type: str
    default: admin
  password:
    description: Login password (the vault variable named by C(safecity_credentials)).
    type: str
  enable_secret:
    description: Enable secret where the platform needs one (default, the login password).
    type: str
  hostname:
    description: Host name the switch gets (default O(name)).
    type: str
  site:
    description: Site name (C(safecity_site)), the SNMP location when O(location) is not set.
    type: str
  location:
    description: SNMP location (C(safecity_location)).
    type: str
  ports:
    description: Every physical port of the model in its order (C(safecity_ports)).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Interface name.
        type: str
        required: true
      role:
        description: Role the model gives the port.
        type: str
        choices: [access, uplink]
  access_ports:
    description: Devices cabled to the switch (C(safecity_access_ports)).
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: Interface the device is cabled to.
        type: str
        required: true
      device:
        description: Device name.
        type: str
        required: true
      gb_id:
        description: GB/T 28181 ID (recorders are told apart by its type digits).
        type: str
      mac:
        description: Device MAC (port security admits only it).
        type: str
      vlan:
        description: Access VLAN (default O(camera_vlan)).
        type: int
  uplinks:
    description: Uplink ports (C(safecity_uplinks)).
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: Interface.
        type: str
        required: true
      to:
        description: What the uplink goes to (the port description).
        type: str
  mgmt_vlan:
    description: Management VLAN (C(safecity_mgmt_vlan)).
    type: int
    required: true
  camera_vlan:
    description: Video VLAN (C(safecity_camera_vlan)).
    type: int
  mgmt_ip:
    description: Management address (C(safecity_ip)).
    type: str
  prefix:
    description: Management subnet prefix length (C(safecity_prefix)).
    type: int
  gateway:
    description: Management default gateway (C(safecity_gateway)).
    type: str
  ntp_servers:
    description: NTP servers (C(safecity_ntp_servers)).
    type: list
    elements: str
    default: []
  syslog_servers:
    description: Syslog servers (C(safecity_syslog_servers)).
    type: list
    elements: str
    default: []
  platform_servers:
    description:
      - The only destinations cameras may reach (C(safecity_platform_servers)), as addresses
        or C({name, ip, roles}) records. Default, O(sip_server_ip) plus the NTP and syslog servers.
    type: list
    elements: raw
  sip_server_ip:
    description: The tier's SIP server (C(safecity_sip_server_ip)).
    type: str
  storm_pps:
    description: Broadcast and multicast ceiling on camera ports, packets per second.
    type: int
  timeout:
    description: Seconds for the TCP connect, the login and each read.
    type: float
    default: 20.0
  lab:
    description: The switch is a lab switch of O(deployment); the SSH port is the lab's.
    type: bool
    default: false
  deployment:
    description: Deployment directory (required with O(lab=true)).
    type: path
  templates:
    description: The C(device_templates/) directory (default, the repository's).
    type: path
notes:
  - Supports C(check_mode) and C(diff_mode) (a unified diff of the owned sections, running vs intended).
  - A second run against a converged switch pushes nothing and reports C(changed=false).
  - For many switches at once use M(safecity.devices.switch_batch), one call per shard.
"""

EXAMPLES = r"""
- name: Converge the access switch
  safecity.devices.switch_config:
    name: "{{ inventory_hostname }}"
    platform: "{{ safecity_platform }}"
    host: "{{ ansible_host }}"
    password: "{{ lookup('ansible.builtin.vars', safecity_credentials) }}"
    ports: "{{ safecity_ports }}"
    access_ports: "{{ safecity_access_ports }}"
    uplinks: "{{ safecity_uplinks }}"
    mgmt_vlan: "{{ safecity_mgmt_vlan }}"
    camera_vlan: "{{ safecity_camera_vlan }}"
    mgmt_ip: "{{ safecity_ip }}"
    prefix: "{{ safecity_prefix }}"
    gateway: "{{ safecity_gateway }}"
    ntp_servers: "{{ safecity_ntp_servers }}"
    syslog_servers: "{{ safecity_syslog_servers }}"
    platform_servers: "{{ safecity_platform_servers }}"

- name: Render the configuration for review, offline
  safecity.devices.switch_config:
    name: "{{ inventory_hostname }}"
    state: rendered
    platform: "{{ safecity_platform }}"
    ports: "{{ safecity_ports }}"
    mgmt_vlan: "{{ safecity_mgmt_vlan }}"
    camera_vlan: "{{ safecity_camera_vlan }}"
  register: switch_rendered
"""

RETURN = r"""
rendered:
  description: The intended configuration, one line per item (O(state=rendered) and O(state=present)).
  returned: always
  type: list
  elements: str
rendered_text:
  description: The intended configuration as text, in the platform's syntax.
  returned: always
  type: str
commands:
  description: Config-mode lines pushed (or that would be, in check mode); empty when converged.
  returned: when state is present
  type: list
  elements: str
rollback:
  description: Lines that undo RV(commands).
  returned: when state is present
  type: list
  elements: str
changes:
  description: Changed top-level sections, C({setting, old, new}) with the section's lines.
  returned: when state is present
  type: list
  elements: dict
evidence:
  description: What happened (commands, rollback, unified diff, seconds, saved, failed stage).
  returned: when state is present
  type: dict
device_warnings:
  description: Cabling findings (a device's MAC seen on another port, or not at all).
  returned: when state is present
  type: list
  elements: str
"""

from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.safecity.devices.plugins.module_utils.provision_result import (
    result_values,
)

try:
    from safecity.drivers.cli.session import SwitchTarget
    from safecity.errors import SafecityError
    from safecity.provision.switch import apply_switch_config, render_switch_config
    from safecity.provision.switch_fleet import lab_ssh_port
    from safecity.provision.switch_intent import switch_intent_from_vars
except ImportError as exc:  # the controller must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "rendered"], "default": "present"},
    "platform": {"type": "str", "required": True},
    "host": {"type": "str"},
    "port": {"type": "int", "default": 22},
    "username": {"type": "str", "default": "admin"},
    "password": {"type": "str", "no_log": True},
    "enable_secret": {"type": "str", "no_log": True},
    "hostname": {"type": "str"},
    "site": {"type": "str"},
    "location": {"type": "str"},
    "ports": {"type": "list", "elements": "dict", "required": True, "options": {
        "name": {"type": "str", "required": True},
        "role": {"type": "str", "choices": ["access", "uplink"]}}},
    "access_ports": {"type": "list", "elements": "dict", "default": [], "options": {
        "port": {"type": "str", "required": True},
        "device": {"type": "str", "required": True},
        "gb_id": {"type": "str"},
        "mac": {"type": "str"},
        "vlan": {"type": "int"}}},
    "uplinks": {"type": "list", "elements": "dict", "default": [], "options": {
        "port": {"type": "str", "required": True},
        "to": {"type": "str"}}},
    "mgmt_vlan": {"type": "int", "required": True},
    "camera_vlan": {"type": "int"},
    "mgmt_ip": {"type": "str"},
    "prefix": {"type": "int"},
    "gateway": {"type": "str"},
    "ntp_servers": {"type": "list", "elements": "str", "default": []},
    "syslog_servers": {"type": "list", "elements": "str", "default": []},
    "platform_servers": {"type": "list", "elements": "raw"},
    "sip_server_ip": {"type": "str"},
    "storm_pps": {"type": "int"},
    "timeout": {"type": "float", "default": 20.0},
    "lab": {"type": "bool", "default": False},
    "deployment": {"type": "path"},
    "templates": {"type": "path"},
}

# Module option → the inventory host variable switch_intent_from_vars reads.
_HOSTVARS = {
    "platform": "safecity_platform", "hostname": "safecity_hostname", "site": "safecity_site",
    "location": "safecity_location", "ports": "safecity_ports",
    "access_ports": "safecity_access_ports", "uplinks": "safecity_uplinks",
    "mgmt_vlan": "safecity_mgmt_vlan", "camera_vlan": "safecity_camera_vlan",
    "mgmt_ip": "safecity_ip", "prefix": "safecity_prefix", "gateway": "safecity_gateway",
    "ntp_servers": "safecity_ntp_servers", "syslog_servers": "safecity_syslog_servers",
    "platform_servers": "safecity_platform_servers", "sip_server_ip": "safecity_sip_server_ip",
    "storm_pps": "safecity_switch_storm_pps",
}


def _hostvars(params: dict[str, Any]) -> dict[str, Any]:
    """The options as the host variables they came from; unset ones left out (core defaults)."""
    out: dict[str, Any] = {}
    for option, var in _HOSTVARS.items():
        value = params[option]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [{k: v for k, v in item.items() if v is not None} for item in value]
        if value is not None and value != "":
            out[var] = value
    return out


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[("state", "present", ("host", "password")),
                                        ("lab", True, ("deployment",))])
    p = module.params
    name = p["name"]
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{name}: import: the safecity package is not importable "
                             f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
    templates = Path(p["templates"]) / "switches" if p["templates"] else None
    try:
        intent = switch_intent_from_vars(name, _hostvars(p))
        text = render_switch_config(intent, root=templates)
    except SafecityError as e:  # the message names the switch and the field
        module.fail_json(msg=f"{name}: intent: {e}" if not str(e).startswith(name) else str(e))
    rendered = {"rendered": [line for line in text.splitlines() if line.strip()],
                "rendered_text": text}
    if p["state"] == "rendered":
        module.exit_json(changed=False, **rendered)

    try:
        port = lab_ssh_port(Path(p["deployment"])) if p["lab"] else p["port"]
    except SafecityError as e:
        module.fail_json(msg=f"{name}: lab: {e}")
    target = SwitchTarget(name=name, platform=intent.platform, host=p["host"],
                          username=p["username"], password=p["password"], port=port,
                          enable_secret=p["enable_secret"], timeout=p["timeout"])
    result = apply_switch_config(target, intent, check_mode=module.check_mode,
                                 templates_root=templates)
    values = result_values(result)
    evidence = values["evidence"]
    for warning in result.warnings:
        module.warn(warning)
    out: dict[str, Any] = {"changed": result.changed, **rendered, **values,
                           "commands": list(evidence.get("commands") or []),
                           "rollback": list(evidence.get("rollback") or [])}
    if module._diff and evidence.get("diff"):
        out["diff"] = {"prepared": evidence["diff"]}
    if result.failed:
        module.fail_json(msg=result.error or f"{name}: provision: failed", **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
