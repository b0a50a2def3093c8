"""Append-only audit log of every change applied to a device.

One JSON object per line in ``<deployment>/audit/provision-YYYY-MM.jsonl`` (UTC month):
``{"ts", "who", "device", "setting", "old", "new", "outcome", "run"}``. ``outcome`` is
``applied``, or ``uncertain`` when the device failed part-way (the change may or may not have
gone through: the next run's read tells). Secrets are masked twice: results never carry them,
and any value under a key that names a secret is replaced here as well.

Writers are many (Ansible forks, one batch process): each record is one ``write`` of one line
under an exclusive ``flock``, so lines never interleave.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safecity.provision.result import MASK, Result

AUDIT_DIR = "audit"
_SECRET_WORDS = ("password", "secret", "passphrase", "token", "key")


def _is_secret_key(key: str) -> bool:
    last = key.lower().rsplit(".", 1)[-1]
    return any(last == w or last.endswith(("_" + w, w + "s")) for w in _SECRET_WORDS) \
        or last.endswith("password")


def who() -> str:
    """The person behind the run: the sudo caller if any, else the login user."""
    for var in ("SUDO_USER", "USER", "LOGNAME"):
        value = os.environ.get(var)
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def mask_secrets(value: Any, key: str = "") -> Any:
    """``value`` with everything under a secret-looking key replaced by ``MASK``."""
    if key and _is_secret_key(key) and value not in (None, MASK):
        return MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v, key) for v in value]
    return value


class AuditLog:
    """The audit log of one deployment directory."""

    def __init__(self, deployment_root: Path, *, user: str | None = None,
                 run: str | None = None) -> None:
        self.dir = Path(deployment_root) / AUDIT_DIR
        self.user = user or who()
        self.run = run

    def path_for(self, when: datetime) -> Path:
        return self.dir / f"provision-{when:%Y-%m}.jsonl"

    def records(self, result: Result, when: datetime | None = None) -> list[dict[str, Any]]:
        """The lines a result adds: one per change, only if something was (maybe) applied."""
        if not result.changed:
            return []
        ts = (when or datetime.now(UTC)).isoformat(timespec="milliseconds")
        outcome = "uncertain" if result.failed else "applied"
        return [{"ts": ts, "who": self.user, "device": result.device, "setting": c.setting,
                 "old": mask_secrets(c.old, c.setting), "new": mask_secrets(c.new, c.setting),
                 "outcome": outcome, "run": self.run} for c in result.diff]

    def append(self, results: Iterable[Result]) -> int:
        """Append the changes of applied (not check-mode) results; returns the line count."""
        now = datetime.now(UTC)
        lines = [json.dumps(rec, sort_keys=True, ensure_ascii=False, default=str)
                 for r in results for rec in self.records(r, now)]
        if not lines:
            return 0
        self.dir.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode("utf-8")
        fd = os.open(self.path_for(now), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:  # a short write must not leave half a line for the next writer
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)  # closing releases the lock
        return len(lines)


def read_audit(deployment_root: Path) -> Iterator[dict[str, Any]]:
    """Every record, oldest month first (for reports and tests)."""
    for path in sorted((Path(deployment_root) / AUDIT_DIR).glob("provision-*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


__all__ = ["AUDIT_DIR", "AuditLog", "mask_secrets", "read_audit", "who"]
