"""A lab of a copy of the example deployment, provisioned by the batch core, for enrollment and
verification tests. Loopback block of these tests: address offset 6 (10.34.x.y → 127.40.x.y),
HTTP 19080, RTSP 19554, SSH 19022; registrars on 5060/5080 of their own addresses.

Every enrolling device of the example has a GB/T 28181 plug-in (Hikvision-like: ISAPI,
Dahua-like: configManager.cgi, alarm hosts: their JSON API), so a clean run reaches 100 %.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from safecity.lab.control import lab_down, lab_status, lab_up
from safecity.provision.batch import (
    ensure_lab_account_secrets,
    load_fleet,
    provision_fleet,
    read_secrets,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"
OFFSET, HTTP, RTSP, SSH = 6, 19080, 19554, 19022


def example_copy(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".lab", ".health", "audit", "results"))
    return dest


@contextlib.contextmanager
def provisioned_lab(root: Path) -> Iterator[Path]:
    """Lab up from the box, then every camera/encoder provisioned (the batch core)."""
    lab_up(root, address_offset=OFFSET, http_port=HTTP, rtsp_port=RTSP, ssh_port=SSH, timeout=90)
    try:
        fleet = load_fleet(root, lab=True)
        ensure_lab_account_secrets(root, fleet.policy)
        secrets = read_secrets(root, lab=True, vault=None, vault_password_file=None)
        report = asyncio.run(provision_fleet(fleet, secrets, check_mode=False, concurrency=50,
                                             audit=False))
        assert not report.failed, [r.error for r in report.failed]
        yield root
    finally:
        lab_down(root)


def lab_rows(root: Path) -> dict[str, dict[str, Any]]:
    return {str(r["name"]): r for r in lab_status(root)}


def wait_lab(root: Path, ready: Callable[[dict[str, dict[str, Any]]], bool],
             timeout: float = 30.0) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = lab_rows(root)
        if ready(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError("the lab did not reach the expected state in time")
        time.sleep(0.2)


def device_state(root: Path, name: str) -> dict[str, Any]:
    """What the simulator persisted for a device (independent of the code under test)."""
    data: dict[str, Any] = json.loads((root / ".lab" / "state" / "devices" / f"{name}.json").read_text())
    return data


def planned_gb_id(root: Path, name: str) -> str:
    lock = json.loads((root / "plan.lock.json").read_text())
    gb_ids = lock.get("gb_ids", lock)
    value = gb_ids[name]
    return str(value if isinstance(value, str) else value["id"])


def set_port(root: Path, device: str, port: str) -> str:
    """Point one device's ``port:`` at another switch port in the inventory; returns the old one."""
    for f in (root / "regions").rglob("*.yml"):
        text = f.read_text(encoding="utf-8")
        m = re.search(r"\{name: " + re.escape(device) + r",[^}]*?port: ([^,}]+)", text)
        if m:
            f.write_text(text[:m.start(1)] + port + text[m.end(1):], encoding="utf-8")
            return m.group(1)
    raise AssertionError(f"{device} not found in the inventory")
