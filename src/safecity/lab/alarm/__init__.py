"""Simulated GB/T 28181 alarm hosts (alarm controllers) for the lab.

An alarm host has no video and no ONVIF: it serves a small vendor HTTP API (the generic
alarm-host profile's ``gb28181_api: alarm_http``) on its own loopback address and the
deployment's HTTP port, with HTTP digest against its account, and runs the same GB/T 28181
device-side user agent as the simulated cameras (``safecity.lab.sip.device``) once its access
settings are complete; its Catalog lists one item per alarm input (type 134) and output (135).

API (JSON; every request digest-authenticated; the lab's own code, shared with no driver):

- ``GET /api/device`` → model, serial, firmware, alarm input/output counts;
- ``GET /api/gb28181`` → enabled, server_id, server_domain, server_ip, server_port, device_id,
  expires, heartbeat_s, heartbeat_count, local_port, alarm_in_ids, alarm_out_ids (never the
  password);
- ``PUT /api/gb28181`` with any of those keys plus ``password`` (absent or empty: keep) → all or
  nothing; ``{"status": "ok"}``, else 400 ``{"error": "<key>: <reason>"}``.

Usage::

    lab = await AlarmLab.start(specs, state_dir, address_map=real_ip_to_loopback)
    lab.set_fault("ah1", "offline"); lab.clear_faults("ah1")
    lab.device_state("ah1"); lab.status()
    await lab.close()

Faults: ``offline`` (stops answering HTTP and SIP), ``slow`` (seconds before each HTTP answer),
``wrong_credentials`` (the account's password no longer works). Settings persist in
``<state_dir>/<name>.json``. Provisioning of alarm hosts beyond GB/T 28181 access (accounts,
zones, arming schedules) is out of scope: the lab starts them with their inventory account, as
an installer leaves them (like switches, staged at installation).
"""

from safecity.lab.alarm.lab import AlarmLab
from safecity.lab.alarm.spec import AlarmHostSpec

__all__ = ["AlarmHostSpec", "AlarmLab"]
