"""SwitchSession over real SSH to lab switches: reads, pushes, saves, and every failure as a
``safecity.errors`` type with ``<switch>: <operation>: <reason>``."""

from __future__ import annotations

import asyncio
import time

import pytest
from cli_lab_support import PREFIX, spec_for, target_for

from safecity.drivers.cli import SwitchSession
from safecity.drivers.cli.mac_table import MacTableEntry, parse_mac_table
from safecity.errors import AuthFailed, DeviceRejected, DeviceTimeout, DeviceUnreachable

pytestmark = pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields:UserWarning")
PLATFORMS = ("huawei_vrp", "hp_comware", "cisco_ios")


async def test_read_push_save_and_mac_table_on_every_platform(cli_lab) -> None:
    specs = [spec_for(p, f"s-{p[:3]}") for p in PLATFORMS]
    lab = await cli_lab(specs)

    def work(i: int) -> tuple[list[MacTableEntry], str]:
        spec = specs[i]
        access = PREFIX[spec.platform][0]
        hostname = ("hostname" if spec.platform == "cisco_ios" else "sysname") + f" renamed-{i}"
        with SwitchSession(target_for(spec)) as s:
            # The hostname changes the prompt mid-push; the session must keep working after it.
            s.push([hostname, f"interface {access}3", "description pushed by safecity",
                    "shutdown"])
            s.save()
            return parse_mac_table(s.mac_table_text(), s.platform), s.running_config()

    results = await asyncio.gather(*(asyncio.to_thread(work, i) for i in range(3)))
    for i, (spec, (table, running)) in enumerate(zip(specs, results, strict=True)):
        access = PREFIX[spec.platform][0]
        assert table == [MacTableEntry("4419b62ed91e", 1002, f"{access}1"),
                         MacTableEntry("3cef8c3f721f", 1002, f"{access}2")]
        assert "description pushed by safecity" in running
        assert f"renamed-{i}" in lab.saved_config(spec.name)
        assert lab.saved_config(spec.name) == lab.running_config(spec.name)


async def test_failures_are_safecity_errors_naming_switch_and_operation(cli_lab) -> None:
    locked, gone, strict, flaky = (spec_for("hp_comware", n) for n in ("locked", "gone", "strict", "flaky"))
    lab = await cli_lab([locked, gone, strict, flaky])
    lab.set_fault("locked", "wrong_credentials")
    lab.set_fault("gone", "offline")
    lab.set_fault("strict", "reject", "ntp-service")
    lab.set_fault("flaky", "drop", "2")

    def login(spec) -> None:
        with SwitchSession(target_for(spec)) as s:
            s.running_config()

    with pytest.raises(AuthFailed, match="^locked: login: the switch refused the credentials$"):
        await asyncio.to_thread(login, locked)
    with pytest.raises(DeviceUnreachable, match=r"^gone: login: no SSH service at 127\.36\."):
        await asyncio.to_thread(login, gone)

    def push(spec) -> None:
        with SwitchSession(target_for(spec)) as s:
            s.push(["vlan 1002", "quit", "ntp-service unicast-server 10.34.3.2", "vlan 1003"])

    with pytest.raises(DeviceRejected, match=r"^strict: push: line 'ntp-service unicast-server "
                       r"10\.34\.3\.2' refused: % Wrong parameter found at '\^' position\.$"):
        await asyncio.to_thread(push, strict)
    started = time.monotonic()
    with pytest.raises(DeviceUnreachable, match="^flaky: push: session dropped"):
        await asyncio.to_thread(push, flaky)
    # Reported when the channel closes, not after the 10 s read timeout.
    assert time.monotonic() - started < 5


async def test_slow_switch_within_timeout_works_and_beyond_it_times_out(cli_lab) -> None:
    slow, slower = spec_for("cisco_ios", "slow"), spec_for("cisco_ios", "slower")
    lab = await cli_lab([slow, slower])
    lab.set_fault("slow", "slow", "0.3")
    lab.set_fault("slower", "slow", "4")

    def read(spec, timeout: float) -> str:
        with SwitchSession(target_for(spec, timeout=timeout)) as s:
            return s.show("show version")

    assert "Cisco IOS Software" in await asyncio.to_thread(read, slow, 10.0)
    with pytest.raises(DeviceTimeout, match="^slower: login: not logged in within 1 s$"):
        await asyncio.to_thread(read, slower, 1.0)


async def test_fixed_huawei_driver_skips_the_two_second_config_mode_wait(cli_lab) -> None:
    fixed, stock = spec_for("huawei_vrp", "hw-fixed"), spec_for("huawei_vrp", "hw-stock")
    await cli_lab([fixed, stock])
    lines = ["interface GigabitEthernet0/0/4", "description camera", "quit"]

    def timed_push(spec, driver: str) -> float:
        with SwitchSession(target_for(spec, driver=driver)) as s:
            started = time.monotonic()
            s.push(lines)
            return time.monotonic() - started

    fast, slow = await asyncio.gather(asyncio.to_thread(timed_push, fixed, "safecity"),
                                      asyncio.to_thread(timed_push, stock, "stock"))
    assert slow >= 2.0  # stock netmiko: 2 s of silence per config-mode check
    assert fast < 1.0
