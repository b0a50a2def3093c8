"""History store: retention keeps the newest nights; re-running a night replaces it; the
PostgreSQL URL says clearly what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from safecity.health.history import HistoryError, open_history, store_night
from safecity.health.kpi import compute_rollups
from safecity.health.models import DeviceResult, Night, RegionInfo


def _night(day: str, faulty: bool) -> Night:
    cam = DeviceResult("cam-1", "ipc", "340102", "site-a", reachable=not faulty, clock_offset_s=0.2)
    if faulty:
        cam.add_fault("unreachable", "refused")
    regions = [RegionInfo("340000", "P", "province", None), RegionInfo("340100", "C", "city", "340000"),
               RegionInfo("340102", "K", "county", "340100")]
    return Night(day, 0.0, 1.0, "t", "all", regions, [cam, DeviceResult("cam-2", "ipc", "340102", "site-a",
                                                                        reachable=True)])


def test_retention_and_rerun(tmp_path: Path) -> None:
    store = open_history(str(tmp_path / "h.db"))
    try:
        for day in ("2025-06-01", "2025-06-02", "2025-06-03"):
            n = _night(day, faulty=day == "2025-06-02")
            store_night(store, n, compute_rollups(n), [], retention_nights=2)
        assert store.nights() == ["2025-06-02", "2025-06-03"]
        again = _night("2025-06-03", faulty=True)
        store_night(store, again, compute_rollups(again), [])
        assert [r.online for _, r in store.trend("all", "all")] == [1, 1]
        county = [r for r in store.rollups("2025-06-03") if r.level == "county" and r.kind == "*"]
        assert [(r.code, r.devices, r.faulty) for r in county] == [("340102", 2, 1)]
    finally:
        store.close()


def test_postgresql_url_names_the_gap() -> None:
    with pytest.raises(HistoryError, match="PostgreSQL history is not wired yet"):
        open_history("postgresql://health@db/safecity")
