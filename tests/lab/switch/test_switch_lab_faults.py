"""Injected faults, hostile input and paging, over real SSH (netmiko, or bare paramiko)."""

from __future__ import annotations

import asyncio
import os
import time

import paramiko
import pytest
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)
from switch_lab_support import (
    CISCO,
    COMWARE,
    HUAWEI,
    RawShell,
    connect,
    make_spec,
    show,
)

from safecity.errors import LabError
from safecity.lab.switch import SwitchSpec

pytestmark = pytest.mark.filterwarnings(
    "ignore:Diffie-Hellman over finite fields:UserWarning")

# What a paramiko >= 5 style client does: no SHA-1 key exchange, no ssh-rsa host keys.
MODERN_ONLY = {"kex": ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
                       "diffie-hellman-group-exchange-sha1"], "keys": ["ssh-rsa"]}


def _version_of(spec: SwitchSpec, **kwargs: object) -> str:
    conn = connect(spec, **kwargs)
    try:
        return show(conn, "show version" if spec.platform == "cisco_ios" else "display version")
    finally:
        conn.disconnect()


async def test_offline_refuses_and_clear_brings_it_back(start_lab) -> None:
    spec = make_spec(CISCO, "off1")
    other = make_spec(CISCO, "off2")
    lab = await start_lab([spec, other])
    lab.set_fault("off1", "offline")
    with pytest.raises(NetmikoTimeoutException, match="TCP connection to device failed"):
        await asyncio.to_thread(_version_of, spec)
    assert "SN-off2" in await asyncio.to_thread(_version_of, other)
    rows = {r["name"]: r for r in lab.status()}
    assert rows["off1"]["listening"] is False and rows["off1"]["faults"] == {"offline": True}
    lab.clear_faults("off1")
    assert "SN-off1" in await asyncio.to_thread(_version_of, spec)


async def test_wrong_credentials_is_an_authentication_failure(start_lab) -> None:
    spec = make_spec(COMWARE, "auth1")
    lab = await start_lab([spec])
    lab.set_fault("auth1", "wrong_credentials")
    with pytest.raises(NetmikoAuthenticationException):
        await asyncio.to_thread(_version_of, spec)
    lab.clear_faults("auth1")
    assert "SN-auth1" in await asyncio.to_thread(_version_of, spec)


async def test_drop_closes_the_session_mid_push(start_lab) -> None:
    spec = make_spec(CISCO, "drop1")
    lab = await start_lab([spec])
    lab.set_fault("drop1", "drop", "2")

    def push() -> None:
        conn = connect(spec)
        try:
            conn.send_config_set([f"interface {CISCO.port(1)}", "description first",
                                  "description second", "description third"], read_timeout=1.5)
        finally:
            conn.disconnect()

    with pytest.raises((ReadTimeout, OSError, EOFError)):
        await asyncio.to_thread(push)
    running = lab.running_config("drop1")
    assert "description first" in running
    assert "description second" not in running
    # The switch itself is fine: a new session (fewer config lines than the limit) works.
    assert "SN-drop1" in await asyncio.to_thread(_version_of, spec)


@pytest.mark.parametrize("flavor", [COMWARE, CISCO], ids=lambda f: f.platform)
async def test_reject_refuses_matching_lines_with_the_vendor_error(start_lab, flavor) -> None:
    spec = make_spec(flavor, "rej1")
    lab = await start_lab([spec])
    lab.set_fault("rej1", "reject", "vlan 99")

    def push() -> None:
        conn = connect(spec)
        try:
            conn.send_config_set(["vlan 98", "vlan 99"], error_pattern=flavor.error_pattern)
        finally:
            conn.disconnect()

    with pytest.raises(ConfigInvalidException, match="vlan 99"):
        await asyncio.to_thread(push)
    running = lab.running_config("rej1")
    assert "vlan 98" in running and "vlan 99" not in running


async def test_legacy_ssh_needs_sha1_kex_and_ssh_rsa(start_lab) -> None:
    legacy = make_spec(HUAWEI, "old1", legacy_ssh_only=True)
    modern = make_spec(COMWARE, "new1")
    lab = await start_lab([legacy, modern])

    with pytest.raises(NetmikoTimeoutException, match="(?i)incompatible|no acceptable"):
        await asyncio.to_thread(_version_of, legacy, disabled_algorithms=MODERN_ONLY)

    def host_key_type(spec: SwitchSpec) -> str:
        conn = connect(spec)
        try:
            transport = conn.remote_conn.get_transport()
            return transport.get_remote_server_key().get_name()
        finally:
            conn.disconnect()

    assert await asyncio.to_thread(host_key_type, legacy) == "ssh-rsa"
    assert "SN-new1" in await asyncio.to_thread(_version_of, modern, disabled_algorithms=MODERN_ONLY)

    lab.set_fault("new1", "legacy_ssh")
    with pytest.raises(NetmikoTimeoutException):
        await asyncio.to_thread(_version_of, modern, disabled_algorithms=MODERN_ONLY)
    lab.clear_faults("new1")
    assert "SN-new1" in await asyncio.to_thread(_version_of, modern, disabled_algorithms=MODERN_ONLY)


async def test_slow_delays_every_prompt(start_lab) -> None:
    spec = make_spec(CISCO, "slow1")
    lab = await start_lab([spec])
    conn = await asyncio.to_thread(connect, spec)
    try:
        lab.set_fault("slow1", "slow", "0.4")

        def timed_show() -> float:
            start = time.monotonic()
            show(conn, "show version")
            return time.monotonic() - start

        assert await asyncio.to_thread(timed_show) >= 0.4
        lab.clear_faults("slow1")
    finally:
        await asyncio.to_thread(conn.disconnect)


async def test_garbage_and_oversized_input_never_break_the_lab(start_lab) -> None:
    spec = make_spec(HUAWEI, "junk1")
    other = make_spec(CISCO, "junk2")
    lab = await start_lab([spec, other])

    def abuse() -> tuple[str, str, bool]:
        shell = RawShell(spec)
        try:
            shell.read_until("<JUNK1>")
            shell.chan.send(b"\x00\xff\xfe\x1b[A\x01binary \xc3\x28 junk\r\n")
            garbage_reply = shell.read_until("<JUNK1>")
            shell.chan.send(b"display version " + b"x" * 600 + b"\n")
            long_reply = shell.read_until("<JUNK1>")
            # Printable junk (control bytes would act as Ctrl-C / backspace and reset the line).
            try:
                shell.chan.sendall(bytes(0x21 + b % 94 for b in os.urandom(256 * 1024)))
            except OSError:
                pass  # the switch may hang up before all of it is sent
            return garbage_reply, long_reply, shell.wait_closed()
        finally:
            shell.close()

    garbage_reply, long_reply, closed = await asyncio.to_thread(abuse)
    assert "Error: Unrecognized command found at '^' position." in garbage_reply
    assert "Error: The command is too long." in long_reply
    assert closed  # a 64 KiB line is not a CLI user
    assert "SN-junk2" in await asyncio.to_thread(_version_of, other)
    assert "SN-junk1" in await asyncio.to_thread(_version_of, spec)
    assert len(lab.status()) == 2


@pytest.mark.parametrize("flavor", [HUAWEI, CISCO], ids=lambda f: f.platform)
async def test_long_output_is_paged_until_paging_is_disabled(start_lab, flavor) -> None:
    spec = make_spec(flavor, "page1")
    await start_lab([spec])
    prompt = "PAGE1#" if flavor is CISCO else "<PAGE1>"
    more = " --More-- " if flavor is CISCO else "  ---- More ----"

    def browse() -> tuple[str, str, str]:
        shell = RawShell(spec)
        try:
            shell.read_until(prompt.replace("#", ">"))
            if flavor is CISCO:
                shell.chan.send("enable\n")
                shell.read_until("Password: ")
                shell.chan.send(f"{spec.password}\n")
                shell.read_until(prompt)
            shell.chan.send(f"{flavor.show_run}\n")
            first_page = shell.read_until(more)
            shell.chan.send(" ")
            shell.read_until(more)
            shell.chan.send("q")
            stopped = shell.read_until(prompt)
            shell.chan.send("terminal length 0\n" if flavor is CISCO
                            else "screen-length 0 temporary\n")
            shell.read_until(prompt)
            shell.chan.send(f"{flavor.show_run}\n")
            whole = shell.read_until("\nend" if flavor is CISCO else "\nreturn")
            return first_page, stopped, whole
        finally:
            shell.close()

    first_page, stopped, whole = await asyncio.to_thread(browse)
    body = first_page.split(flavor.show_run, 1)[1].split(more)[0]
    assert len(body.strip("\r\n").split("\r\n")) == 24
    assert stopped.rstrip().endswith(prompt)
    assert more not in whole


async def test_lab_api_rejects_bad_specs_and_faults(start_lab, tmp_path) -> None:
    spec = make_spec(CISCO, "api1")
    with pytest.raises(LabError, match="api1: duplicate switch name"):
        await start_lab([spec, make_spec(CISCO, "api1")])
    with pytest.raises(LabError, match="only listens on loopback"):
        await start_lab([make_spec(CISCO, "api2", host="192.0.2.1")])
    with pytest.raises(LabError, match="cabled to Gi9/9, which is not one of the switch's ports"):
        await start_lab([make_spec(CISCO, "api3", mac_table=[
            __import__("safecity.lab.switch", fromlist=["MacEntry"]).MacEntry(
                "00:11:22:33:44:55", 1, "Gi9/9")])])
    lab = await start_lab([spec])
    with pytest.raises(LabError, match="api1: set_fault melt: unknown fault"):
        lab.set_fault("api1", "melt")
    with pytest.raises(LabError, match="api1: set_fault drop: value must be a command count"):
        lab.set_fault("api1", "drop", "many")
    with pytest.raises(LabError, match="nope: no such switch"):
        lab.set_fault("nope", "offline")
    with pytest.raises(LabError, match="cannot listen"):
        await start_lab([make_spec(CISCO, "api4", host=spec.host)], tmp_path / "other")
    assert paramiko.__version__.startswith("4.")
