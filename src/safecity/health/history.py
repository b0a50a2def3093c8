"""Where nights are kept: raw results per device per night, KPI roll-ups, events, and each
camera's VQD memory (last thumbnail, baseline).

``HistoryStore`` is the protocol the rest of the health code uses; ``open_history(url)`` picks the
backend from a URL:

- ``sqlite:///path/to/history.db`` (or a bare path): SQLite (stdlib, WAL), the default; one
  file, ~5 MB per 100k-device night.
- ``postgresql://user@host:port/db`` (or ``postgres://``): PostgreSQL through psycopg 3, imported
  only then. Any libpq URL works (``?sslmode=…``, ``?host=/run/postgresql`` for a Unix socket);
  a password is better kept in ``~/.pgpass`` or ``PGPASSWORD`` than in the URL, and is masked
  (``redact_url``) wherever a URL is shown.

One store, ``SqlHistory``: the SQL is shared and portable (ANSI types, ``INSERT … ON CONFLICT …
DO UPDATE`` which PostgreSQL and SQLite ≥ 3.24 both accept, no backend-only functions). What
differs lives in a small ``Dialect``: placeholders (``?`` vs ``%s``), the blob type in the DDL,
how a write transaction starts, and how bulk rows go in — ``executemany`` on SQLite, ``COPY`` on
PostgreSQL (a night's 100k results in one stream; upserts COPY into a temporary table first).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from safecity.errors import SafecityError
from safecity.health.models import DeviceResult, Event, Night, RegionInfo, Rollup
from safecity.netguard import ENV as LOOPBACK_ENV
from safecity.netguard import is_loopback, loopback_only

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
_RESULT_FIELDS = ("night_id", "device", "kind", "region_code", "site", "status", "faults", "reachable",
                  "rtt_ms", "clock_offset_s", "registered", "video_checked", "serial", "firmware", "model",
                  "uptime_s", "extra")
_ROLLUP_FIELDS = ("night_id", "level", "code", "name", "kind", "devices", "online", "intact",
                  "video_devices", "time_checked", "time_ok", "enrollable", "registered", "faulty")
_REGION_FIELDS = ("night_id", "code", "name", "tier", "parent")
_EVENT_FIELDS = ("night_id", "seq", "kind", "device", "site", "region_code", "fault", "before_value",
                 "after_value")
_RESULT_COLS = ", ".join(_RESULT_FIELDS)
_ROLLUP_COLS = ", ".join(_ROLLUP_FIELDS)
_NIGHT_TABLES = ("regions", "results", "rollups", "events")


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


Row = Sequence[Any]


def _upsert_sql(table: str, cols: Sequence[str], key: str, source: str) -> str:
    """``INSERT … ON CONFLICT (key) DO UPDATE``: the one upsert both backends accept."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
    return f"INSERT INTO {table} ({', '.join(cols)}) {source} ON CONFLICT ({key}) DO UPDATE SET {updates}"


class Dialect(Protocol):
    """What differs between backends; everything else in ``SqlHistory`` is shared SQL."""

    name: str
    error: type[Exception]          # the driver's root exception, wrapped into HistoryError

    def sql(self, sql: str) -> str:
        """The shared SQL (``?`` placeholders) in this backend's parameter style."""
        ...

    def ddl(self, stmt: str) -> str: ...

    def write_transaction(self, conn: Any) -> AbstractContextManager[None]:
        """One transaction, committed on success, rolled back on error."""
        ...

    def insert_many(self, conn: Any, table: str, cols: Sequence[str], rows: Iterable[Row]) -> None: ...

    def upsert_many(self, conn: Any, table: str, cols: Sequence[str], key: str,
                    rows: Iterable[Row]) -> None: ...


class SqliteDialect:
    name = "sqlite"
    error: type[Exception] = sqlite3.Error

    def sql(self, sql: str) -> str:
        return sql

    def ddl(self, stmt: str) -> str:
        return stmt.replace("BYTEA", "BLOB")

    @contextmanager
    def write_transaction(self, conn: Any) -> Iterator[None]:
        # IMMEDIATE: take the write lock before reading MAX(id), so two writers cannot pick one id.
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def insert_many(self, conn: Any, table: str, cols: Sequence[str], rows: Iterable[Row]) -> None:
        marks = ", ".join("?" * len(cols))
        conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)

    def upsert_many(self, conn: Any, table: str, cols: Sequence[str], key: str,
                    rows: Iterable[Row]) -> None:
        marks = ", ".join("?" * len(cols))
        conn.executemany(_upsert_sql(table, cols, key, f"VALUES ({marks})"), rows)


class PostgresDialect:
    """psycopg 3 on an autocommit connection: reads hold no transaction open (a sweep takes
    minutes between reading the VQD memory and writing the night); writes open one each."""

    name = "postgresql"

    def __init__(self) -> None:
        import psycopg  # only here: SQLite users never load the driver

        self.error: type[Exception] = psycopg.Error

    def sql(self, sql: str) -> str:
        return sql.replace("?", "%s")     # the shared SQL has no literal ? or %

    def ddl(self, stmt: str) -> str:
        return stmt

    @contextmanager
    def write_transaction(self, conn: Any) -> Iterator[None]:
        with conn.transaction():
            # Serialises writers (shards of several runners may share one database) before
            # MAX(id) is read; readers are not blocked.
            conn.execute("LOCK TABLE nights IN SHARE ROW EXCLUSIVE MODE")
            yield

    def insert_many(self, conn: Any, table: str, cols: Sequence[str], rows: Iterable[Row]) -> None:
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def upsert_many(self, conn: Any, table: str, cols: Sequence[str], key: str,
                    rows: Iterable[Row]) -> None:
        # COPY has no ON CONFLICT: stream into a temporary table of the same column types, then
        # one INSERT … SELECT … ON CONFLICT (the shared upsert) from it.
        staging = f"staging_{table}"
        col_list = ", ".join(cols)
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {col_list} FROM {table} WITH NO DATA")
            try:
                with cur.copy(f"COPY {staging} ({col_list}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(_upsert_sql(table, cols, key, f"SELECT {col_list} FROM {staging}"))
            finally:
                cur.execute(f"DROP TABLE {staging}")


class SqlHistory:
    """The store over a DB-API connection and its dialect (SQLite or PostgreSQL)."""

    def __init__(self, conn: Any, dialect: Dialect | None = None) -> None:
        self.conn = conn
        self.dialect: Dialect = dialect or SqliteDialect()
        for stmt in SCHEMA:
            conn.execute(self.dialect.ddl(stmt))
        conn.commit()

    @contextmanager
    def _write(self) -> Iterator[None]:
        try:
            with self.dialect.write_transaction(self.conn):
                yield
        except self.dialect.error as e:
            raise HistoryError(f"history ({self.dialect.name}): write failed, nothing stored: {e}") from e

    def _sql(self, sql: str) -> str:
        return self.dialect.sql(sql)

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> None:
        self.conn.execute(self._sql(sql), tuple(args))

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(args))
        return cur.fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(args))
        return list(cur.fetchall())

    def _drop_night(self, nid: int) -> None:
        for table in _NIGHT_TABLES:
            self._exec(f"DELETE FROM {table} WHERE night_id = ?", (nid,))
        self._exec("DELETE FROM nights WHERE id = ?", (nid,))

    # ---- writing ----------------------------------------------------------------------------
    def save_night(self, night: Night, rollups: Sequence[Rollup], events: Sequence[Event]) -> None:
        """Store (or replace: a re-run of the same night and scope wins) one night, in one transaction."""
        bulk = self.dialect.insert_many
        with self._write():
            old = self._one("SELECT id FROM nights WHERE night = ? AND scope = ?", (night.night, night.scope))
            if old is not None:
                self._drop_night(int(old[0]))
            nid = int(self._one("SELECT COALESCE(MAX(id), 0) + 1 FROM nights")[0])
            self._exec("INSERT INTO nights (id, night, scope, deployment, started_at, finished_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (nid, night.night, night.scope, night.deployment, night.started_at, night.finished_at))
            bulk(self.conn, "regions", _REGION_FIELDS,
                 ((nid, r.code, r.name, r.tier, r.parent) for r in night.regions))
            bulk(self.conn, "results", _RESULT_FIELDS, (_result_row(nid, r) for r in night.results))
            bulk(self.conn, "rollups", _ROLLUP_FIELDS,
                 ((nid, r.level, r.code, r.name, r.kind, r.devices, r.online, r.intact, r.video_devices,
                   r.time_checked, r.time_ok, r.enrollable, r.registered, r.faulty) for r in rollups))
            bulk(self.conn, "events", _EVENT_FIELDS,
                 ((nid, i, e.kind, e.device, e.site, e.region_code, e.fault, e.before, e.after)
                  for i, e in enumerate(events)))

    def save_vqd_memory(self, night: str, thumbnails: Mapping[str, bytes],
                        baselines: Mapping[str, bytes]) -> None:
        upsert = self.dialect.upsert_many
        with self._write():
            if thumbnails:
                upsert(self.conn, "camera_memory", ("device", "thumbnail", "night"), "device",
                       ((d, t, night) for d, t in thumbnails.items()))
            if baselines:
                upsert(self.conn, "camera_memory", ("device", "baseline"), "device", baselines.items())

    def prune(self, keep_nights: int) -> int:
        """Keep the newest ``keep_nights`` nights of every scope; returns how many were dropped."""
        with self._write():
            old = self._all("SELECT n.id FROM nights n WHERE (SELECT COUNT(*) FROM nights m WHERE "
                            "m.scope = n.scope AND m.night > n.night) >= ?", (keep_nights,))
            for (nid,) in old:
                self._drop_night(int(nid))
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
    x: dict[str, Any] = {"metrics": r.metrics, "detail": r.detail, "skip_reason": r.skip_reason}
    if r.rotating:
        x["rotating"] = r.rotating
    extra = json.dumps(x, separators=(",", ":"), ensure_ascii=False)
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
                        model, uptime, x.get("metrics", {}), x.get("detail", {}), x.get("skip_reason"),
                        x.get("rotating", {}))


def open_sqlite(path: Path) -> SqlHistory:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: durable at checkpoints, fast commits
    return SqlHistory(conn, SqliteDialect())


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT_S = 10


def redact_url(url: str) -> str:
    """The URL with any password (``user:secret@`` or ``?password=``) replaced by ``***``: the
    only form of a history URL that may be logged or shown in an error or report."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable history URL>"
    if parts.password is None and "password" not in parts.query.lower():
        return url                      # nothing to mask (and sqlite:////abs/path kept as written)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostinfo}"
    query = "&".join(f"{k}=***" if k.lower() == "password" else f"{k}={quote(v, safe='/,:')}"
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _scrub(text: str, url: str) -> str:
    """A driver's message with the URL's password (if any) masked, in case it echoes it."""
    secrets: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            secrets.append(parts.password)
        secrets += [v for k, v in parse_qsl(parts.query) if k.lower() == "password" and v]
    except ValueError:
        return "(message withheld: unparsable URL)"
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _check_postgres_hosts(url: str, params: Mapping[str, Any]) -> None:
    """SAFECITY_LOOPBACK_ONLY (tests, demo): a store off loopback is refused before dialling.
    Unix sockets (a host that is a directory path, or no host) are local by definition."""
    if not loopback_only():
        return
    for key in ("host", "hostaddr"):
        for host in str(params.get(key) or "").split(","):
            if host and not host.startswith("/") and not is_loopback(host):
                raise HistoryError(f"history {redact_url(url)}: refusing to contact non-loopback "
                                   f"address {host} ({LOOPBACK_ENV} is set)")


def open_postgresql(url: str) -> SqlHistory:
    """A PostgreSQL store from a libpq URL; psycopg is imported here, so SQLite users never load it."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as e:
        raise HistoryError("PostgreSQL history needs psycopg 3: pip install 'psycopg[binary]' "
                           "(it is in safecity's pinned dependencies)") from e
    shown = redact_url(url)
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as e:
        # from None: the chained driver exception could echo the conninfo, password included.
        raise HistoryError(f"history {shown}: invalid PostgreSQL URL: {_scrub(str(e), url)}") from None
    _check_postgres_hosts(url, params)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name="safecity-health")
    except psycopg.Error as e:
        raise HistoryError(f"history {shown}: cannot connect: {_scrub(str(e), url).strip()}") from None
    try:
        return SqlHistory(conn, PostgresDialect())
    except psycopg.Error as e:
        conn.close()
        raise HistoryError(f"history {shown}: cannot create the schema: {_scrub(str(e), url).strip()}") from None


def open_history(url: str) -> SqlHistory:
    """``postgresql://user@host:port/db`` (or ``postgres://``) → PostgreSQL;
    ``sqlite:///path/to/history.db`` (or a bare path) → SQLite."""
    if url.startswith(POSTGRES_SCHEMES):
        return open_postgresql(url)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return open_sqlite(Path(path))


def store_night(store: HistoryStore, night: Night, rollups: Iterable[Rollup], events: Iterable[Event],
                retention_nights: int | None = None) -> None:
    store.save_night(night, list(rollups), list(events))
    if retention_nights:
        store.prune(retention_nights)
