"""A throwaway PostgreSQL server for the history tests: Debian's ``postgresql`` binaries, initdb
into a temporary directory, listening on 127.0.0.1 (a free port) and a Unix socket in that
directory only, stopped by its PID at the end of the session.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` user (created by
the Debian package); otherwise as the current user. Missing binaries fail the tests (CI installs
them through scripts/bootstrap.sh) rather than skipping them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

# The lab tests' shared helpers (health_lab_support) import as a top-level module, as in tests/enroll.
sys.path.insert(0, str(Path(__file__).parent))

PG_PASSWORD = "s3cret-Pg-pw"       # the superuser's, for password (scram) logins over TCP
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    socket_dir: Path
    user: str
    pid: int

    def url(self, dbname: str = "postgres", password: str | None = PG_PASSWORD) -> str:
        auth = f"{self.user}:{password}" if password is not None else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"


def _pg_bindir() -> Path:
    """The server binaries: on PATH, else Debian's /usr/lib/postgresql/<major>/bin (newest)."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not versions:
        pytest.fail("PostgreSQL server binaries (initdb, postgres) not found: install Debian's "
                    "`postgresql` package (scripts/bootstrap.sh does)", pytrace=False)
    return versions[-1].parent


def _run_as() -> str | None:
    """The user to run the server as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root but there is no `postgres` user to run PostgreSQL as "
                    "(Debian's `postgresql` package creates it)", pytrace=False)
    return "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    user = _run_as()
    base = Path(tempfile.mkdtemp(prefix="safecity-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    pwfile = base / "pwfile"
    pwfile.write_text(PG_PASSWORD + "\n")
    if user is not None:
        entry = pwd.getpwnam(user)
        for p in (base, sock, pwfile):
            os.chown(p, entry.pw_uid, entry.pw_gid)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    db_user = "postgres"
    subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", db_user, "-E", "UTF8", "--locale=C",
                    "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"],
                   user=user, cwd=base, env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sock),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
             "-c", "synchronous_commit=off", "-c", "max_connections=20", "-c", "shared_buffers=64MB"],
            user=user, cwd=base, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start on 127.0.0.1:{port}:\n{log.read_text()[-2000:]}",
                            pytrace=False)
            time.sleep(0.1)
        yield PostgresServer("127.0.0.1", port, sock, db_user, proc.pid)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)         # fast shutdown: roll back, disconnect, exit
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT_S)
        shutil.rmtree(base, ignore_errors=True)


_databases = count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    import psycopg

    name = f"history_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_server.url(name)
    finally:
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store tests over both backends; PostgreSQL only starts when a test asks for it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
