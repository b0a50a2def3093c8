"""`safecity lab up|status|fault|down` on a copy of the example deployment, through real clients.

The lab runs as separate worker processes (as users run it); the test reaches devices over real
sockets with unmodified third-party clients: onvif-zeep-async, netmiko, and a raw SIP probe.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OFFSET = 61   # 10.34.x.y → 127.95.x.y: does not collide with a developer's own lab of the example
PORTS = ["--http-port", "18080", "--rtsp-port", "18554", "--ssh-port", "18022"]


def sc(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "safecity.cli", *args], capture_output=True, text=True,
                          timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"safecity {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("lab") / "inventory" / "example"
    shutil.copytree(REPO / "inventory" / "example", root, ignore=shutil.ignore_patterns(".lab"))
    sc("lab", "up", str(root), "--address-offset", str(OFFSET), *PORTS)
    try:
        yield root
    finally:
        sc("lab", "down", str(root), check=False)


def status(root: Path) -> dict[str, dict[str, object]]:
    rows = json.loads(sc("lab", "status", str(root), "--format", "json").stdout)
    return {r["name"]: r for r in rows}


def test_every_inventory_device_is_in_the_lab_on_loopback(lab: Path) -> None:
    rows = status(lab)
    # 63 front-end devices: 61 with ONVIF, 2 alarm hosts (vendor API + SIP); 9 switches, 5 SIP
    # platform servers
    assert sum(1 for r in rows.values() if r["kind"] in ("ipc", "encoder", "nvr")) == 61
    alarm = [r for r in rows.values() if r["kind"] == "alarm_host"]
    assert len(alarm) == 2 and all(r["phase"] == "up" and r["gb28181"] == "disabled" for r in alarm)
    assert sum(1 for r in rows.values() if r["kind"] == "switch") == 9
    assert sum(1 for r in rows.values() if r["kind"] == "platform_server") == 5
    assert all(str(r["lab_ip"]).startswith("127.") for r in rows.values())
    assert rows["dscg-cam-001"]["real_ip"] == "10.34.18.2"
    assert rows["dscg-cam-001"]["lab_ip"] == "127.95.18.2"
    mapping = json.loads((lab / ".lab" / "addresses.json").read_text())
    assert mapping["10.34.18.2"] == "127.95.18.2"


def test_factory_dahua_answers_onvif_with_its_factory_account(lab: Path) -> None:
    from onvif import ONVIFCamera

    async def info() -> tuple[str, str]:
        cam = ONVIFCamera("127.95.17.3", 18080, "admin", "admin")
        try:
            await cam.update_xaddrs()
            dm = await cam.create_devicemgmt_service()
            res = await dm.GetDeviceInformation()
            return str(res.Manufacturer), str(res.Model)
        finally:
            await cam.close()

    assert asyncio.run(info()) == ("Dahua", "IPC-HFW2431S-S-S2")


def test_switch_speaks_huawei_cli_with_the_lab_vault_password(lab: Path) -> None:
    from netmiko import ConnectHandler

    from safecity.vault import read_vault

    secrets = read_vault(lab / ".lab" / "vault.yml", lab / ".lab" / "vault-pass")
    conn = ConnectHandler(device_type="huawei", host="127.95.65.2", port=18022, username="admin",
                          password=secrets.get("vault_switch_admin_password"))
    try:
        macs = conn.send_command("display mac-address")
    finally:
        conn.disconnect()
    assert "4419-b62e-d91e" in macs and "GE0/0/1" in macs   # dsc-cam-001 cabled on port 1


def test_fault_injection_at_runtime_and_clear(lab: Path) -> None:
    sc("lab", "fault", "dsc-cam-002", "offline", "-d", str(lab))
    assert status(lab)["dsc-cam-002"]["faults"] == ["offline"]
    import socket
    with pytest.raises(OSError):
        socket.create_connection(("127.95.17.3", 18080), timeout=2).close()
    sc("lab", "fault", "dsc-cam-002", "--clear", "-d", str(lab))
    assert not status(lab)["dsc-cam-002"]["faults"]
    socket.create_connection(("127.95.17.3", 18080), timeout=5).close()


def test_unknown_device_and_fault_are_clear_errors(lab: Path) -> None:
    bad = sc("lab", "fault", "no-such-cam", "offline", "-d", str(lab), check=False)
    assert bad.returncode == 1 and "no-such-cam: no such device in the lab" in bad.stderr
    worse = sc("lab", "fault", "jc-plat-01", "slow", "-d", str(lab), check=False)
    assert worse.returncode == 1 and "jc-plat-01: a platform peer supports only the 'down' fault" in worse.stderr


def test_platform_peer_refuses_unknown_devices(lab: Path) -> None:
    from safecity.drivers.sip import register_probe

    async def probe() -> int:
        res = await register_probe("127.95.2.10", 5060, "34020000001320009999", "wrong", "34020000002000000001",
                                   "3402000000", timeout=5, local_host="127.95.200.1")
        return res.status

    assert asyncio.run(probe()) == 403


def test_faults_can_be_injected_at_lab_up(tmp_path: Path) -> None:
    root = tmp_path / "inventory" / "example"
    shutil.copytree(REPO / "inventory" / "example", root, ignore=shutil.ignore_patterns(".lab"))
    bad = sc("lab", "up", str(root), "--fault", "dsc-cam-001", check=False)
    assert bad.returncode == 2 and "expected DEVICE=FAULT[:VALUE]" in bad.stderr
    sc("lab", "up", str(root), "--address-offset", "62", "--http-port", "18081", "--rtsp-port", "18555",
       "--ssh-port", "18023", "--fault", "dsc-cam-001=slow:0.5", "--fault", "dsc-cam-003=black")
    try:
        rows = status(root)
        assert rows["dsc-cam-001"]["faults"] == ["slow"]
        assert not rows["dsc-cam-002"]["faults"]
    finally:
        sc("lab", "down", str(root), check=False)


def test_lab_up_twice_is_refused_and_down_is_idempotent(lab: Path) -> None:
    again = sc("lab", "up", str(lab), "--address-offset", str(OFFSET), *PORTS, check=False)
    assert again.returncode == 1 and "already up" in again.stderr


def test_rtsp_describe_follows_the_device_account_and_faults(lab: Path) -> None:
    from safecity.drivers.rtsp import describe
    from safecity.errors import AuthFailed, DeviceUnreachable

    url = "rtsp://127.95.17.3:18554/cam/realmonitor?channel=1&subtype=0"   # dsc-cam-002, Dahua-like
    res = asyncio.run(describe(url, "admin", "admin", 5))
    assert res.codec == "H265" and res.resolution == (2688, 1520)
    with pytest.raises(AuthFailed):
        asyncio.run(describe(url, "admin", "wrong", 5))
    sc("lab", "fault", "dsc-cam-002", "offline", "-d", str(lab))
    try:
        with pytest.raises(DeviceUnreachable):
            asyncio.run(describe(url, "admin", "admin", 3))
    finally:
        sc("lab", "fault", "dsc-cam-002", "--clear", "-d", str(lab))
