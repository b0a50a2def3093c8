"""Ansible inventory plugin over the safecity deployment model; a thin adapter over
safecity.inventory (scope → validate → plan lock → resolve_hosts)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: safecity
short_description: Hosts and groups from a safecity deployment (tiers, regions, sites, devices)
version_added: 0.1.0
author:
  - safecity project
description:
  - Reads a safecity deployment directory (C(deployment.yml), C(regions/**/*.yml), C(plan.lock.json))
    and builds hosts for platform servers, switches and front-end devices (cameras, encoders,
    alarm hosts, NVRs), with their planned addresses and GB/T 28181 IDs.
  - "Groups: C(platform_servers), C(switches), C(front_end), C(cameras), C(encoders), C(alarm_hosts), C(nvrs),
    C(tier_<tier>), C(region_<code>) (a host is in its region and every ancestor region group),
    C(site_<name>), C(kind_<kind>), C(vendor_<vendor>), C(platform_<platform>) for switches,
    C(platform_role_<role>) for platform servers, C(status_<status>)."
  - Host variables are prefixed C(safecity_); C(safecity_credentials) is the name of a vault variable, never a secret.
  - Limited with O(regions) or O(sites), only the region files of the limit (and the headers of their
    ancestors) are parsed, so a play over one county does not load the whole province.
  - "An invalid inventory fails with the first problems as C(file:line: item: message) lines."
  - The controller must run in the Python environment where the C(safecity) package is installed.
options:
  plugin:
    description: Marks this file as a configuration for this plugin.
    required: true
    type: str
    choices: ['safecity.devices.safecity', 'safecity']
  deployment:
    description: Deployment directory; a relative path is relative to this configuration file.
    type: str
    default: .
  regions:
    description:
      - GB/T 2260 region codes to limit to; each includes every region below it.
      - A host must pass every given limit. Platform servers belong to no site.
    type: list
    elements: str
    env:
      - name: SAFECITY_INVENTORY_REGIONS
  sites:
    description: Site names to limit to (front-end devices and switches of those sites).
    type: list
    elements: str
    env:
      - name: SAFECITY_INVENTORY_SITES
  lab:
    description:
      - Address every host at its lab (loopback) address from C(<deployment>/.lab/addresses.json).
      - Fails if the map is missing, if a host has no lab address, or if a lab address is outside 127.0.0.0/8.
    type: bool
    default: false
    env:
      - name: SAFECITY_LAB
  templates:
    description:
      - The C(device_templates/) directory with model profiles (default, the repository's).
      - A relative path is relative to this configuration file.
    type: str
extends_documentation_fragment:
  - ansible.builtin.constructed
"""

EXAMPLES = r"""
# inventory/example/safecity.yml — the whole deployment
plugin: safecity.devices.safecity
deployment: .

# One county: only its region file (and its city's and province's headers) are read
plugin: safecity.devices.safecity
deployment: .
regions: ["340102"]

# Two sites, addressed through the lab
plugin: safecity.devices.safecity
deployment: .
sites: [ds-centre, ds-chengguan]
lab: true

# Ad hoc, without editing the file:
#   SAFECITY_INVENTORY_REGIONS=340102 ansible-playbook playbooks/provision.yml
"""

import os
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

try:
    from safecity.errors import InventoryError, PlanError, Problem
    from safecity.inventory.lock_lookup import read_lock_for
    from safecity.inventory.resolve import read_lab_addresses, resolve_hosts
    from safecity.inventory.scope import load_scoped
except ImportError as exc:  # the controller must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

# How many problems the error message shows; `safecity inventory validate` lists them all.
_SHOWN_PROBLEMS = 20


def _problem_message(root: Path, problems: list[Problem]) -> str:
    lines = [str(p) for p in problems[:_SHOWN_PROBLEMS]]
    more = len(problems) - len(lines)
    if more > 0:
        lines.append(f"... and {more} more (safecity inventory validate {root} lists them all)")
    return f"safecity inventory {root}: {len(problems)} problem(s):\n" + "\n".join(lines)


def _as_codes(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v).strip() for v in value if str(v).strip()]


class InventoryModule(BaseInventoryPlugin, Constructable):  # type: ignore[misc]  # ansible is untyped
    NAME = "safecity.devices.safecity"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("safecity.yml", "safecity.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        if _IMPORT_ERROR is not None:
            raise AnsibleParserError(f"the safecity package is not importable on the controller "
                                     f"(run Ansible from the safecity venv): {_IMPORT_ERROR}")
        self._read_config_data(path)
        root = Path(os.path.expanduser(str(self.get_option("deployment"))))
        if not root.is_absolute():
            root = Path(path).resolve().parent / root
        root = root.resolve()
        regions = _as_codes(self.get_option("regions"))
        sites = _as_codes(self.get_option("sites"))
        templates = self.get_option("templates")
        if templates:
            templates = (Path(path).resolve().parent / os.path.expanduser(str(templates))).resolve()

        scoped = load_scoped(root, regions=regions, sites=sites,
                             templates=Path(templates) if templates else None)
        if not scoped.ok or scoped.deployment is None or scoped.catalog is None:
            raise AnsibleParserError(_problem_message(
                root, scoped.problems or [Problem(str(root), 0, "", "cannot load deployment")]))
        try:
            plan = read_lock_for(scoped.deployment)
            address_map = read_lab_addresses(root) if self.get_option("lab") else None
            hosts = resolve_hosts(scoped.deployment, plan, scoped.catalog, regions=regions, sites=sites,
                                  address_map=address_map)
        except InventoryError as e:
            raise AnsibleParserError(_problem_message(root, e.problems)) from None
        except PlanError as e:
            raise AnsibleParserError(f"safecity inventory {root}: {e}") from None
        self._populate(hosts)

    def _populate(self, hosts: list[Any]) -> None:
        inventory = self.inventory
        known_groups: set[str] = set()
        compose = self.get_option("compose")
        composed_groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        strict = self.get_option("strict")
        for record in hosts:
            name = inventory.add_host(record.name)
            for group in record.groups:
                if group not in known_groups:
                    inventory.add_group(group)
                    known_groups.add(group)
                inventory.add_child(group, name)
            # Straight onto the host: the inventory's set_variable walks every value to tag
            # its origin, ~6x the cost of the whole resolve for a county of 3,000 devices.
            # Plain values stay untrusted, so nothing from the inventory is ever templated.
            host = inventory.get_host(name)
            for key, value in record.vars.items():
                host.set_variable(key, value)
            if compose or composed_groups or keyed_groups:
                self._set_composite_vars(compose, record.vars, name, strict=strict)
                self._add_host_to_composed_groups(composed_groups, record.vars, name, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, record.vars, name, strict=strict)
