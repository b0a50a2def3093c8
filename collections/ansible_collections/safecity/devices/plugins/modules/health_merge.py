#!/usr/bin/python
"""Module ``safecity.devices.health_merge``: a thin adapter over safecity.health.merge."""

from __future__ import annotations

DOCUMENTATION = r"""
module: health_merge
short_description: Merge the shards' nightly health reports into one night at the province
version_added: 0.1.0
author:
  - safecity project
description:
  - Reads the canonical JSON reports the shards wrote (M(safecity.devices.health_sweep)), and
    merges them into one night - one result per device over the union, KPI roll-ups station to
    county to city to province recomputed from the union, events against the previous merged
    night - stored in the province's history store, with the reports.
  - Fails, naming the files, when the shards are not one night's disjoint parts - different
    nights or deployments, the same shard twice, a device in two shards, a missing expected shard.
options:
  files:
    description: The shards' JSON reports.
    type: list
    elements: path
    required: true
  expected:
    description: Shard scopes that must all be present (for instance every sweep task's C(scope)).
    type: list
    elements: str
  scope:
    description: Name the merged night is stored under.
    type: str
    default: all
  history:
    description: The merged nights' history store URL (C(sqlite:///path)).
    type: str
    required: true
  out:
    description: Report directory.
    type: path
    required: true
  formats:
    description: Report formats.
    type: list
    elements: str
    choices: [html, json, junit, prometheus]
    default: [html, json, junit, prometheus]
notes:
  - Supports C(check_mode) - merges and writes the reports, stores nothing in the history.
  - Never reports C(changed) - the history store and reports are the check's output.
"""

EXAMPLES = r"""
- name: One night of the whole network
  safecity.devices.health_merge:
    files: "{{ query('ansible.builtin.fileglob', shard_dir ~ '/*.json') }}"
    history: sqlite:////var/lib/safecity/province.db
    out: /var/lib/safecity/reports
"""

RETURN = r"""
night:
  description: The night merged.
  returned: always
  type: str
shards:
  description: Scopes of the shards merged.
  returned: always
  type: list
  elements: str
summary:
  description: KPI roll-up of the whole merged night.
  returned: always
  type: dict
faults:
  description: Number of faults over the union.
  returned: always
  type: int
events:
  description: Events against the previous merged night.
  returned: always
  type: list
  elements: dict
reports:
  description: Paths of the report files.
  returned: always
  type: list
  elements: str
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

try:
    from safecity.errors import SafecityError
    from safecity.health.merge import MergeConfig, health_merge
except ImportError as exc:
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def main() -> None:
    module = AnsibleModule(argument_spec={
        "files": {"type": "list", "elements": "path", "required": True},
        "expected": {"type": "list", "elements": "str"},
        "scope": {"type": "str", "default": "all"},
        "history": {"type": "str", "required": True, "no_log": True},  # may carry a password
        "out": {"type": "path", "required": True},
        "formats": {"type": "list", "elements": "str", "choices": ["html", "json", "junit", "prometheus"],
                    "default": ["html", "json", "junit", "prometheus"]},
    }, supports_check_mode=True)
    p = module.params
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{p['scope']}: import: the safecity package is not importable: {_IMPORT_ERROR}")
    try:
        r = health_merge(MergeConfig([Path(f) for f in p["files"]], p["history"], Path(p["out"]),
                                     formats=p["formats"], scope=p["scope"], expected=p["expected"],
                                     write_history=not module.check_mode))
    except SafecityError as e:
        module.fail_json(msg=f"{p['scope']}: merge: {e}")
    s = r.report.summary
    module.exit_json(changed=False, night=r.report.night.night, shards=r.shards,
                     summary=s.as_dict() if s else {}, faults=len(r.report.faults()),
                     events=[e.as_dict() for e in r.report.events], reports=[str(f) for f in r.files])


if __name__ == "__main__":
    main()
