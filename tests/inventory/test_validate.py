"""Every validation rule: a failing fixture and the exact message a user sees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from safecity.inventory import check_deployment

from collections.abc import Callable

Edit = Callable[[str, str, str], int]
DONGSHAN = "regions/luzhou/dongshan.yml"
F = "inventory/demo/" + DONGSHAN


def messages(root: Path) -> list[str]:
    return [str(p) for p in check_deployment(root).problems]


def test_example_deployment_is_valid(deployment: Path) -> None:
    checked = check_deployment(deployment)
    assert checked.problems == []
    assert checked.deployment is not None
    assert len(checked.deployment.devices) == 63


def test_bad_ipv4_is_reported_with_file_line_and_item(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-007,", "{name: dscg-cam-007, ip: 10.34.18.300,")
    assert messages(deployment) == [f"{F}:{line}: camera dscg-cam-007: ip 10.34.18.300 is not an IPv4 address"]


def test_unknown_key_suggests_the_right_one(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-002, model:", "{name: dscg-cam-002, modle:")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-002: missing required key 'model'",
        f"{F}:{line}: camera dscg-cam-002: unknown key 'modle' (did you mean 'model'?)",
    ]


def test_wrong_type(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "    camera_vlan: 1003", "    camera_vlan: tenth")
    assert messages(deployment) == [
        f"{F}:{line}: site ds-chengguan: camera_vlan: Input should be a valid integer, "
        "unable to parse string as an integer (got 'tenth')"]


def test_malformed_yaml(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-003,", "{name: [dscg-cam-003,")
    msgs = messages(deployment)
    assert len(msgs) == 1
    assert msgs[0].startswith(f"{F}:{line}: malformed YAML")


def test_empty_file(deployment: Path) -> None:
    (deployment / DONGSHAN).write_text("\n\n", encoding="utf-8")
    assert f"{F}: file is empty" in messages(deployment)


def test_non_utf8_file(deployment: Path) -> None:
    path = deployment / DONGSHAN
    path.write_bytes(path.read_bytes().replace("Dongshan District".encode(), "东山区".encode("gb18030"), 1))
    msgs = messages(deployment)
    assert msgs[0].startswith(f"{F}:1: not UTF-8 (byte 0xb6")
    assert msgs[0].endswith("save the file as UTF-8")


def test_duplicate_key_in_a_mapping(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "    camera_vlan: 1003\n", "    camera_vlan: 1003\n    camera_vlan: 1004\n")
    assert messages(deployment) == [f"{F}:{line + 1}: key 'camera_vlan' appears twice in the same mapping"]


def test_duplicate_name_across_files(deployment: Path, edit: Edit) -> None:
    line = edit("regions/luzhou/xihu.yml", "{name: xhnm-cam-001,", "{name: dscg-cam-001,")
    msgs = messages(deployment)
    assert msgs == [f"inventory/demo/regions/luzhou/xihu.yml:{line}: camera dscg-cam-001: name dscg-cam-001 is already "
                    f"used by camera dscg-cam-001 ({F}:69)"]


def test_duplicate_ip(deployment: Path, edit: Edit) -> None:
    a = edit(DONGSHAN, "{name: dscg-cam-001,", "{name: dscg-cam-001, ip: 10.34.18.50,")
    b = edit(DONGSHAN, "{name: dscg-cam-002,", "{name: dscg-cam-002, ip: 10.34.18.50,")
    assert messages(deployment) == [
        f"{F}:{b}: camera dscg-cam-002: ip 10.34.18.50 is already used by camera dscg-cam-001 ({F}:{a})"]


def test_duplicate_mac(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, 'mac: "00:12:41:ee:e8:b9"', 'mac: "3C-EF-8C-FE-DA-A0"')
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-002: mac 3cef8cfedaa0 is already used by camera dscg-cam-001 ({F}:69)"]


def test_duplicate_gb_id(deployment: Path, edit: Edit) -> None:
    gb = "34010201001320000101"
    a = edit(DONGSHAN, "{name: dscg-cam-005,", f"{{name: dscg-cam-005, gb_id: \"{gb}\",")
    b = edit(DONGSHAN, "{name: dscg-cam-006,", f"{{name: dscg-cam-006, gb_id: {gb},")
    assert messages(deployment) == [
        f"{F}:{b}: camera dscg-cam-006: GB ID {gb} is already used by camera dscg-cam-005 ({F}:{a})"]


def test_ip_outside_site_subnet(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-001,", "{name: dscg-cam-001, ip: 10.34.17.9,")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-001: ip 10.34.17.9 is outside the subnet 10.34.18.0/24"]


def test_ip_on_gateway_or_broadcast(deployment: Path, edit: Edit) -> None:
    a = edit(DONGSHAN, "{name: dscg-cam-001,", "{name: dscg-cam-001, ip: 10.34.18.1,")
    b = edit(DONGSHAN, "{name: dscg-cam-002,", "{name: dscg-cam-002, ip: 10.34.18.255,")
    assert messages(deployment) == [
        f"{F}:{a}: camera dscg-cam-001: ip 10.34.18.1 is reserved (gateway or reserved list)",
        f"{F}:{b}: camera dscg-cam-002: ip 10.34.18.255 is the broadcast address of 10.34.18.0/24"]


def test_switch_port_that_does_not_exist(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "dscg-sw-01, port: GigabitEthernet0/0/3,", "dscg-sw-01, port: GigabitEthernet0/0/33,")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-003: port GigabitEthernet0/0/33 does not exist on switch dscg-sw-01 "
        "(huawei_vrp/S5735-L24P4S-A)"]


def test_switch_port_used_twice(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "dscg-sw-01, port: GigabitEthernet0/0/3,", "dscg-sw-01, port: GigabitEthernet0/0/2,")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-003: port dscg-sw-01:GigabitEthernet0/0/2 is already used by "
        f"camera dscg-cam-002 ({F}:70)"]


def test_camera_on_an_uplink_port(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "dscg-sw-01, port: GigabitEthernet0/0/3,", "dscg-sw-01, port: XGigabitEthernet0/0/2,")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-003: port XGigabitEthernet0/0/2 on switch dscg-sw-01 is an uplink, "
        "not an access port"]


def test_unknown_model_profile(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-003, model: hikvision/DS-2CD2T47G2-L",
                "{name: dscg-cam-003, model: hikvision/DS-2CD9999")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-003: unknown model profile 'hikvision/DS-2CD9999' "
        "(expected device_templates/<family>/<vendor>/<model>.yml)"]


def test_model_of_the_wrong_kind(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-003, model: hikvision/DS-2CD2T47G2-L",
                "{name: dscg-cam-003, model: hikvision/DS-7632NI-K2")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-003: model hikvision/DS-7632NI-K2 is a nvr, not a camera"]


def test_gb_id_malformed(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-004,", "{name: dscg-cam-004, gb_id: 3401020100132000001,")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-004: gb_id 3401020100132000001 is not a 20-digit GB/T 28181 ID"]


def test_gb_id_centre_code_must_match_the_site(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-004,", "{name: dscg-cam-004, gb_id: \"34010202001320000004\",")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-004: GB ID 34010202001320000004: centre code 34010202 does not match "
        "site ds-chengguan (34010201)"]


def test_gb_id_type_must_match_the_kind(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-004,", "{name: dscg-cam-004, gb_id: \"34010201001310000004\",")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-004: GB ID 34010201001310000004: type 131 (camera (analog channel)) is not "
        "valid for a ipc (expected 132)"]


def test_gb_id_network_digit_depends_on_the_edition(deployment: Path, edit: Edit) -> None:
    gb = "34010201001323000004"   # digit 3: video private network in 2016, invalid in 2022
    line = edit(DONGSHAN, "{name: dscg-cam-004,", f"{{name: dscg-cam-004, gb_id: \"{gb}\",")
    assert messages(deployment) == []
    edit("regions/luzhou/dongshan.yml", 'gb_id: "34010200002000000001"',
         'gb_id: "34010200002000000001"\n    gb_edition: 2022')
    assert messages(deployment) == [
        f"{F}:{line + 1}: camera dscg-cam-004: GB ID {gb}: network digit 3 is not valid on the video private "
        "network under GB/T 28181-2022 (allowed: 0, 1)"]


def test_encoder_channels_beyond_model_capacity(deployment: Path, edit: Edit) -> None:
    line = edit("regions/jiangcheng/jinghu.yml", "        channels:\n",
                "        channels:\n" + "".join(f"          - {{name: jhc-extra-ch{i}}}\n" for i in range(3)))
    assert messages(deployment) == [
        f"inventory/demo/regions/jiangcheng/jinghu.yml:{line}: encoder jhc-enc-01: 5 channels but model "
        "DS-6704HUHI-K has only 4"]


def test_staging_only_for_cameras_and_encoders(deployment: Path, edit: Edit) -> None:
    assert edit(DONGSHAN, "{name: dscg-cam-004,", "{name: dscg-cam-004, staging: true,") > 0
    line = edit(DONGSHAN, "{name: dsc-nvr-01,", "{name: dsc-nvr-01, staging: true,")
    assert messages(deployment) == [
        f"{F}:{line}: nvr dsc-nvr-01: staging: true applies to cameras and encoders, not a nvr"]


def test_staging_must_be_a_boolean(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-004,", "{name: dscg-cam-004, staging: later,")
    assert [m for m in messages(deployment) if "staging" in m] == [
        f"{F}:{line}: camera dscg-cam-004: staging: Input should be a valid boolean, unable to "
        "interpret input (got 'later')"]


def test_literal_secret_key(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-005,", "{name: dscg-cam-005, password: Hik12345!,")
    assert messages(deployment) == [
        f"{F}:{line}: camera dscg-cam-005: password: literal secret in the inventory; use "
        "'credentials: vault_<name>' and keep the value in Ansible vault"]


def test_literal_secret_in_credentials(deployment: Path, edit: Edit) -> None:
    line = edit(DONGSHAN, "{name: dscg-cam-005,", "{name: dscg-cam-005, credentials: Hik12345!,")
    msgs = messages(deployment)
    assert msgs == [f"{F}:{line}: camera dscg-cam-005: credentials looks like a literal secret; name a vault "
                    "variable instead (e.g. vault_camera_admin)"]
    assert "Hik12345" not in json.dumps([p.as_dict() for p in check_deployment(deployment).problems])


def test_missing_parent_region(deployment: Path, edit: Edit) -> None:
    edit("regions/jiangcheng/jinghu.yml", 'parent: "340200"', 'parent: "340299"')
    assert messages(deployment) == [
        "inventory/demo/regions/jiangcheng/jinghu.yml:2: region 340202: parent region 340299 is not defined in any file",
        "inventory/demo/regions/jiangcheng/jinghu.yml:2: region 340202: no SIP platform server in this region or "
        "above it for sites jh-centre, jh-binjiang, jh-daqiao"]


def test_every_problem_reported_at_once_across_files(deployment: Path, edit: Edit) -> None:
    edit(DONGSHAN, "{name: dscg-cam-007,", "{name: dscg-cam-007, ip: 10.34.18.300,")
    edit("regions/luzhou/xihu.yml", "{name: xhnm-cam-002, model:", "{name: xhnm-cam-002, modle:")
    edit("regions/jiangcheng/jinghu.yml", "port: GigabitEthernet1/0/3,", "port: GigabitEthernet1/0/99,")
    files = {m.split(":")[0] for m in messages(deployment)}
    assert files == {F, "inventory/demo/regions/luzhou/xihu.yml", "inventory/demo/regions/jiangcheng/jinghu.yml"}


def test_cli_exit_status_and_json(deployment: Path, edit: Edit) -> None:
    cmd = [sys.executable, "-m", "safecity.cli"]
    ok = subprocess.run([*cmd, "inventory", "validate", str(deployment)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    line = edit(DONGSHAN, "{name: dscg-cam-007,", "{name: dscg-cam-007, ip: 10.34.18.300,")
    human = subprocess.run([*cmd, "inventory", "validate", str(deployment)], capture_output=True, text=True)
    assert human.returncode == 1
    assert f"{F}:{line}: camera dscg-cam-007: ip 10.34.18.300 is not an IPv4 address" in human.stderr
    js = subprocess.run([*cmd, "inventory", "validate", str(deployment), "--format", "json"],
                        capture_output=True, text=True)
    assert js.returncode == 1
    body = json.loads(js.stdout)
    assert body["ok"] is False
    assert body["problems"] == [{"file": F, "line": line, "item": "camera dscg-cam-007",
                                 "message": "ip 10.34.18.300 is not an IPv4 address", "rule": "schema"}]
