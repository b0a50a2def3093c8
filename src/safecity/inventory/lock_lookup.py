"""Read only the plan-lock entries a scoped load needs.

``plan.lock.json`` of a 400,000-device province is ~35 MB and ``json.loads`` of it costs
1.5–2 s here, most of a county play's inventory budget. ``Plan.to_json`` writes one
``"key": "value"`` per line with keys sorted, so the entries of a few thousand names can be
found by binary search over the raw bytes instead. Anything unexpected (another layout, an
entry not found) falls back to the full parse, so the fast path can never give a different
answer than ``read_lock`` — only a faster one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from safecity.inventory.loader import Deployment
from safecity.inventory.models import ALLOCATE, AlarmHost, Encoder
from safecity.inventory.plan import LOCK_VERSION, Plan, lock_path, read_lock

_HEAD = b'{\n "version": %d,\n' % LOCK_VERSION


def planned_keys(deployment: Deployment) -> tuple[set[str], set[str]]:
    """(names whose ip is 'allocate', names whose gb_id is 'allocate') in a loaded deployment."""
    ips: set[str] = set()
    gbs: set[str] = set()
    for p in deployment.platform_servers:
        if p.server.ip == ALLOCATE:
            ips.add(p.name)
        if p.server.gb_id == ALLOCATE:
            gbs.add(p.name)
    for sw in deployment.switches:
        if sw.switch.ip == ALLOCATE:
            ips.add(sw.name)
    for d in deployment.devices:
        dev = d.device
        if dev.ip == ALLOCATE:
            ips.add(d.name)
        if dev.gb_id == ALLOCATE:
            gbs.add(d.name)
        if isinstance(dev, Encoder):
            gbs.update(ch.name for ch in dev.channels if ch.gb_id == ALLOCATE)
        if isinstance(dev, AlarmHost):
            gbs.update(pt.name for pt in [*dev.inputs, *dev.outputs] if pt.gb_id == ALLOCATE)
    return ips, gbs


def _section(data: bytes, name: bytes) -> tuple[int, int] | None:
    """Byte range of the entry lines of top-level object ``name`` (one entry per line)."""
    opener = b'\n "' + name + b'": {\n'
    start = data.find(opener)
    if start < 0:
        empty = data.find(b'\n "' + name + b'": {}')
        return (0, 0) if empty >= 0 else None
    start += len(opener)
    end = data.find(b"\n }", start - 1)
    return (start, end + 1) if end >= 0 else None


def _entry(data: bytes, start: int, hi: int) -> tuple[bytes, bytes, int] | None:
    """(key, value, end of line) of the entry line starting at ``start``."""
    end = data.find(b"\n", start, hi)
    if end < 0:
        end = hi
    parts = data[start:end].split(b'"', 4)
    if len(parts) < 5:
        return None
    return parts[1], parts[3], end


def _bisect(data: bytes, lo: int, hi: int, key: bytes) -> tuple[str, int] | None:
    """Value of ``key`` and the start of the next line; ``lo`` and ``hi`` are line starts."""
    while lo < hi:
        mid = (lo + hi) // 2
        newline = data.rfind(b"\n", lo, mid)
        start = lo if newline < 0 else newline + 1
        entry = _entry(data, start, hi)
        if entry is None:
            return None
        found, value, end = entry
        if found == key:
            return value.decode("utf-8"), end + 1
        if found < key:
            lo = end + 1
        else:
            hi = start
    return None


def _lookup(data: bytes, section: bytes, keys: Iterable[str]) -> tuple[dict[str, str], bool]:
    bounds = _section(data, section)
    if bounds is None:
        return {}, False
    lo, hi = bounds
    out: dict[str, str] = {}
    complete = True
    # Keys in ascending order: each search starts where the last one ended, and the next
    # line is tried first (a county's names are mostly one contiguous run of the lock).
    for key in sorted(keys):
        wanted = key.encode("utf-8")
        entry = _entry(data, lo, hi) if lo < hi else None
        if entry is not None and entry[0] == wanted:
            out[key] = entry[1].decode("utf-8")
            lo = entry[2] + 1
            continue
        found = _bisect(data, lo, hi, wanted)
        if found is None:
            complete = False
        else:
            out[key] = found[0]
            lo = found[1]
    return out, complete


def read_lock_subset(path: Path, ip_keys: Iterable[str], gb_keys: Iterable[str]) -> Plan:
    """A ``Plan`` holding just these entries (serials are not read). Raises ``PlanError``
    like ``read_lock`` for an unreadable lock; a missing lock is an empty plan."""
    ip_keys, gb_keys = list(ip_keys), list(gb_keys)
    if not path.exists() or not (ip_keys or gb_keys):
        return Plan()
    data = path.read_bytes()
    if data.startswith(_HEAD):
        ips, ips_ok = _lookup(data, b"ips", ip_keys)
        gbs, gbs_ok = _lookup(data, b"gb_ids", gb_keys)
        if ips_ok and gbs_ok:
            return Plan(ips, gbs)
    # Unknown layout or a name not found: the full parse decides.
    full = read_lock(path)
    return Plan({k: full.ips[k] for k in ip_keys if k in full.ips},
                {k: full.gb_ids[k] for k in gb_keys if k in full.gb_ids})


def read_lock_for(deployment: Deployment) -> Plan:
    """The plan entries a (possibly scoped) deployment needs, from its ``plan.lock.json``."""
    ip_keys, gb_keys = planned_keys(deployment)
    return read_lock_subset(lock_path(deployment), sorted(ip_keys), sorted(gb_keys))
