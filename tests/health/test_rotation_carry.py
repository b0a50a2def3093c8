"""Findings of the rotating checks carried over the nights between (``carry_rotation_findings``):
only when the device got as far as the check tonight, never on its rotation night, and with the
evidence and the night the check found them; the events then show neither "recovered" nor "new"."""

from __future__ import annotations

from datetime import date, timedelta

from safecity.health.events import compare_nights
from safecity.health.models import DeviceResult, Night
from safecity.health.sweep import carry_rotation_findings, rotation_due

FOUND = date(2025, 8, 1)


def camera(name: str, *, reachable: bool = True, video: bool = True, faults: dict[str, str] | None = None,
           rotating: dict[str, str] | None = None) -> DeviceResult:
    r = DeviceResult(name, "ipc", "340102", "site-a", reachable=reachable, video_checked=video)
    for code, evidence in (faults or {}).items():
        r.add_fault(code, evidence)
    r.rotating = dict(rotating or {})
    return r


def night(day: date, *results: DeviceResult) -> Night:
    return Night(day.isoformat(), 0.0, 1.0, "example", "all", [], list(results))


def names_not_due(day: date, count: int) -> list[str]:
    """Device names whose rotation night (of 7) is not ``day``."""
    names = (f"cam-{i:03d}" for i in range(1000))
    return [n for n in names if not rotation_due(n, day.toordinal(), 7)][:count]


def test_carried_when_the_device_got_as_far_as_the_check() -> None:
    tonight = FOUND + timedelta(days=1)
    blur, creds, down, dark = names_not_due(tonight, 4)
    prev = night(FOUND,
                 camera(blur, faults={"vqd_blur": "main stream picture (full-size check)"},
                        rotating={"vqd_blur": FOUND.isoformat()}),
                 camera(creds, faults={"default_credentials": "user admin accepts the factory password beside"},
                        rotating={"default_credentials": FOUND.isoformat()}),
                 camera(down, faults={"vqd_blur": "main"}, rotating={"vqd_blur": FOUND.isoformat()}),
                 camera(dark, faults={"vqd_noise": "main"}, rotating={"vqd_noise": FOUND.isoformat()}))
    cur = night(tonight, camera(blur), camera(creds),
                camera(down, reachable=False, video=False, faults={"unreachable": "no answer"}),
                camera(dark, faults={"auth_failed": "refused"}, video=False))
    assert carry_rotation_findings(prev, cur, 7) == 2
    got = {r.name: r for r in cur.results}
    assert got[blur].faults == ["vqd_blur"] and got[blur].status == "fault"
    assert got[blur].detail["vqd_blur"] == "main stream picture (full-size check)"
    assert got[blur].rotating == {"vqd_blur": FOUND.isoformat()}
    assert got[creds].faults == ["default_credentials"]
    assert got[down].faults == ["unreachable"] and got[dark].faults == ["auth_failed"]
    events = {(e.device, e.kind, e.fault) for e in compare_nights(prev, cur)}
    assert (blur, "recovered", "vqd_blur") not in events and (creds, "recovered", "default_credentials") not in events


def test_not_carried_on_the_rotation_night_or_without_a_rotation() -> None:
    name = "cam-007"
    due = next(FOUND + timedelta(days=i) for i in range(1, 8)
               if rotation_due(name, (FOUND + timedelta(days=i)).toordinal(), 7))
    prev = night(due - timedelta(days=1), camera(name, faults={"vqd_blur": "main"}, rotating={"vqd_blur": FOUND.isoformat()}))
    cur = night(due, camera(name))
    assert carry_rotation_findings(prev, cur, 7) == 0 and cur.results[0].faults == []
    assert {(e.kind, e.fault) for e in compare_nights(prev, cur)} == {("recovered", "vqd_blur")}
    every_night = night(due + timedelta(days=1), camera(name))
    assert carry_rotation_findings(prev, every_night, 1) == 0
    assert carry_rotation_findings(None, every_night, 7) == 0


def test_nightly_findings_are_not_carried() -> None:
    tonight = FOUND + timedelta(days=1)
    (name,) = names_not_due(tonight, 1)
    prev = night(FOUND, camera(name, faults={"vqd_blur": "sub"}))       # found by the nightly check
    cur = night(tonight, camera(name))
    assert carry_rotation_findings(prev, cur, 7) == 0 and cur.results[0].faults == []
