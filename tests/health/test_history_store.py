"""History store, over both backends (SQLite file; PostgreSQL on a throwaway server, conftest):
a night round-trips field for field; retention keeps the newest nights; re-running a night
replaces it; VQD memory upserts; URLs pick the backend, and a password in one is never shown."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from safecity.health.history import (
    HistoryError,
    PostgresDialect,
    SqliteDialect,
    open_history,
    redact_url,
    store_night,
)
from safecity.health.kpi import compute_rollups
from safecity.health.models import DeviceResult, Event, Night, RegionInfo

from .conftest import PG_PASSWORD, PostgresServer

REGIONS = [RegionInfo("340000", "P", "province", None), RegionInfo("340100", "C", "city", "340000"),
           RegionInfo("340102", "K", "county", "340100")]


def _night(day: str, faulty: bool, scope: str = "all") -> Night:
    cam = DeviceResult("cam-1", "ipc", "340102", "site-a", reachable=not faulty, clock_offset_s=0.2)
    if faulty:
        cam.add_fault("unreachable", "refused")
    return Night(day, 0.0, 1.0, "t", scope, REGIONS, [cam, DeviceResult("cam-2", "ipc", "340102", "site-a",
                                                                        reachable=True)])


def test_retention_and_rerun(history_url: str) -> None:
    store = open_history(history_url)
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


def test_night_round_trips_field_for_field(history_url: str) -> None:
    full = DeviceResult("cam-9", "ipc", "340102", "site-b", status="fault", reachable=True, rtt_ms=0.42,
                        clock_offset_s=-3.5, registered=False, video_checked=True, serial="SN1",
                        firmware="V5.7.3", model="DS-2CD", uptime_s=86400.0,
                        metrics={"mean_luma": 12.5}, detail={"vqd_too_dark": "mean luma 12.5 < 40"})
    full.add_fault("vqd_too_dark", "mean luma 12.5 < 40")
    full.add_fault("clock_skew", "-3.5 s")
    bare = DeviceResult("sw-1", "switch", "340100", None, status="skipped", skip_reason="no vault entry 名")
    night = Night("2025-06-05", 100.0, 160.5, "example", "340100", REGIONS, [full, bare])
    events = [Event("new_fault", "cam-9", "site-b", "340102", fault="clock_skew"),
              Event("firmware_changed", "cam-9", "site-b", "340102", before="V5.7.2", after="V5.7.3")]
    rollups = compute_rollups(night)
    store = open_history(history_url)
    try:
        store.save_night(night, rollups, events)
        loaded = store.load_night("2025-06-05", scope="340100")
        assert loaded == Night("2025-06-05", 100.0, 160.5, "example", "340100", sorted(REGIONS, key=lambda r: r.code),
                               sorted([full, bare], key=lambda r: r.name))
        assert store.load_night(scope="340100") == loaded          # latest
        assert store.load_night("2025-06-05") is None              # other scope
        assert store.events("2025-06-05", "340100") == events
        assert sorted(store.rollups("2025-06-05", "340100"), key=lambda r: (r.level, r.code, r.kind)) == \
            sorted(rollups, key=lambda r: (r.level, r.code, r.kind))
        assert store.previous_night("2025-06-06", "340100") == loaded
        assert store.previous_night("2025-06-05", "340100") is None
    finally:
        store.close()


def test_vqd_memory_upserts(history_url: str) -> None:
    store = open_history(history_url)
    try:
        assert store.vqd_memory() == ({}, {})
        store.save_vqd_memory("2025-06-01", {"cam-1": b"\x00\x01thumb", "cam-2": b"t2"}, {"cam-1": b"base\xff"})
        store.save_vqd_memory("2025-06-02", {"cam-1": b"new"}, {"cam-3": b"b3"})
        thumbs, bases = store.vqd_memory()
        assert thumbs == {"cam-1": b"new", "cam-2": b"t2"}
        assert bases == {"cam-1": b"base\xff", "cam-3": b"b3"}
    finally:
        store.close()


def test_a_failed_write_leaves_the_stored_night(history_url: str) -> None:
    store = open_history(history_url)
    try:
        first = _night("2025-06-01", faulty=False)
        store.save_night(first, compute_rollups(first), [])
        broken = _night("2025-06-01", faulty=True)
        broken.results.append(broken.results[0])       # same device twice: primary key violation
        with pytest.raises(HistoryError, match="write failed, nothing stored"):
            store.save_night(broken, compute_rollups(broken), [])
        assert store.load_night("2025-06-01") == first
        assert store.nights() == ["2025-06-01"]
    finally:
        store.close()


def test_urls_pick_the_backend(tmp_path: Path, postgres_server: PostgresServer) -> None:
    for url in (str(tmp_path / "bare.db"), f"sqlite:///{tmp_path / 'u.db'}"):
        store = open_history(url)
        assert isinstance(store.dialect, SqliteDialect)
        store.close()
    assert (tmp_path / "bare.db").exists() and (tmp_path / "u.db").exists()
    socket_url = f"postgresql://{postgres_server.user}@/postgres?host={postgres_server.socket_dir}&port={postgres_server.port}"
    for url in (postgres_server.url(), postgres_server.url().replace("postgresql://", "postgres://"), socket_url):
        store = open_history(url)
        assert isinstance(store.dialect, PostgresDialect)
        assert store.nights() == []
        store.close()


def test_psycopg_is_loaded_only_for_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for mod in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, mod)
    open_history(f"sqlite:///{tmp_path / 'h.db'}").close()
    assert "psycopg" not in sys.modules
    monkeypatch.setitem(sys.modules, "psycopg", None)        # as if not installed
    with pytest.raises(HistoryError, match=r"needs psycopg 3: pip install 'psycopg\[binary\]'"):
        open_history("postgresql://health@127.0.0.1:1/safecity")


def test_redact_url() -> None:
    assert redact_url("postgresql://health:pa%3Ass@db.example:5433/h?sslmode=require") == \
        "postgresql://health:***@db.example:5433/h?sslmode=require"
    assert redact_url("postgresql://health@127.0.0.1/h?password=x&sslmode=disable") == \
        "postgresql://health@127.0.0.1/h?password=***&sslmode=disable"
    assert redact_url("postgresql://health@127.0.0.1:5432/h") == "postgresql://health@127.0.0.1:5432/h"
    assert redact_url("sqlite:////var/lib/safecity/h.db") == "sqlite:////var/lib/safecity/h.db"
    assert redact_url("postgresql://health:@127.0.0.1/h") == "postgresql://health:***@127.0.0.1/h"


def test_wrong_password_error_masks_it(postgres_server: PostgresServer) -> None:
    wrong = "Wr0ng-but-secret"
    with pytest.raises(HistoryError) as info:
        open_history(postgres_server.url(password=wrong))
    text = str(info.value)
    assert "cannot connect" in text and "password authentication failed" in text
    assert wrong not in text and PG_PASSWORD not in text
    assert f"{postgres_server.user}:***@127.0.0.1:{postgres_server.port}" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_loopback_only_refuses_a_remote_store_before_dialling(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    def no_dial(*_: object, **__: object) -> None:
        raise AssertionError("psycopg.connect must not be called")

    monkeypatch.setenv("SAFECITY_LOOPBACK_ONLY", "1")
    monkeypatch.setattr(psycopg, "connect", no_dial)
    for url in ("postgresql://health:pw@10.20.0.5:5432/h", "postgresql://health@/h?host=127.0.0.1,10.0.0.9"):
        with pytest.raises(HistoryError, match="refusing to contact non-loopback address 10\\.") as info:
            open_history(url)
        assert ":pw@" not in str(info.value)


def test_report_of_a_missing_night_masks_the_url(postgres_server: PostgresServer, postgres_url: str) -> None:
    from safecity.errors import SafecityError
    from safecity.health.run import load_report

    with pytest.raises(SafecityError, match=r"no night 2025-01-01 of scope all in postgresql://postgres:\*\*\*@") as info:
        load_report(postgres_url, "2025-01-01")
    assert PG_PASSWORD not in str(info.value)
