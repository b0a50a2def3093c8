"""Synthetic deployments for benchmarks and scale tests, in the same format people write.

A province of ``cameras`` IP cameras: cities → counties → sites (one monitoring centre per
county and per city, police stations with ~100 devices each), 48-port access switches, some
encoders with analog channels, alarm hosts, NVRs, key places, and platform servers per tier.
Half the sites give addresses and GB/T 28181 IDs explicitly (legacy point lists), the rest
leave them to the planner. Deterministic per seed; valid under ``safecity inventory validate``.

Address plan (never overlapping, by construction): platform /26s from 10.0.0.0/16, camera
subnets (/25 … /22, sized to the site) from 10.16.0.0, management /27s from 10.192.0.0.
"""

from __future__ import annotations

import ipaddress
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safecity.errors import SafecityError
from safecity.inventory.emit import document
from safecity.inventory.gbid import TYPE_BY_KIND, TYPE_BY_PLATFORM_ROLE
from safecity.inventory.profiles import ProfileCatalog, SwitchModel, load_profiles

CAMERAS_PER_STATION = 92           # + encoders, alarm hosts, NVRs ≈ 100 devices per station
STATIONS_PER_COUNTY = 40
COUNTIES_PER_CITY = 10
CENTRE_WEIGHT = 3                  # a monitoring centre has ~3× a station's cameras
# 48-port access switches, one platform per city so a city's config templates are uniform.
SWITCH_MODELS = ("huawei_vrp/S5735-L48P4X-A", "hp_comware/S5130S-52S-EI", "cisco_ios/C9200-48P")
KEY_PLACE_CATEGORIES = ("school", "hospital", "transport_hub", "financial")
CAMERA_CATEGORIES = ("road", "road", "road", "community", "traffic", "checkpoint", "city_management")
STREETS = ("Renmin Rd", "Jiefang Rd", "Zhongshan Rd", "Heping St", "Wenhua Rd", "Binhe Ave",
           "Xinhua St", "Jianshe Rd", "Changjiang Rd", "Huaihe Rd")
OUI = {"hikvision": "44:19:b6", "dahua": "3c:ef:8c", "generic": "00:12:41"}


class SynthError(SafecityError):
    """The requested deployment cannot be generated (out dir not empty, address space full)."""


@dataclass
class SynthSummary:
    root: Path
    files: int = 0
    regions: int = 0
    sites: int = 0
    cameras: int = 0
    encoders: int = 0
    channels: int = 0
    alarm_hosts: int = 0
    nvrs: int = 0
    switches: int = 0
    platform_servers: int = 0
    counties: list[str] = field(default_factory=list)

    @property
    def devices(self) -> int:
        """Front-end devices, as ``safecity inventory validate`` counts them."""
        return self.cameras + self.encoders + self.alarm_hosts + self.nvrs

    def as_dict(self) -> dict[str, object]:
        return {"root": str(self.root), "files": self.files, "regions": self.regions, "sites": self.sites,
                "devices": self.devices, "cameras": self.cameras, "encoders": self.encoders,
                "encoder_channels": self.channels, "alarm_hosts": self.alarm_hosts, "nvrs": self.nvrs,
                "switches": self.switches, "platform_servers": self.platform_servers}


class _Carver:
    """Hands out aligned, non-overlapping IPv4 blocks from [start, end)."""

    def __init__(self, start: str, end: str, what: str) -> None:
        self.next = int(ipaddress.IPv4Address(start))
        self.end = int(ipaddress.IPv4Address(end))
        self.what = what

    def take(self, prefixlen: int) -> ipaddress.IPv4Network:
        size = 1 << (32 - prefixlen)
        start = -(-self.next // size) * size
        if start + size > self.end:
            raise SynthError(f"{self.what} address space is exhausted; ask for fewer devices")
        self.next = start + size
        return ipaddress.IPv4Network((start, prefixlen))


def _camera_prefix(devices: int) -> int:
    # Headroom for growth: a pool at most ~80 % full; /25 is the smallest station subnet.
    for prefixlen in (25, 24, 23, 22, 21):
        if devices * 5 // 4 + 2 <= (1 << (32 - prefixlen)) - 2:
            return prefixlen
    raise SynthError(f"a site with {devices} devices needs more than a /21")


def _shape(stations: int, cities: int | None, counties: int | None,
           per_county: int | None) -> tuple[int, int, int]:
    """(cities, counties per city, sites per county) for about ``stations`` station-sized sites."""
    c = cities or max(1, min(30, round(stations / (COUNTIES_PER_CITY * STATIONS_PER_COUNTY))))
    k = counties or max(1, min(40, round(stations / c / STATIONS_PER_COUNTY)))
    s = per_county or max(1, math.ceil(stations / (c * k)))
    if c > 99 or k > 99 or s > 99:
        raise SynthError("at most 99 cities, 99 counties per city and 99 sites per county (two-digit codes)")
    return c, k, s


@dataclass
class _Site:
    """What goes into one site before it is written."""

    slug: str
    title: str
    type: str
    grassroots: str
    centre_code: str
    cameras: int
    switch_model: SwitchModel


class _Generator:
    def __init__(self, catalog: ProfileCatalog, seed: int, province: str) -> None:
        self.rng = random.Random(seed)
        self.catalog = catalog
        self.province = province
        self.platform_nets = _Carver("10.0.0.0", "10.1.0.0", "platform")
        self.camera_nets = _Carver("10.16.0.0", "10.192.0.0", "camera")
        self.mgmt_nets = _Carver("10.192.0.0", "10.255.0.0", "management")
        self.mac_serial = 0
        kinds: dict[str, list[str]] = {}
        for key, profile in sorted(catalog.devices.items()):
            kinds.setdefault(profile.kind, []).append(key)
        missing = [k for k in ("ipc", "encoder", "alarm_host", "nvr") if k not in kinds]
        if missing:
            raise SynthError(f"device_templates has no profile of kind {', '.join(missing)}")
        self.models = kinds
        self.switch_models = []
        for key in SWITCH_MODELS:
            sw = catalog.switch(key)
            if sw is None:
                raise SynthError(f"switch model {key} is not in device_templates/switches")
            self.switch_models.append(sw)
        self.summary: SynthSummary | None = None

    # --- small pieces -------------------------------------------------------------------
    def mac(self, model: str) -> str:
        self.mac_serial += 1
        n = self.mac_serial
        oui = OUI.get(model.split("/", 1)[0], "00:1e:c0")
        return f"{oui}:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"

    def gb(self, centre: str, kind: str, serial: int, industry: str = "00") -> str:
        return f"{centre}{industry}{TYPE_BY_KIND[kind][0]}0{serial:06d}"

    # --- one site ----------------------------------------------------------------------
    def site(self, s: _Site, vlan: int) -> dict[str, Any]:
        rng = self.rng
        summary = self.summary
        assert summary is not None
        is_centre = s.type == "centre"
        # Legacy sites list every address and ID explicitly; new ones leave them to the planner.
        mode = rng.choices(("explicit", "allocate", "mixed"), weights=(3, 6, 1))[0]
        n_enc = rng.choice((0, 0, 1, 1, 2)) if is_centre else (1 if rng.random() < 0.3 else 0)
        n_alarm = 1 if rng.random() < (0.5 if is_centre else 0.25) else 0
        n_nvr = 2 if is_centre else (1 if rng.random() < 0.5 else 0)
        n_devices = s.cameras + n_enc + n_alarm + n_nvr
        cam_net = self.camera_nets.take(_camera_prefix(n_devices))
        mgmt_net = self.mgmt_nets.take(27)
        first_cam = int(cam_net.network_address) + 2          # .1 is the gateway
        first_mgmt = int(mgmt_net.network_address) + 2

        access = [n for r in s.switch_model.ports if r.role == "access" for n in r.names()]
        uplink = next(n for r in s.switch_model.ports if r.role == "uplink" for n in r.names())
        wired = n_devices - n_devices // 30                      # ~3 % reach the network otherwise
        n_switches = max(1, math.ceil(wired / len(access)))
        switches: list[dict[str, Any]] = []
        for i in range(n_switches):
            sw: dict[str, Any] = {"name": f"{s.slug}-sw-{i + 1:02d}", "model": s.switch_model.key}
            sw["ip"] = str(ipaddress.IPv4Address(first_mgmt + i)) if mode != "allocate" else "allocate"
            sw["uplinks"] = [{"port": uplink, "to": "core"}]
            switches.append(sw)
        summary.switches += n_switches

        key_places: list[dict[str, str]] = []
        if not is_centre and rng.random() < 0.3:
            for j, cat in enumerate(rng.sample(KEY_PLACE_CATEGORIES, rng.randint(1, 3))):
                key_places.append({"name": f"{s.slug}-kp{j + 1}", "category": cat})

        serial = 0
        ordinal = 0

        def common(name: str, kind: str, model: str) -> dict[str, Any]:
            nonlocal serial, ordinal
            dev: dict[str, Any] = {"name": name, "model": model, "mac": self.mac(model)}
            explicit = mode == "explicit" or (mode == "mixed" and ordinal % 2 == 0)
            if explicit:
                dev["ip"] = str(ipaddress.IPv4Address(first_cam + ordinal))
            if ordinal < wired:
                dev["switch"] = switches[ordinal // len(access)]["name"]
                dev["port"] = access[ordinal % len(access)]
            if explicit:
                serial += 1
                dev["gb_id"] = self.gb(s.centre_code, kind, serial)
            ordinal += 1
            return dev

        cameras: list[dict[str, Any]] = []
        ipc_models = self.models["ipc"]
        for i in range(s.cameras):
            dev = common(f"{s.slug}-cam-{i + 1:03d}", "ipc", ipc_models[i % len(ipc_models)])
            if key_places and i < len(key_places):
                dev["category"] = key_places[i]["category"]
                dev["key_place"] = key_places[i]["name"]
            elif i % 7 == 3:
                dev["category"] = CAMERA_CATEGORIES[i % len(CAMERA_CATEGORIES)]
            if i % 50 == 49:
                dev["status"] = "planned"
            dev["location"] = f"{STREETS[i % len(STREETS)]} / {STREETS[(i // 10) % len(STREETS)]} no.{i + 1}"
            cameras.append(dev)
        summary.cameras += s.cameras

        encoders: list[dict[str, Any]] = []
        for i in range(n_enc):
            model = self.models["encoder"][i % len(self.models["encoder"])]
            capacity = self.catalog.devices[model].channels
            dev = common(f"{s.slug}-enc-{i + 1:02d}", "encoder", model)
            dev["location"] = f"{s.title} analog cabinet {i + 1}"
            channels = []
            for c in range(rng.randint(2, max(2, capacity))):
                ch: dict[str, Any] = {"name": f"{dev['name']}-ch{c + 1}"}
                if "gb_id" in dev:
                    serial += 1
                    ch["gb_id"] = self.gb(s.centre_code, "encoder_channel", serial)
                ch["location"] = f"analog camera {c + 1}, {STREETS[c % len(STREETS)]}"
                channels.append(ch)
            dev["channels"] = channels
            summary.channels += len(channels)
            encoders.append(dev)
        summary.encoders += n_enc

        alarm_hosts: list[dict[str, Any]] = []
        for i in range(n_alarm):
            model = self.models["alarm_host"][0]
            profile = self.catalog.devices[model]
            dev = common(f"{s.slug}-alarm-{i + 1:02d}", "alarm_host", model)
            dev["category"] = "financial"
            for what, count, kind in (("inputs", min(4, profile.alarm_inputs), "alarm_input"),
                                      ("outputs", min(1, profile.alarm_outputs), "alarm_output")):
                points = []
                for p in range(count):
                    pt: dict[str, Any] = {"name": f"{dev['name']}-{'in' if what == 'inputs' else 'out'}{p + 1}"}
                    if "gb_id" in dev:
                        serial += 1
                        pt["gb_id"] = self.gb(s.centre_code, kind, serial)
                    points.append(pt)
                if points:
                    dev[what] = points
            alarm_hosts.append(dev)
        summary.alarm_hosts += n_alarm

        nvrs = [common(f"{s.slug}-nvr-{i + 1:02d}", "nvr", self.models["nvr"][i % len(self.models["nvr"])])
                for i in range(n_nvr)]
        summary.nvrs += n_nvr
        summary.sites += 1

        site: dict[str, Any] = {
            "name": s.slug, "type": s.type, "grassroots": s.grassroots, "title": s.title,
            "camera_subnet": str(cam_net), "camera_vlan": vlan,
            "mgmt_subnet": str(mgmt_net), "mgmt_vlan": 100,
            "key_places": key_places, "switches": switches, "cameras": cameras,
            "encoders": encoders, "alarm_hosts": alarm_hosts, "nvrs": nvrs,
        }
        return {k: v for k, v in site.items() if v != []}

    def platform(self, name: str, roles: list[str], region_code: str, net: ipaddress.IPv4Network,
                 host: int, explicit_ip: bool, gb: str | None, edition: int | None = None) -> dict[str, Any]:
        srv: dict[str, Any] = {"name": name, "roles": roles}
        srv["ip"] = str(net.network_address + host) if explicit_ip else "allocate"
        if gb is not None:
            srv["gb_id"] = gb
        if edition is not None:
            srv["gb_edition"] = edition
        assert self.summary is not None
        self.summary.platform_servers += 1
        return srv


def _platform_gb(region_code: str) -> str:
    """The first SIP server ID of a region: centre <code>00, industry 00, type 200, network 0."""
    return f"{region_code}00" + "00" + TYPE_BY_PLATFORM_ROLE["sip"] + "0" + "000001"


def _spread(total: int, weights: list[int], rng: random.Random) -> list[int]:
    """Split ``total`` cameras over sites by weight, ±40 % jitter, summing exactly to ``total``."""
    jittered = [w * rng.uniform(0.6, 1.4) for w in weights]
    scale = total / sum(jittered)
    counts = [max(1, int(j * scale)) for j in jittered]
    diff = total - sum(counts)
    i = 0
    while diff != 0:
        step = 1 if diff > 0 else -1
        if counts[i % len(counts)] + step >= 1:
            counts[i % len(counts)] += step
            diff -= step
        i += 1
    return counts


HEADER = """# Synthetic deployment generated by `safecity inventory generate` (seed {seed}).
# {cities} cities x {counties} counties x {sites} sites; {cameras} IP cameras.
deployment:
  name: {name}
  title: Synthetic province {province}0000 ({cameras} cameras, seed {seed})
  gb_edition: 2016
  network: video_private
  timezone: Asia/Shanghai

defaults:
  credentials: vault_camera_admin_password
  switch_credentials: vault_switch_admin_password
  category: road
  dns: [10.0.0.5]
"""


def generate_deployment(out: Path, cameras: int, seed: int = 1, cities: int | None = None,
                        counties_per_city: int | None = None, sites_per_county: int | None = None,
                        province: str = "35", name: str = "synthetic",
                        templates: Path | None = None) -> SynthSummary:
    """Write a deployment of ``cameras`` IP cameras under ``out`` (which must be empty or absent)."""
    if cameras < 1:
        raise SynthError("--cameras must be at least 1")
    if not (len(province) == 2 and province.isdigit() and province != "00"):
        raise SynthError(f"province code {province!r} must be two digits")
    if out.exists() and any(out.iterdir()):
        raise SynthError(f"{out}: directory is not empty; choose a new directory")
    catalog = load_profiles(templates)
    gen = _Generator(catalog, seed, province)
    rng = gen.rng
    n_cities, n_counties, n_sites = _shape(max(1, round(cameras / CAMERAS_PER_STATION)),
                                           cities, counties_per_city, sites_per_county)
    summary = SynthSummary(out)
    gen.summary = summary

    # Site skeletons first, so cameras can be spread over all of them exactly.
    plan: list[tuple[int, int, list[_Site]]] = []   # (city, county or 0 for the city file, sites)
    for c in range(1, n_cities + 1):
        sw_model = gen.switch_models[(c - 1) % len(gen.switch_models)]
        city_code = f"{province}{c:02d}00"
        plan.append((c, 0, [_Site(f"c{c:02d}-centre", f"City {c:02d} monitoring centre", "centre", "00",
                                  city_code + "00", 0, sw_model)]))
        for k in range(1, n_counties + 1):
            code = f"{province}{c:02d}{k:02d}"
            sites = [_Site(f"c{c:02d}k{k:02d}-centre", f"County {c:02d}-{k:02d} monitoring centre", "centre",
                           "00", code + "00", 0, sw_model)]
            sites += [_Site(f"c{c:02d}k{k:02d}-s{s:02d}", f"Police station {c:02d}-{k:02d}-{s:02d}", "station",
                            f"{s:02d}", f"{code}{s:02d}", 0, sw_model) for s in range(1, n_sites)]
            plan.append((c, k, sites))
    all_sites = [s for _c, _k, sites in plan for s in sites]
    for s, n in zip(all_sites, _spread(cameras, [CENTRE_WEIGHT if s.type == "centre" else 1 for s in all_sites], rng)):
        s.cameras = n

    out.mkdir(parents=True, exist_ok=True)
    (out / "regions").mkdir()
    (out / "deployment.yml").write_text(HEADER.format(seed=seed, cities=n_cities, counties=n_counties,
                                                      sites=n_sites, cameras=cameras, name=name,
                                                      province=province), encoding="utf-8")
    prov_code = f"{province}0000"
    prov_net = gen.platform_nets.take(26)
    prov = {"code": prov_code, "name": f"Synthetic Province {province}", "tier": "province",
            "platform_subnet": str(prov_net)}
    prov_servers = [
        gen.platform("prov-sip-01", ["sip", "media", "management"], prov_code, prov_net, 10, True,
                     _platform_gb(prov_code)),
        gen.platform("prov-ops-01", ["ntp", "syslog", "health"], prov_code, prov_net, 11, False, None),
        gen.platform("prov-store-01", ["storage"], prov_code, prov_net, 12, True, "allocate"),
    ]
    (out / "regions" / "province.yml").write_text(
        document({"region": prov, "platform_servers": prov_servers},
                 [f"Province tier: the provincial sharing platform (synthetic, seed {seed})."]), encoding="utf-8")
    summary.files = 2
    summary.regions = 1

    for c, k, sites in plan:
        city_dir = out / "regions" / f"city{c:02d}"
        code = f"{province}{c:02d}{k:02d}" if k else f"{province}{c:02d}00"
        net = gen.platform_nets.take(26)
        region: dict[str, Any] = {"code": code, "name": f"County {c:02d}-{k:02d}" if k else f"City {c:02d}",
                                  "tier": "county" if k else "city",
                                  "parent": f"{province}{c:02d}00" if k else prov_code,
                                  "platform_subnet": str(net)}
        servers: list[dict[str, Any]] = []
        defaults: dict[str, Any] | None = None
        if k == 0:
            city_dir.mkdir()
            # Every third city runs a GB/T 28181-2022 platform.
            edition = 2022 if c % 3 == 0 else None
            servers = [
                gen.platform(f"c{c:02d}-sip-01", ["sip", "ntp", "syslog", "health"], code, net, 10, True,
                             _platform_gb(code), edition),
                gen.platform(f"c{c:02d}-media-01", ["media"], code, net, 11, c % 2 == 0, "allocate", edition),
                gen.platform(f"c{c:02d}-store-01", ["storage"], code, net, 12, False, "allocate", edition),
            ]
            comment = f"City tier: City {c:02d} (synthetic)."
            path = city_dir / "city.yml"
        else:
            # One county in five has no platform of its own and enrolls on its city's.
            if k % 5 != 0:
                servers = [gen.platform(f"c{c:02d}k{k:02d}-sip-01", ["sip", "ntp", "syslog"], code, net, 10,
                                        k % 2 == 1, _platform_gb(code) if k % 3 else "allocate")]
            if k % 4 == 1:
                defaults = {"category": "community"}
            comment = f"County tier: County {c:02d}-{k:02d} (synthetic)."
            path = city_dir / f"county{k:02d}.yml"
            summary.counties.append(code)
        site_dicts = [gen.site(s, 1001 + i) for i, s in enumerate(sites)]
        path.write_text(document({"region": region, "defaults": defaults, "platform_servers": servers,
                                  "sites": site_dicts}, [comment]), encoding="utf-8")
        summary.files += 1
        summary.regions += 1
    return summary
