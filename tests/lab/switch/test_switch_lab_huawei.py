"""Huawei VRP end to end with netmiko's stock ``huawei`` driver.

Stock netmiko waits 2 s of silence in every Huawei config-mode check (DOMAIN.md §4), so one push
costs ~8 s; the two flows run side by side on two switches to keep the suite fast.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from netmiko.exceptions import ConfigInvalidException
from switch_lab_support import (
    HUAWEI,
    block,
    connect,
    intended_with_access_port,
    make_spec,
    parse_running,
    remediation_lines,
    show,
)


async def test_huawei_push_save_undo_errors_and_restart(start_lab) -> None:
    planned = make_spec(HUAWEI, "hw-plan")
    scratch = make_spec(HUAWEI, "hw-scratch")
    lab = await start_lab([planned, scratch])
    port = HUAWEI.port(3)

    def planned_change() -> tuple[list[str], str, str, list[str]]:
        """Template -> hier_config remediation -> push (twice in one go) -> re-read -> save."""
        conn = connect(planned)
        try:
            running = parse_running(HUAWEI, show(conn, HUAWEI.show_run))
            intended = intended_with_access_port(HUAWEI, running, port)
            push = remediation_lines(running, intended)
            # The same lines twice in one session: the second copy must change nothing.
            output = conn.send_config_set(push + push, error_pattern=HUAWEI.error_pattern)
            after = show(conn, HUAWEI.show_run)
            saved = conn.save_config()
            left = remediation_lines(parse_running(HUAWEI, after), intended)
            return push, output, after + saved, left
        finally:
            conn.disconnect()

    def undo_and_error() -> str:
        conn = connect(scratch)
        try:
            with pytest.raises(ConfigInvalidException, match="bogus-keyword"):
                conn.send_config_set(
                    [HUAWEI.ntp_line, f"interface {HUAWEI.port(4)}", "description temp",
                     HUAWEI.edge_line, f"undo {HUAWEI.edge_line}", "undo description",
                     "description kept", f"undo {HUAWEI.ntp_line}", "bogus-keyword 1"],
                    error_pattern=HUAWEI.error_pattern)
            return show(conn, "display current-configuration")
        finally:
            conn.disconnect()

    (push, output, after, left), scratch_running = await asyncio.gather(
        asyncio.to_thread(planned_change), asyncio.to_thread(undo_and_error))

    # The Huawei prompt follows each view at once (a prompt-aware driver can skip the 2 s wait).
    assert re.search(rf"\[HW-PLAN-{re.escape(port)}\]\s*description cam-0001", output)
    assert push[0] == f"interface {port}"
    assert left == []
    port_block = block(parse_running(HUAWEI, after), f"interface {port}")
    assert port_block == list(HUAWEI.access_lines)  # no duplicates from the second copy
    assert "Are you sure to continue?[Y/N]" in after
    assert "Save the configuration successfully." in after

    scratch_block = block(parse_running(HUAWEI, scratch_running), f"interface {HUAWEI.port(4)}")
    assert scratch_block == ["description kept"]
    assert HUAWEI.ntp_line not in scratch_running

    await lab.close()
    lab = await start_lab([planned, scratch])  # reboot: running = saved
    assert "description cam-0001" in lab.running_config("hw-plan")
    assert "description kept" not in lab.running_config("hw-scratch")
