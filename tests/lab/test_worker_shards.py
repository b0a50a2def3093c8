"""How a large lab is cut into worker shards (no processes started: the cut alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safecity.lab import worker
from safecity.lab.session import prepare, topology_for
from safecity.lab.topology import LabOptions, LabTopology

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"


@pytest.fixture(scope="module")
def topo() -> LabTopology:
    return topology_for(prepare(EXAMPLE), LabOptions(state="provisioned"))


def test_shards_are_contiguous_runs_of_the_inventory_order(topo: LabTopology, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "DEVICES_PER_WORKER", 10)
    order = [s.name for s in topo.onvif]
    shards = worker.shard_count(len(order))
    assert shards == 1 + -(-len(order) // 10)
    parts = [[s.name for s in worker.shard_of(topo, k, shards).onvif] for k in range(shards)]
    assert parts[0] == []                      # worker 0: switches, platform peers, alarm hosts
    assert [n for p in parts[1:] for n in p] == order   # every device once, in inventory order
    assert all(0 < len(p) <= 10 for p in parts[1:])
    for k in range(1, shards):
        part = worker.shard_of(topo, k, shards)
        assert set(part.snapshots) == set(parts[k])
        assert {r.name for r in part.rtsp} <= set(parts[k])
        assert set(part.devices) == set(parts[k])


def test_worker_zero_keeps_the_platform_peers_switches_and_alarm_hosts(topo: LabTopology, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "DEVICES_PER_WORKER", 10)
    shards = worker.shard_count(len(topo.onvif))
    zero = worker.shard_of(topo, 0, shards)
    assert [s.name for s in zero.switches] == [s.name for s in topo.switches]
    assert [r.name for r in zero.registrars] == [r.name for r in topo.registrars]
    assert [a.name for a in zero.alarm] == [a.name for a in topo.alarm]
    assert not zero.onvif
