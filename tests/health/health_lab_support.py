"""Shared by the health check's lab tests: a copy of the example deployment with its lab up."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from safecity.lab.control import lab_down, lab_up

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"


@contextlib.contextmanager
def example_lab(dest: Path, *, http_port: int, rtsp_port: int, ssh_port: int, offset: int) -> Iterator[Path]:
    """``inventory/example`` copied to ``dest`` (no lab state, no history), its lab up in the
    provisioned state on the test's own loopback block (``offset``) and ports; down afterwards."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".lab", ".health"))
    lab_up(dest, state="provisioned", http_port=http_port, rtsp_port=rtsp_port, ssh_port=ssh_port,
           address_offset=offset)
    try:
        yield dest
    finally:
        lab_down(dest)
