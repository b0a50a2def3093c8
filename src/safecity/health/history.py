"""Where nights are kept: raw results per device per night, KPI roll-ups, events, and each
camera's VQD memory (last thumbnail, baseline).

``HistoryStore`` is the protocol the rest of the health code uses; ``open_history(url)`` picks the
implementation from a URL. SQLite (stdlib, WAL) is the default: one file, ~5 MB per 100k-device
night. The SQL is portable (ANSI types, ``INSERT … ON CONFLICT … DO UPDATE`` which PostgreSQL and
SQLite ≥ 3.24 both accept, no SQLite-only functions); only placeholders differ (``?`` vs ``%s``),
which ``_sql`` rewrites, so a PostgreSQL store is the same class over a DB-API connection
(``postgresql://…`` — not wired yet: needs a driver such as psycopg).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from safecity.errors import SafecityError
from safecity.health.models import DeviceResult, Event, Night, RegionInfo, Rollup

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS nights (
        id INTEGER PRIMARY KEY, night VARCHAR(10) NOT NULL, scope VARCHAR(200) NOT NULL,
        deployment VARCHAR(200) NOT NULL, started_at DOUBLE PRECISION NOT NULL,
        finished_at DOUBLE PRECISION NOT NULL, UNIQUE (night, scope))""",
    """CREATE TABLE IF NOT EXISTS regions (
        night_id INTEGER NOT NULL, code VARCHAR(12) NOT NULL, name VARCHAR(200) NOT NULL,
        tier VARCHAR(20) NOT NULL, parent VARCHAR(12), PRIMARY KEY (night_id, code))""",
    """CREATE TABLE IF NOT EXISTS results (
        night_id INTEGER NOT NULL, device VARCHAR(200) NOT NULL, kind VARCHAR(30) NOT NULL,
        region_code VARCHAR(12) NOT NULL, site VARCHAR(200), status VARCHAR(10) NOT NULL,
        faults VARCHAR(1000) NOT NULL, reachable SMALLINT, rtt_ms DOUBLE PRECISION,
        clock_offset_s DOUBLE PRECISION, registered SMALLINT, video_checked SMALLINT NOT NULL,
        serial VARCHAR(100), firmware VARCHAR(100), model VARCHAR(100), uptime_s DOUBLE PRECISION,
        extra TEXT NOT NULL, PRIMARY KEY (night_id, device))""",
    """CREATE TABLE IF NOT EXISTS rollups (
        night_id INTEGER NOT NULL, level VARCHAR(20) NOT NULL, code VARCHAR(200) NOT NULL,
        name VARCHAR(200) NOT NULL, kind VARCHAR(30) NOT NULL, devices INTEGER NOT NULL,
        online INTEGER NOT NULL, intact INTEGER NOT NULL, video_devices INTEGER NOT NULL,
        time_checked INTEGER NOT NULL, time_ok INTEGER NOT NULL, enrollable INTEGER NOT NULL,
        registered INTEGER NOT NULL, faulty INTEGER NOT NULL,
        PRIMARY KEY (night_id, level, code, kind))""",
    """CREATE TABLE IF NOT EXISTS events (
        night_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind VARCHAR(30) NOT NULL,
        device VARCHAR(200) NOT NULL, site VARCHAR(200), region_code VARCHAR(12) NOT NULL,
        fault VARCHAR(60), before_value VARCHAR(1000), after_value VARCHAR(1000),
        PRIMARY KEY (night_id, seq))""",
    """CREATE TABLE IF NOT EXISTS camera_memory (
        device VARCHAR(200) PRIMARY KEY, thumbnail BYTEA, baseline BYTEA, night VARCHAR(10))""",
    "CREATE INDEX IF NOT EXISTS rollups_code ON rollups (level, code, kind)",
]
_RESULT_COLS = ("night_id, device, kind, region_code, site, status, faults, reachable, rtt_ms, "
                "clock_offset_s, registered, video_checked, serial, firmware, model, uptime_s, extra")
_ROLLUP_COLS = ("night_id, level, code, name, kind, devices, online, intact, video_devices, "
                "time_checked, time_ok, enrollable, registered, faulty")


class HistoryError(SafecityError):
    pass


class HistoryStore(Protocol):
    def save_night(self, night: Night, rollups: Sequence[Rollup], events: Sequence[Event]) -> None: ...
    def save_vqd_memory(self, night: str, thumbnails: Mapping[str, bytes],
                        baselines: Mapping[str, bytes]) -> None: ...
    def vqd_memory(self) -> tuple[dict[str, bytes], dict[str, bytes]]: ...
    def nights(self, scope: str = "all") -> list[str]: ...
    def load_night(self, night: str | None = None, scope: str = "all") -> Night | None: ...
    def previous_night(self, before: str, scope: str = "all") -> Night | None: ...
    def rollups(self, night: str, scope: str = "all") -> list[Rollup]: ...
    def events(self, night: str, scope: str = "all") -> list[Event]: ...
    def trend(self, level: str, code: str, nights: int = 30, scope: str = "all") -> list[tuple[str, Rollup]]: ...
    def prune(self, keep_nights: int) -> int: ...
    def close(self) -> None: ...


def _b(v: bool | None) -> int | None:
    return None if v is None else int(v)


class SqlHistory:
    """The store over a DB-API connection; SQLite now, PostgreSQL by swapping the connection."""

    def __init__(self, conn: Any, paramstyle: str = "qmark") -> None:
        self.conn = conn
        self.paramstyle = paramstyle
        cur = conn.cursor()
        for stmt in SCHEMA:
            cur.execute(stmt.replace("BYTEA", "BLOB") if paramstyle == "qmark" else stmt)
        conn.commit()

    def _sql(self, sql: str) -> str:
        return sql if self.paramstyle == "qmark" else sql.replace("?", "%s")

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(args))
        return cur.fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(args))
        return list(cur.fetchall())

    # ---- writing ----------------------------------------------------------------------------
    def save_night(self, night: Night, rollups: Sequence[Rollup], events: Sequence[Event]) -> None:
        """Store (or replace: a re-run of the same night and scope wins) one night, in one transaction."""
        cur = self.conn.cursor()
        try:
            old = self._one("SELECT id FROM nights WHERE night = ? AND scope = ?", (night.night, night.scope))
            if old is not None:
                for table in ("regions", "results", "rollups", "events"):
                    cur.execute(self._sql(f"DELETE FROM {table} WHERE night_id = ?"), (old[0],))
                cur.execute(self._sql("DELETE FROM nights WHERE id = ?"), (old[0],))
            row = self._one("SELECT COALESCE(MAX(id), 0) + 1 FROM nights")
            nid = int(row[0])
            cur.execute(self._sql("INSERT INTO nights (id, night, scope, deployment, started_at, finished_at) "
                                  "VALUES (?, ?, ?, ?, ?, ?)"),
                        (nid, night.night, night.scope, night.deployment, night.started_at, night.finished_at))
            cur.executemany(self._sql("INSERT INTO regions VALUES (?, ?, ?, ?, ?)"),
                            [(nid, r.code, r.name, r.tier, r.parent) for r in night.regions])
            cur.executemany(self._sql(f"INSERT INTO results ({_RESULT_COLS}) VALUES "
                                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                            (_result_row(nid, r) for r in night.results))
            cur.executemany(self._sql(f"INSERT INTO rollups ({_ROLLUP_COLS}) VALUES "
                                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                            ((nid, r.level, r.code, r.name, r.kind, r.devices, r.online, r.intact,
                              r.video_devices, r.time_checked, r.time_ok, r.enrollable, r.registered,
                              r.faulty) for r in rollups))
            cur.executemany(self._sql("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                            ((nid, i, e.kind, e.device, e.site, e.region_code, e.fault, e.before, e.after)
                             for i, e in enumerate(events)))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def save_vqd_memory(self, night: str, thumbnails: Mapping[str, bytes],
                        baselines: Mapping[str, bytes]) -> None:
        cur = self.conn.cursor()
        cur.executemany(self._sql(
            "INSERT INTO camera_memory (device, thumbnail, night) VALUES (?, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET thumbnail = excluded.thumbnail, night = excluded.night"),
            ((d, t, night) for d, t in thumbnails.items()))
        cur.executemany(self._sql(
            "INSERT INTO camera_memory (device, baseline) VALUES (?, ?) "
            "ON CONFLICT (device) DO UPDATE SET baseline = excluded.baseline"),
            baselines.items())
        self.conn.commit()

    def prune(self, keep_nights: int) -> int:
        """Keep the newest ``keep_nights`` nights of every scope; returns how many were dropped."""
        old = self._all("SELECT n.id FROM nights n WHERE (SELECT COUNT(*) FROM nights m WHERE "
                        "m.scope = n.scope AND m.night > n.night) >= ?", (keep_nights,))
        cur = self.conn.cursor()
        for (nid,) in old:
            for table in ("regions", "results", "rollups", "events"):
                cur.execute(self._sql(f"DELETE FROM {table} WHERE night_id = ?"), (nid,))
            cur.execute(self._sql("DELETE FROM nights WHERE id = ?"), (nid,))
        self.conn.commit()
        return len(old)

    # ---- reading ----------------------------------------------------------------------------
    def vqd_memory(self) -> tuple[dict[str, bytes], dict[str, bytes]]:
        thumbs: dict[str, bytes] = {}
        bases: dict[str, bytes] = {}
        for device, thumb, base in self._all("SELECT device, thumbnail, baseline FROM camera_memory"):
            if thumb is not None:
                thumbs[device] = bytes(thumb)
            if base is not None:
                bases[device] = bytes(base)
        return thumbs, bases

    def nights(self, scope: str = "all") -> list[str]:
        return [r[0] for r in self._all("SELECT night FROM nights WHERE scope = ? ORDER BY night", (scope,))]

    def _night_id(self, night: str | None, scope: str) -> tuple[int, str] | None:
        if night is None:
            row = self._one("SELECT id, night FROM nights WHERE scope = ? ORDER BY night DESC LIMIT 1", (scope,))
        else:
            row = self._one("SELECT id, night FROM nights WHERE scope = ? AND night = ?", (scope, night))
        return (int(row[0]), str(row[1])) if row else None

    def load_night(self, night: str | None = None, scope: str = "all") -> Night | None:
        found = self._night_id(night, scope)
        if found is None:
            return None
        nid = found[0]
        head = self._one("SELECT night, scope, deployment, started_at, finished_at FROM nights WHERE id = ?", (nid,))
        regions = [RegionInfo(*r) for r in self._all(
            "SELECT code, name, tier, parent FROM regions WHERE night_id = ? ORDER BY code", (nid,))]
        results = [_result_of(r) for r in self._all(
            f"SELECT {_RESULT_COLS} FROM results WHERE night_id = ? ORDER BY device", (nid,))]
        return Night(head[0], head[3], head[4], head[2], head[1], regions, results)

    def previous_night(self, before: str, scope: str = "all") -> Night | None:
        row = self._one("SELECT night FROM nights WHERE scope = ? AND night < ? ORDER BY night DESC LIMIT 1",
                        (scope, before))
        return self.load_night(row[0], scope) if row else None

    def rollups(self, night: str, scope: str = "all") -> list[Rollup]:
        found = self._night_id(night, scope)
        if found is None:
            return []
        return [Rollup(*r[1:]) for r in self._all(
            f"SELECT {_ROLLUP_COLS} FROM rollups WHERE night_id = ? ORDER BY level, code, kind", (found[0],))]

    def events(self, night: str, scope: str = "all") -> list[Event]:
        found = self._night_id(night, scope)
        if found is None:
            return []
        return [Event(*r) for r in self._all(
            "SELECT kind, device, site, region_code, fault, before_value, after_value FROM events "
            "WHERE night_id = ? ORDER BY seq", (found[0],))]

    def trend(self, level: str, code: str, nights: int = 30, scope: str = "all") -> list[tuple[str, Rollup]]:
        rows = self._all(
            f"SELECT n.night, {', '.join('r.' + c.strip() for c in _ROLLUP_COLS.split(','))} "
            "FROM rollups r JOIN nights n ON n.id = r.night_id WHERE n.scope = ? AND r.level = ? "
            "AND r.code = ? AND r.kind = '*' ORDER BY n.night DESC LIMIT ?", (scope, level, code, nights))
        return [(r[0], Rollup(*r[2:])) for r in reversed(rows)]

    def close(self) -> None:
        self.conn.close()


def _result_row(nid: int, r: DeviceResult) -> tuple[Any, ...]:
    extra = json.dumps({"metrics": r.metrics, "detail": r.detail, "skip_reason": r.skip_reason},
                       separators=(",", ":"), ensure_ascii=False)
    return (nid, r.name, r.kind, r.region_code, r.site, r.status, ",".join(r.faults), _b(r.reachable),
            r.rtt_ms, r.clock_offset_s, _b(r.registered), int(r.video_checked), r.serial, r.firmware,
            r.model, r.uptime_s, extra)


def _result_of(row: Sequence[Any]) -> DeviceResult:
    (_, device, kind, region, site, status, faults, reachable, rtt, offset, registered, video,
     serial, firmware, model, uptime, extra) = row
    x = json.loads(extra)
    return DeviceResult(device, kind, region, site, status, [f for f in faults.split(",") if f],
                        None if reachable is None else bool(reachable), rtt, offset,
                        None if registered is None else bool(registered), bool(video), serial, firmware,
                        model, uptime, x.get("metrics", {}), x.get("detail", {}), x.get("skip_reason"))


def open_sqlite(path: Path) -> SqlHistory:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: durable at checkpoints, fast commits
    return SqlHistory(conn)


def open_history(url: str) -> SqlHistory:
    """``sqlite:///path/to/health.db`` (or a bare path) → SQLite; ``postgresql://…`` → not yet."""
    if url.startswith(("postgresql://", "postgres://")):
        raise HistoryError("PostgreSQL history is not wired yet: install a DB-API driver (psycopg) "
                           "and pass its connection to SqlHistory(conn, paramstyle='format')")
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return open_sqlite(Path(path))


def store_night(store: HistoryStore, night: Night, rollups: Iterable[Rollup], events: Iterable[Event],
                retention_nights: int | None = None) -> None:
    store.save_night(night, list(rollups), list(events))
    if retention_nights:
        store.prune(retention_nights)
