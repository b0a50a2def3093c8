"""CLI behaviour of the simulated switches, driven by unmodified netmiko over real SSH."""

from __future__ import annotations

import asyncio

import pytest
from netmiko.exceptions import ConfigInvalidException
from switch_lab_support import (
    CISCO,
    COMWARE,
    FAST,
    FLAVORS,
    HUAWEI,
    Flavor,
    block,
    connect,
    intended_with_access_port,
    interface_row,
    make_spec,
    parse_running,
    remediation_lines,
    show,
)

ALL = (HUAWEI, COMWARE, CISCO)


def _ids(f: Flavor) -> str:
    return f.platform


@pytest.mark.parametrize("flavor", ALL, ids=_ids)
async def test_login_paging_off_and_display_views(start_lab, flavor: Flavor) -> None:
    spec = make_spec(flavor, "acc1")
    lab = await start_lab([spec])

    def session() -> dict[str, str]:
        conn = connect(spec)
        try:
            return {
                "prompt": conn.find_prompt(),
                "running": show(conn, flavor.show_run),
                "mac": show(conn, flavor.show_mac),
                "interfaces": show(conn, flavor.show_interfaces),
                "version": show(conn, flavor.show_version),
                "bad": show(conn, "bogus-command now"),
            }
        finally:
            conn.disconnect()

    out = await asyncio.to_thread(session)

    assert out["prompt"] == {"cisco_ios": "ACC1#"}.get(flavor.platform, "<ACC1>")
    # Longer than a 24-line page, yet complete: netmiko's paging-off command took effect.
    assert len(out["running"].splitlines()) > 30
    assert "More" not in out["running"]
    assert out["running"].strip() == lab.running_config("acc1").strip()
    assert flavor.mac_text in out["mac"]
    assert flavor.mac_text.replace("55", "66") in out["mac"]
    assert flavor.up_word in interface_row(out["interfaces"], flavor, 1).split()
    assert flavor.down_word in interface_row(out["interfaces"], flavor, 3).split()
    assert "SN-acc1" in out["version"]
    assert flavor.unknown_error in out["bad"]


@pytest.mark.parametrize("flavor", FAST, ids=_ids)
async def test_hier_config_round_trip_and_second_push_changes_nothing(
        start_lab, flavor: Flavor) -> None:
    spec = make_spec(flavor, "rt1")
    await start_lab([spec])
    port = flavor.port(3)

    def flow() -> tuple[list[str], list[str], str, str, list[str]]:
        conn = connect(spec)
        try:
            running = parse_running(flavor, show(conn, flavor.show_run))
            intended = intended_with_access_port(flavor, running, port)
            push = remediation_lines(running, intended)
            conn.send_config_set(push, error_pattern=flavor.error_pattern)
            first = show(conn, flavor.show_run)
            conn.send_config_set(push, error_pattern=flavor.error_pattern)
            second = show(conn, flavor.show_run)
            left = remediation_lines(parse_running(flavor, second), intended)
            return push, block(parse_running(flavor, second), f"interface {port}"), first, \
                second, left
        finally:
            conn.disconnect()

    push, port_block, first, second, left = await asyncio.to_thread(flow)
    assert push[0] == f"interface {port}"
    assert set(flavor.access_lines) <= set(port_block)
    assert left == []  # hier_config sees exactly what was asked for
    # Cisco prints the config size in its header; everything else must be byte-identical.
    assert first.splitlines()[3:] == second.splitlines()[3:]


@pytest.mark.parametrize("flavor", FAST, ids=_ids)
async def test_negation_removes_lines_and_shutdown_shows_in_views(
        start_lab, flavor: Flavor) -> None:
    spec = make_spec(flavor, "neg1")
    lab = await start_lab([spec])
    port = flavor.port(2)  # a camera MAC is learned on this port
    neg = flavor.negation

    def flow() -> tuple[str, str, str, str]:
        conn = connect(spec)
        try:
            conn.send_config_set(
                [flavor.ntp_line, f"interface {port}", "description temp", flavor.edge_line,
                 "shutdown", f"{neg} {flavor.edge_line}", f"{neg} description",
                 f"{neg} {flavor.ntp_line}"],
                error_pattern=flavor.error_pattern)
            shut_mac = show(conn, flavor.show_mac)
            shut_if = show(conn, flavor.show_interfaces)
            conn.send_config_set([f"interface {port}", f"{neg} shutdown"],
                                 error_pattern=flavor.error_pattern)
            return shut_mac, shut_if, show(conn, flavor.show_mac), show(conn, flavor.show_run)
        finally:
            conn.disconnect()

    shut_mac, shut_if, open_mac, running_text = await asyncio.to_thread(flow)
    second_mac = flavor.mac_text.replace("55", "66")
    assert second_mac not in shut_mac  # a shut port learns nothing
    assert flavor.admin_down_word in interface_row(shut_if, flavor, 2).split()
    assert second_mac in open_mac
    running = parse_running(flavor, running_text)
    assert "description temp" not in block(running, f"interface {port}")
    assert flavor.edge_line not in block(running, f"interface {port}")
    assert "shutdown" not in block(running, f"interface {port}")
    assert flavor.ntp_line not in lab.running_config("neg1")


@pytest.mark.parametrize("flavor", FAST, ids=_ids)
async def test_invalid_config_line_gets_vendor_error_and_error_pattern_raises(
        start_lab, flavor: Flavor) -> None:
    spec = make_spec(flavor, "err1")
    lab = await start_lab([spec])
    port = flavor.port(5)

    def flow() -> str:
        conn = connect(spec)
        try:
            with pytest.raises(ConfigInvalidException, match="bogus-keyword"):
                conn.send_config_set([f"interface {port}", "description ok", "bogus-keyword x",
                                      "description never"], error_pattern=flavor.error_pattern)
            conn.exit_config_mode()
            # Without error_pattern the error text simply comes back in the output.
            return conn.send_config_set(["bogus-keyword y"])
        finally:
            conn.disconnect()

    output = await asyncio.to_thread(flow)
    assert flavor.unknown_error in output
    assert "description ok" in lab.running_config("err1")
    assert "description never" not in lab.running_config("err1")


@pytest.mark.parametrize("flavor", FAST, ids=_ids)
async def test_saved_config_survives_restart_and_unsaved_is_lost(
        start_lab, flavor: Flavor) -> None:
    spec = make_spec(flavor, "keep1")
    lab = await start_lab([spec])

    def configure() -> None:
        conn = connect(spec)
        try:
            conn.send_config_set([f"interface {flavor.port(6)}", "description saved-line"])
            conn.save_config()
            conn.send_config_set([f"interface {flavor.port(7)}", "description unsaved-line"])
        finally:
            conn.disconnect()

    await asyncio.to_thread(configure)
    assert "unsaved-line" in lab.running_config("keep1")
    assert "unsaved-line" not in lab.saved_config("keep1")
    await lab.close()

    lab = await start_lab([spec])  # same state directory: a reboot

    def read() -> str:
        conn = connect(spec)
        try:
            return show(conn, flavor.show_run)
        finally:
            conn.disconnect()

    running = await asyncio.to_thread(read)
    assert "description saved-line" in running
    assert "unsaved-line" not in running
    assert lab.running_config("keep1") == lab.saved_config("keep1")


async def test_hostname_change_moves_the_prompt(start_lab) -> None:
    spec = make_spec(CISCO, "host1")
    lab = await start_lab([spec])

    def flow() -> str:
        conn = connect(spec)
        try:
            conn.send_config_set(["hostname CAM-SW-7"])
            conn.set_base_prompt()
            return conn.find_prompt()
        finally:
            conn.disconnect()

    assert await asyncio.to_thread(flow) == "CAM-SW-7#"
    assert lab.status()[0]["hostname"] == "CAM-SW-7"


def test_flavors_cover_every_platform() -> None:
    from safecity.lab.switch import PLATFORMS

    assert set(FLAVORS) == set(PLATFORMS)
