"""resolve_hosts, scoped loading and plan-lock lookups over the example deployment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from safecity.errors import InventoryError
from safecity.inventory.lock_lookup import read_lock_for, read_lock_subset
from safecity.inventory.plan import Plan, read_lock
from safecity.inventory.resolve import HostRecord, read_lab_addresses, resolve_hosts
from safecity.inventory.scope import load_scoped, scan_region_header
from safecity.inventory.yamlsource import blank_top_level_blocks

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example"


def _resolve(root: Path = EXAMPLE, **limits: Any) -> dict[str, HostRecord]:
    regions, sites = limits.pop("regions", None), limits.pop("sites", None)
    scoped = load_scoped(root, regions=regions, sites=sites)
    assert scoped.ok, scoped.problems
    assert scoped.deployment is not None and scoped.catalog is not None
    hosts = resolve_hosts(scoped.deployment, read_lock_for(scoped.deployment), scoped.catalog,
                          regions=regions, sites=sites, **limits)
    return {h.name: h for h in hosts}


@pytest.fixture(scope="module")
def hosts() -> dict[str, HostRecord]:
    return _resolve()


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    root = tmp_path / "inventory" / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab"))
    return root


def test_every_host_once(hosts: dict[str, HostRecord]) -> None:
    # 63 front-end devices + 9 switches + 6 platform servers (safecity inventory validate).
    assert len(hosts) == 78
    assert sum("front_end" in h.groups for h in hosts.values()) == 63
    assert sum("switches" in h.groups for h in hosts.values()) == 9
    assert sum("platform_servers" in h.groups for h in hosts.values()) == 6


def test_camera_groups_include_every_ancestor_region(hosts: dict[str, HostRecord]) -> None:
    cam = hosts["dsc-cam-001"]
    assert set(cam.groups) >= {"front_end", "cameras", "kind_ipc", "vendor_hikvision", "tier_county",
                               "region_340102", "region_340100", "region_340000", "site_ds_centre"}
    assert not any(g.startswith(("platform_", "region_3402")) for g in cam.groups)


def test_camera_vars_use_planned_address_id_and_tier_platform(hosts: dict[str, HostRecord]) -> None:
    v = hosts["dsc-cam-001"].vars
    lock = json.loads((EXAMPLE / "plan.lock.json").read_text())
    assert v["ansible_host"] == v["safecity_ip"] == lock["ips"]["dsc-cam-001"] == "10.34.17.2"
    assert v["safecity_gb_id"] == lock["gb_ids"]["dsc-cam-001"]
    assert v["safecity_gb_id"].startswith("34010200")
    assert v["safecity_credentials"] == "vault_camera_admin_password"
    assert (v["safecity_switch"], v["safecity_switch_port"]) == ("dsc-sw-01", "GigabitEthernet0/0/1")
    assert (v["safecity_vlan"], v["safecity_subnet"], v["safecity_prefix"], v["safecity_gateway"]) == \
        (1002, "10.34.17.0/24", 24, "10.34.17.1")
    assert v["safecity_mac"] == "44:19:b6:2e:d9:1e"
    assert v["safecity_dns"] == ["10.34.0.5"]
    assert v["safecity_location"] == "Main St / 1st Ave crossing"
    assert (v["safecity_tier"], v["safecity_region_code"], v["safecity_region_name"]) == \
        ("county", "340102", "Dongshan District")
    # Dongshan has its own platform (ip: allocate → planned).
    assert v["safecity_sip_server_id"] == "34010200002000000001"
    assert v["safecity_sip_domain"] == "3401020000"
    assert v["safecity_sip_server_ip"] == lock["ips"]["ds-plat-01"]
    assert v["safecity_sip_server_port"] == 5060
    assert v["safecity_ntp_servers"] == v["safecity_syslog_servers"] == [lock["ips"]["ds-plat-01"]]


def test_county_without_platform_enrolls_on_its_city(hosts: dict[str, HostRecord]) -> None:
    v = hosts["jhc-cam-001"].vars
    assert v["safecity_tier"] == "county"
    assert v["safecity_sip_server_id"] == "34020000002000000001"
    assert v["safecity_sip_server_ip"] == "10.34.2.10"
    assert v["safecity_ntp_servers"] == ["10.34.2.10"]


def test_key_place_category_and_alarm_points(hosts: dict[str, HostRecord]) -> None:
    assert hosts["dscg-cam-002"].vars["safecity_category"] == "school"
    assert hosts["dscg-cam-002"].vars["safecity_key_place"] == "cg-no1-school"
    alarm = hosts["dscg-alarm-01"]
    assert "alarm_hosts" in alarm.groups
    inputs = alarm.vars["safecity_alarm_inputs"]
    assert [p["name"] for p in inputs] == [f"dscg-alarm-01-in{i}" for i in range(1, 5)]
    assert all(p["gb_id"][10:13] == "134" for p in inputs)
    assert [p["gb_id"][10:13] for p in alarm.vars["safecity_alarm_outputs"]] == ["135"]


def test_encoder_channels(hosts: dict[str, HostRecord]) -> None:
    enc = hosts["jhc-enc-01"]
    assert {"encoders", "kind_encoder", "front_end"} <= set(enc.groups)
    chans = enc.vars["safecity_channels"]
    assert [c["name"] for c in chans] == ["jhc-enc-01-ch1", "jhc-enc-01-ch2"]
    assert all(c["gb_id"].startswith("34020200") and c["gb_id"][10:13] == "131" for c in chans)
    assert chans[0]["location"] == "analog camera 1, legacy ring road"


def test_switch_ports_and_cabled_devices(hosts: dict[str, HostRecord]) -> None:
    sw = hosts["dsc-sw-01"]
    assert {"switches", "platform_huawei_vrp", "kind_switch", "site_ds_centre"} <= set(sw.groups)
    v = sw.vars
    assert v["safecity_platform"] == "huawei_vrp"
    assert v["ansible_host"] == "10.34.65.2"          # planned in the mgmt subnet
    assert v["safecity_credentials"] == "vault_switch_admin_password"
    assert (v["safecity_mgmt_vlan"], v["safecity_camera_vlan"]) == (100, 1002)
    assert {"name": "XGigabitEthernet0/0/1", "role": "uplink"} in v["safecity_ports"]
    assert v["safecity_uplinks"] == [{"port": "XGigabitEthernet0/0/1", "to": "core"}]
    access = {p["port"]: p for p in v["safecity_access_ports"]}
    assert len(access) == 8
    assert access["GigabitEthernet0/0/7"]["device"] == "dsc-enc-01"
    assert access["GigabitEthernet0/0/1"] == {"port": "GigabitEthernet0/0/1", "device": "dsc-cam-001",
                                              "gb_id": hosts["dsc-cam-001"].vars["safecity_gb_id"],
                                              "mac": "44:19:b6:2e:d9:1e", "vlan": 1002}
    assert "platform_hp_comware" in hosts["xhc-sw-01"].groups
    assert "platform_cisco_ios" in hosts["jhc-sw-01"].groups


def test_platform_server_contract(hosts: dict[str, HostRecord]) -> None:
    lz = hosts["lz-plat-01"]
    assert {"platform_servers", "tier_city", "region_340100", "region_340000", "platform_role_sip",
            "platform_role_ntp", "platform_role_health"} <= set(lz.groups)
    v = lz.vars
    assert v["ansible_host"] == "10.34.1.10"
    assert v["safecity_platform_roles"] == ["sip", "ntp", "syslog", "health"]
    assert (v["safecity_gb_id"], v["safecity_sip_domain"], v["safecity_gb_edition"]) == \
        ("34010000002000000001", "3401000000", 2016)
    assert v["safecity_upstream_ntp"] == ["10.34.0.11"]             # the province's NTP server
    assert v["safecity_device_subnets"] == [f"10.34.{n}.0/24" for n in range(16, 22)]
    assert v["safecity_mgmt_subnets"] == [f"10.34.{n}.0/27" for n in range(64, 70)]
    ids = {d["id"] for d in v["safecity_sip_devices"]}
    assert {d["password_ref"] for d in v["safecity_sip_devices"]} == {"vault_gb28181_master_key"}
    assert hosts["lzc-cam-001"].vars["safecity_gb_id"] in ids         # its own devices
    assert hosts["dsc-cam-001"].vars["safecity_gb_id"] not in ids     # Dongshan enrolls on ds-plat-01
    assert {"34010200002000000001", hosts["xh-plat-01"].vars["safecity_gb_id"]} <= ids  # lower platforms
    assert hosts["jh-prov-ops-01"].vars["safecity_upstream_ntp"] == []
    assert hosts["jh-prov-ops-01"].vars["safecity_gb_id"] is None
    assert hosts["jh-prov-ops-01"].vars["safecity_sip_devices"] == []


def test_planned_platform_gb_id(hosts: dict[str, HostRecord]) -> None:
    lock = read_lock(EXAMPLE / "plan.lock.json")
    assert hosts["xh-plat-01"].vars["safecity_gb_id"] == lock.gb_ids["xh-plat-01"]
    assert hosts["xhc-cam-001"].vars["safecity_sip_server_id"] == lock.gb_ids["xh-plat-01"]


def test_region_limit_keeps_the_subtree(hosts: dict[str, HostRecord]) -> None:
    city = _resolve(regions=["340100"])
    expected = {n for n, h in hosts.items() if "region_340100" in h.groups}
    assert set(city) == expected
    assert "lz-plat-01" in city and "ds-plat-01" in city and "jc-plat-01" not in city
    # Limited or not, a host resolves to the same variables.
    assert city["dsc-cam-001"].vars == hosts["dsc-cam-001"].vars
    assert city["lz-plat-01"].vars == hosts["lz-plat-01"].vars


def test_site_limit_leaves_out_platform_servers() -> None:
    site = _resolve(sites=["ds-chengguan"])
    assert set(site) == {"dscg-sw-01", "dscg-alarm-01", *(f"dscg-cam-00{i}" for i in range(1, 9))}


def test_scoped_load_reads_only_the_files_it_needs(example_copy: Path) -> None:
    # Another county's file is broken: a play over Dongshan neither reads nor reports it.
    broken = example_copy / "regions/jiangcheng/jinghu.yml"
    broken.write_text(broken.read_text().replace("camera_vlan: 1007", "camera_vlan: [unclosed"))
    scoped = load_scoped(example_copy, regions=["340102"])
    assert scoped.ok, scoped.problems
    assert [p.name for p in scoped.files_read] == ["dongshan.yml"]
    assert sorted(p.relative_to(example_copy).as_posix() for p in scoped.headers_read) == \
        ["regions/luzhou/city.yml", "regions/province.yml"]
    assert not load_scoped(example_copy).ok


def test_scoped_load_reports_unknown_limits() -> None:
    scoped = load_scoped(EXAMPLE, regions=["349999"], sites=None)
    assert any("region 349999" == p.item and "no region file" in p.message for p in scoped.problems)
    scoped = load_scoped(EXAMPLE, sites=["no-such-site"])
    assert [(p.item, p.message) for p in scoped.problems if p.rule == "scope"] == \
        [("site no-such-site", "no site of this name in the selected regions")]


def test_header_scan() -> None:
    h = scan_region_header(EXAMPLE / "regions/luzhou/dongshan.yml")
    assert (h.code, h.parent) == ("340102", "340100")
    h = scan_region_header(EXAMPLE / "regions/province.yml")
    assert (h.code, h.parent) == ("340000", None)


def test_blank_top_level_blocks_keeps_line_numbers() -> None:
    text = "region:\n  code: 1\nsites:\n  - name: a\n- x\nplatform_servers: []\n"
    out = blank_top_level_blocks(text, frozenset({"sites"}))
    assert out.split("\n") == ["region:", "  code: 1", "", "", "", "platform_servers: []", ""]


def test_missing_plan_entry_is_a_located_problem() -> None:
    scoped = load_scoped(EXAMPLE, regions=["340102"])
    assert scoped.deployment is not None and scoped.catalog is not None
    with pytest.raises(InventoryError) as err:
        resolve_hosts(scoped.deployment, Plan(), scoped.catalog, regions=["340102"])
    lines = [str(p) for p in err.value.problems]
    assert any(line.startswith("inventory/example/regions/luzhou/dongshan.yml:")
               and "camera dsc-cam-001: ip is 'allocate' but has no planned address" in line for line in lines)


def test_stale_plan_entry_is_a_problem() -> None:
    scoped = load_scoped(EXAMPLE, sites=["ds-centre"])
    assert scoped.deployment is not None and scoped.catalog is not None
    plan = read_lock_for(scoped.deployment)
    plan.ips["dsc-cam-001"] = "10.34.99.9"
    with pytest.raises(InventoryError, match="planned ip 10.34.99.9 is outside 10.34.17.0/24"):
        resolve_hosts(scoped.deployment, plan, scoped.catalog, sites=["ds-centre"])


def test_lab_addresses(example_copy: Path) -> None:
    with pytest.raises(InventoryError, match="lab address map is missing"):
        read_lab_addresses(example_copy)
    lab = example_copy / ".lab"
    lab.mkdir()
    (lab / "addresses.json").write_text(json.dumps({"10.34.17.2": "10.0.0.1"}))
    with pytest.raises(InventoryError, match="not in 127.0.0.0/8"):
        read_lab_addresses(example_copy)
    mapping = {"10.34.17.2": "127.20.1.2", "10.34.65.2": "127.20.1.3", "10.34.3.2": "127.20.1.4"}
    (lab / "addresses.json").write_text(json.dumps(mapping))
    scoped = load_scoped(example_copy, sites=["ds-centre"])
    assert scoped.deployment is not None and scoped.catalog is not None
    plan = read_lock_for(scoped.deployment)
    # Hosts without a lab address are an error, never silently a real address.
    with pytest.raises(InventoryError, match="lab mode: 10.34.17.3 has no lab address"):
        resolve_hosts(scoped.deployment, plan, scoped.catalog, sites=["ds-centre"],
                      address_map=read_lab_addresses(example_copy))
    full = {ip: f"127.20.2.{i}" for i, ip in enumerate(
        h.vars["safecity_ip"] for h in _resolve(sites=["ds-centre"]).values())}
    full["10.34.3.2"] = "127.20.1.4"
    (lab / "addresses.json").write_text(json.dumps(full))
    hosts = {h.name: h for h in resolve_hosts(scoped.deployment, plan, scoped.catalog, sites=["ds-centre"],
                                              address_map=read_lab_addresses(example_copy))}
    v = hosts["dsc-cam-001"].vars
    assert v["ansible_host"] == full["10.34.17.2"] and v["safecity_ip"] == "10.34.17.2"
    assert v["safecity_sip_server_ip"] == "127.20.1.4"   # the lab's SIP platform


def test_lock_subset_matches_full_parse(tmp_path: Path) -> None:
    full = read_lock(EXAMPLE / "plan.lock.json")
    ip_keys, gb_keys = sorted(full.ips)[::3], sorted(full.gb_ids)[1::4]
    sub = read_lock_subset(EXAMPLE / "plan.lock.json", ip_keys, gb_keys)
    assert sub.ips == {k: full.ips[k] for k in ip_keys}
    assert sub.gb_ids == {k: full.gb_ids[k] for k in gb_keys}
    # Another layout (compact, unsorted) takes the full-parse path and agrees.
    compact = tmp_path / "plan.lock.json"
    compact.write_text(json.dumps({"version": 1, "ips": dict(reversed(full.ips.items())),
                                   "gb_ids": full.gb_ids, "serials": full.serials}))
    assert read_lock_subset(compact, ip_keys, gb_keys) == sub
    assert read_lock_subset(EXAMPLE / "plan.lock.json", ["not-planned"], []).ips == {}
