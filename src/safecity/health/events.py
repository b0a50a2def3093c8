"""What changed since the previous night: the list the maintenance crew works from in the morning.

Events (vocabulary after Zabbix's camera triggers, DOMAIN.md §6): a fault that is new, a fault
that recovered, a serial number that changed (device replaced), firmware that changed, a reboot
(uptime shorter than the time since the last sweep, when a probe could read uptime), devices that
appeared in or vanished from the inventory. With no previous night every fault is new.

Rebooted: a device rebooted since the previous sweep if its uptime now is shorter than the time
since that sweep, or shorter than the uptime it reported then (uptime fell). Uptimes printed in
minutes (a switch's ``display version``) are compared by their upper bound (``uptime_resolution_s``
in the metrics), so a reading of "0 minutes" is never taken for a reboot a few seconds later.
Which devices report uptime: switches (from the same CLI session as the uplink check), and
cameras, encoders and NVRs whose vendor data names an uptime API (``uptime`` in
``device_templates/vendors/*.yml``, read on the probe's connection; whole seconds). ONVIF has no
uptime, so a generic ONVIF device never gets a "rebooted" event — see docs/healthcheck.md.
"""

from __future__ import annotations

from safecity.health.models import DeviceResult, Event, Night


def _event(kind: str, r: DeviceResult, **kw: str | None) -> Event:
    return Event(kind, r.name, r.site, r.region_code, **kw)  # type: ignore[arg-type]


def rebooted(prev: DeviceResult, cur: DeviceResult, elapsed: float | None) -> bool:
    if cur.uptime_s is None:
        return False
    upper = cur.uptime_s + cur.metrics.get("uptime_resolution_s", 0.0)
    fell = prev.uptime_s is not None and upper < prev.uptime_s
    return fell or (elapsed is not None and upper < elapsed)


def compare_nights(previous: Night | None, current: Night) -> list[Event]:
    events: list[Event] = []
    before = {r.name: r for r in previous.results} if previous else {}
    elapsed = current.started_at - previous.started_at if previous else None
    for cur in current.results:
        if cur.status == "skipped":
            continue
        prev = before.get(cur.name)
        if previous is not None and prev is None:
            events.append(_event("new_device", cur))
        if prev is None or prev.status == "skipped":
            events += [_event("new_fault", cur, fault=f, after=cur.detail.get(f)) for f in cur.faults]
            continue
        old, new = set(prev.faults), set(cur.faults)
        events += [_event("new_fault", cur, fault=f, after=cur.detail.get(f)) for f in sorted(new - old)]
        events += [_event("recovered", cur, fault=f, before=prev.detail.get(f)) for f in sorted(old - new)]
        if prev.serial and cur.serial and prev.serial != cur.serial:
            events.append(_event("serial_changed", cur, before=prev.serial, after=cur.serial))
        if prev.firmware and cur.firmware and prev.firmware != cur.firmware:
            events.append(_event("firmware_changed", cur, before=prev.firmware, after=cur.firmware))
        if rebooted(prev, cur, elapsed):
            events.append(_event("rebooted", cur, before=None if prev.uptime_s is None else f"{prev.uptime_s:.0f}",
                                 after=f"{cur.uptime_s:.0f}"))
    current_names = {r.name for r in current.results}
    for name, prev in sorted(before.items()):
        if name not in current_names and previous is not None and prev.status != "skipped" \
                and current.scope == previous.scope:
            events.append(_event("missing_device", prev))
    order = {"new_fault": 0, "serial_changed": 1, "firmware_changed": 2, "rebooted": 3,
             "missing_device": 4, "new_device": 5, "recovered": 6}
    events.sort(key=lambda e: (order[e.kind], e.region_code, e.site or "", e.device, e.fault or ""))
    return events
