#!/usr/bin/python
"""Module ``safecity.devices.health_sweep``: a thin adapter over safecity.health.run.
One call sweeps a whole shard (a region) from one async process.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: health_sweep
short_description: The nightly health sweep of one shard (a region) in one call
version_added: 0.1.0
author:
  - safecity project
description:
  - The city-scale path of the nightly health check. Reads the inventory itself (only the files
    of the shard) and probes every installed device of the region and everything below it from
    one async process - reachability, ONVIF credentials and clock, RTSP, snapshot and video
    quality, platform registration, switch uplinks and uptime - never one task per device.
  - Stores the night (results, KPI roll-ups station to province, events against the shard's
    previous night) in the history store and writes the reports; the JSON report is the
    canonical shard result that C(safecity health merge) merges at the province.
  - Never writes to a device.
options:
  deployment:
    description: Deployment directory (on the host the task runs on).
    type: path
    required: true
  region:
    description: Region code of the shard (the region and everything below it).
    type: str
    required: true
  exclude_regions:
    description:
      - Regions (and everything below them) left out of the shard; the province's own shard is
        the province minus the cities that sweep themselves.
    type: list
    elements: str
  secrets:
    description:
      - Vault variable name to value for the credentials the devices name (their
        C(safecity_credentials), the switches' too). A module cannot decrypt an Ansible vault
        itself (its payload shadows the controller's ansible package), so the play passes them;
        the nightly timer of role platform_health_runner reads the vault on the server instead.
    type: dict
    required: true
  lab:
    description: Sweep the deployment's running lab (C(<deployment>/.lab/) addresses and ports).
    type: bool
    default: false
  night:
    description: Night (YYYY-MM-DD) the sweep is stored as; default today on the host.
    type: str
  out:
    description: Report directory (default C(<deployment>/results/health/<region>)).
    type: path
  formats:
    description: Report formats. C(json) is the canonical shard result the merge reads.
    type: list
    elements: str
    choices: [html, json, junit, prometheus]
    default: [html, json, junit, prometheus]
  history:
    description: History store URL (default C(sqlite:///<deployment>/.health/history.db)).
    type: str
  concurrency:
    description: Devices in flight at once.
    type: int
    default: 1000
  rtsp:
    description: RTSP DESCRIBE of each camera's stream.
    type: bool
    default: true
  vqd:
    description: Snapshot video-quality diagnosis.
    type: bool
    default: true
  switch_cli:
    description: Log in to each switch for its uplinks' link state and its uptime.
    type: bool
    default: true
  snapshot_stream:
    description:
      - The picture the nightly video-quality check analyses. C(sub) - the sub stream's, where the
        vendor data names one (C(snapshot_sub_path)), with the main picture checked at full size on
        the camera's night of the weekly rotation; C(main) - always the main stream's.
      - Switching re-uses baselines recorded from the other stream; run once with a rebaseline
        (C(safecity health run --rebaseline)) after a switch.
    type: str
    choices: [sub, main]
    default: sub
  fail_on_faults:
    description: Fail the task when any device has a fault (normally the faults are the result).
    type: bool
    default: false
notes:
  - Supports C(check_mode) - the sweep is read-only either way, so it runs and writes its reports,
    but stores nothing in the history (tonight's real run still compares against the last stored
    night, and VQD baselines are not updated).
  - Never reports C(changed) - devices are only read; the history store is the sweep's output.
"""

EXAMPLES = r"""
- name: Sweep the city's region on its platform server
  safecity.devices.health_sweep:
    deployment: /var/lib/safecity/deployment
    region: "{{ safecity_region_code }}"
    secrets: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) }}"
  register: sweep
"""

RETURN = r"""
night:
  description: The night swept.
  returned: always
  type: str
scope:
  description: The shard's scope (C(340100), C(340000 except 340100,340200)).
  returned: always
  type: str
summary:
  description: KPI roll-up of the whole shard (devices, online, intact, rates).
  returned: always
  type: dict
faults:
  description: "C(<device>: <fault>: <evidence>) of every fault."
  returned: always
  type: list
  elements: str
events:
  description: Events against the shard's previous night (kind, device, fault, before, after).
  returned: always
  type: list
  elements: dict
report:
  description: Path of the canonical JSON report (the shard result to fetch and merge).
  returned: when json is among the formats
  type: str
reports:
  description: Paths of every report file.
  returned: always
  type: list
  elements: str
history_written:
  description: Whether the night was stored (false in check mode).
  returned: always
  type: bool
seconds:
  description: Wall time of the sweep.
  returned: always
  type: float
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

try:
    from safecity.errors import InventoryError, SafecityError
    from safecity.health.probes import ProbeOptions
    from safecity.health.run import RunConfig, health_run
    from safecity.health.sweep import SweepOptions
    from safecity.vault import Secrets
except ImportError as exc:  # the runner must run in the safecity environment
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def main() -> None:
    module = AnsibleModule(argument_spec={
        "deployment": {"type": "path", "required": True},
        "region": {"type": "str", "required": True},
        "exclude_regions": {"type": "list", "elements": "str"},
        "secrets": {"type": "dict", "required": True, "no_log": True},
        "lab": {"type": "bool", "default": False},
        "night": {"type": "str"},
        "out": {"type": "path"},
        "formats": {"type": "list", "elements": "str", "choices": ["html", "json", "junit", "prometheus"],
                    "default": ["html", "json", "junit", "prometheus"]},
        "history": {"type": "str", "no_log": True},  # a postgresql:// URL may carry a password
        "concurrency": {"type": "int", "default": 1000},
        "rtsp": {"type": "bool", "default": True},
        "vqd": {"type": "bool", "default": True},
        "switch_cli": {"type": "bool", "default": True},
        "snapshot_stream": {"type": "str", "choices": ["sub", "main"], "default": "sub"},
        "fail_on_faults": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    p = module.params
    shard = p["region"] + (f" except {','.join(p['exclude_regions'])}" if p["exclude_regions"] else "")
    if _IMPORT_ERROR is not None:
        module.fail_json(msg=f"{shard}: import: the safecity package is not importable "
                             f"(run the module with the safecity venv's Python): {_IMPORT_ERROR}")
    if p["concurrency"] < 1:
        module.fail_json(msg=f"{shard}: arguments: concurrency must be at least 1")
    root = Path(p["deployment"])
    secrets = Secrets({str(k): str(v) for k, v in p["secrets"].items() if v not in (None, "")})
    out = Path(p["out"]) if p["out"] else root / "results" / "health" / p["region"]
    cfg = RunConfig(root, history_url=p["history"], out_dir=out, formats=p["formats"], lab=p["lab"],
                    secrets=secrets, regions=[p["region"]], exclude_regions=p["exclude_regions"],
                    night=p["night"], write_history=not module.check_mode,
                    options=SweepOptions(ProbeOptions(rtsp=p["rtsp"], switch_cli=p["switch_cli"],
                                                      snapshot_stream=p["snapshot_stream"]),
                                         concurrency=p["concurrency"], vqd=p["vqd"]))
    try:
        result = health_run(cfg)
    except InventoryError as e:
        module.fail_json(msg=f"{shard}: inventory: " + "; ".join(str(x) for x in e.problems[:20]))
    except SafecityError as e:
        module.fail_json(msg=f"{shard}: sweep: {e}")
    report = result.report
    summary = report.summary
    faults = [f"{f.device}: {f.fault}: {f.evidence}" if f.evidence else f"{f.device}: {f.fault}"
              for f in report.faults()]
    files = [str(f) for f in result.files]
    data = {"changed": False, "night": report.night.night, "scope": report.night.scope,
            "summary": summary.as_dict() if summary else {}, "faults": faults,
            "events": [e.as_dict() for e in report.events], "reports": files,
            "history_written": not module.check_mode, "seconds": round(report.night.seconds, 3)}
    json_files = [f for f in files if f.endswith(".json")]
    if json_files:
        data["report"] = json_files[0]
    if faults and p["fail_on_faults"]:
        module.fail_json(msg=f"{shard}: sweep: {len(faults)} fault(s): " + "; ".join(faults[:10]), **data)
    module.exit_json(**data)


if __name__ == "__main__":
    main()
