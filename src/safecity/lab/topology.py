"""From a deployment to the lab's device specs: who listens where, as what, with which state.

Real addresses come from the inventory and the plan; each is mapped to a loopback address
(``addressing.py``). Devices start either from the box (``factory``: the vendor's factory state
— Hikvision-like ones inactive, others with their factory account) or already provisioned
(``provisioned``: inventory credentials, GB/T 28181 access enabled, so they register with their
tier platform) — the second is what the nightly health check runs against. Alarm hosts
(``lab/alarm``) always answer with their inventory account (safecity does not provision them);
their GB/T 28181 access follows the lab state like the cameras'.

Devices marked ``staging: true`` start, in the factory state, as boxes on the shelf: their
address is the vendor's default one (``factory.default_ip``, mapped to loopback like any real
address), which every such box of the vendor shares, so none answers until ``lab plug`` puts
one on the staging port. Their RTSP service waits at the planned address (only one RTSP
listener can hold the shared address, and it follows the device once it has moved).
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from safecity.inventory.loader import Deployment, DeviceEntry, effective_defaults
from safecity.inventory.models import ALLOCATE, AlarmHost, Encoder
from safecity.inventory.plan import Plan
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.secrets import derive_device_sip_password
from safecity.inventory.validate import sip_platform_for
from safecity.lab.addressing import AddressMap
from safecity.lab.alarm.spec import AlarmHostSpec
from safecity.lab.media.rtsp_endpoint import RtspEndpointSpec, StreamSpec
from safecity.lab.media.snapshot_render import SnapshotSource
from safecity.lab.onvif.spec import Gb28181Settings, NetworkSettings, OnvifDeviceSpec, Stream
from safecity.lab.sip.registrar import RegistrarSpec
from safecity.lab.switch.spec import MacEntry, PortSpec, SwitchSpec
from safecity.vault import Secrets

LabState = Literal["factory", "provisioned"]
GB_MASTER_KEY = "vault_gb28181_master_key"
SWITCH_USERNAME = "admin"


@dataclass
class LabOptions:
    state: LabState = "factory"
    http_port: int = 80
    rtsp_port: int = 554
    ssh_port: int = 22
    sip_port: int = 5060
    rpc_port: int = 5080
    # The main stream's picture is a stand-in scaled down from the models' real 2-8 MP (a real
    # 4 MP JPEG is ~0.5 MB); the sub stream's is half of it each way, the size the nightly
    # check analyses at anyway (a real 640x360 sub picture is decoded at 1/2).
    snapshot_size: tuple[int, int] = (640, 360)
    sub_snapshot_size: tuple[int, int] = (320, 180)
    # Distinct scenes the cameras' snapshots are drawn from; 0 = one per camera. Drawing a
    # scene costs ~10 ms, so large labs share a pool (each camera keeps its own faults, frame
    # counter and baseline; only the picture's content repeats).
    scene_pool: int = 0
    # GB/T 28181 keepalive interval of devices that start provisioned (the enrollment default
    # is 60 s). A 100k lab runs with a longer one: 1,667 keepalives/s is more than a Python
    # registrar sharing two cores with the lab and the sweep can take.
    heartbeat_s: int = 60


class LabSnapshot:
    """The snapshot provider a simulated device serves: one image source per channel, its
    picture from the main stream or (smaller, the same scene, fault and frame) the sub stream."""

    def __init__(self, seed: int, size: tuple[int, int], channels: int, scene_pool: int = 0,
                 sub_size: tuple[int, int] | None = None) -> None:
        self.sources = [SnapshotSource(scene_seed(seed + ch, scene_pool), *size)
                        for ch in range(max(1, channels))]
        self.sub_size = sub_size

    def __call__(self, channel: int, stream: Stream = "main") -> bytes:
        return self._source(channel).jpeg(self._size(stream))

    def cached(self, channel: int, stream: Stream = "main") -> bytes | None:
        """The next frame if it is rendered already (no drawing), else None."""
        return self._source(channel).cached_jpeg(self._size(stream))

    def _size(self, stream: Stream) -> tuple[int, int] | None:
        return self.sub_size if stream == "sub" else None

    def _source(self, channel: int) -> SnapshotSource:
        return self.sources[min(max(channel - 1, 0), len(self.sources) - 1)]

    @property
    def fault(self) -> str | None:
        """The image fault the device's pictures show (None: a healthy picture)."""
        return self.sources[0].fault

    def set_fault(self, fault: str | None, value: str | None = None) -> None:
        for s in self.sources:
            s.set_fault(fault if fault not in ("", "none", "clear") else None)


@dataclass
class LabDevice:
    """Where a lab device is, for status output and the lab inventory."""

    name: str
    kind: str
    real_ip: str
    lab_ip: str
    ports: dict[str, int]


@dataclass
class LabTopology:
    address_map: AddressMap
    onvif: list[OnvifDeviceSpec] = field(default_factory=list)
    switches: list[SwitchSpec] = field(default_factory=list)
    registrars: list[RegistrarSpec] = field(default_factory=list)
    rtsp: list[RtspEndpointSpec] = field(default_factory=list)
    snapshots: dict[str, LabSnapshot] = field(default_factory=dict)
    alarm: list[AlarmHostSpec] = field(default_factory=list)
    devices: dict[str, LabDevice] = field(default_factory=dict)


def credential_names(deployment: Deployment) -> set[str]:
    """Every vault variable the inventory refers to (the lab generates values for them)."""
    names = {GB_MASTER_KEY}
    for d in deployment.devices:
        ref = d.device.credentials or effective_defaults(deployment, d.site).credentials
        if ref:
            names.add(ref)
    for sw in deployment.switches:
        ref = sw.switch.credentials or effective_defaults(deployment, sw.site).switch_credentials
        if ref:
            names.add(ref)
    return names


def _seed(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")


def scene_seed(seed: int, scene_pool: int) -> int:
    """The scene a camera channel shows: its own, or one of ``scene_pool`` shared ones."""
    return seed % scene_pool if scene_pool > 0 else seed


def _serial(name: str, model: str) -> str:
    return f"{model.split('-')[0][:6].upper()}{hashlib.blake2b(name.encode(), digest_size=5).hexdigest().upper()}"


def _ip_of(name: str, explicit: str, plan: Plan) -> str:
    return explicit if explicit != ALLOCATE else plan.ips[name]


def build_topology(deployment: Deployment, plan: Plan, catalog: ProfileCatalog, secrets: Secrets,
                   options: LabOptions, address_map: AddressMap | None = None) -> LabTopology:
    amap = address_map or AddressMap()
    topo = LabTopology(amap)
    master_key = secrets.get(GB_MASTER_KEY)
    # Every inventory host gets a lab address, even devices the lab does not simulate (a model
    # without vendor data): Ansible's lab mode then reaches them at a loopback address that
    # simply does not answer, instead of failing to build the inventory.
    for entry in deployment.devices:
        amap.add(_ip_of(entry.name, entry.device.ip, plan))
    for server in deployment.platform_servers:
        amap.add(_ip_of(server.name, server.server.ip, plan))

    # Platform peers: one lab registrar per SIP platform server.
    enrolling: dict[str, dict[str, str]] = {}
    for d in deployment.devices:
        platform = sip_platform_for(d.site.region)
        if platform is None:
            continue
        subs = enrolling.setdefault(platform.name, {})
        for gb_id in _gb_ids_of(d, plan):
            subs[gb_id] = derive_device_sip_password(master_key, gb_id)
    for p in deployment.platform_servers:
        if "sip" not in p.server.roles:
            continue
        real = _ip_of(p.name, p.server.ip, plan)
        host = amap.lab(real)
        server_id = p.server.gb_id if p.server.gb_id and p.server.gb_id != ALLOCATE else plan.gb_ids[p.name]
        topo.registrars.append(RegistrarSpec(
            name=p.name, server_id=server_id, domain=server_id[:10], host=host, port=p.server.sip_port,
            subscribers=enrolling.get(p.name, {}), require_known=True, rpc_port=options.rpc_port))
        topo.devices[p.name] = LabDevice(p.name, "platform_server", real, host,
                                         {"sip": p.server.sip_port, "rpc": options.rpc_port})

    # Switches: reachable with the inventory credentials (they are staged over the console first).
    cabled: dict[str, list[MacEntry]] = {}
    for d in deployment.devices:
        if d.device.switch and d.device.port:
            cabled.setdefault(d.device.switch, []).append(MacEntry(d.device.mac, 1, d.device.port))
    for sw in deployment.switches:
        model = catalog.switch(sw.switch.model)
        if model is None:
            continue
        real = _ip_of(sw.name, sw.switch.ip, plan)
        host = amap.lab(real)
        ref = sw.switch.credentials or effective_defaults(deployment, sw.site).switch_credentials or ""
        topo.switches.append(SwitchSpec(
            name=sw.name, platform=model.platform, host=host, hostname=model.model.split("-")[0],
            username=SWITCH_USERNAME, password=secrets.get(ref), port=options.ssh_port,
            ports=tuple(PortSpec(n, r) for n, r in model.port_roles().items()),  # type: ignore[arg-type]
            mac_table=tuple(cabled.get(sw.name, ())), serial=_serial(sw.name, model.model), model=model.model))
        topo.devices[sw.name] = LabDevice(sw.name, "switch", real, host, {"ssh": options.ssh_port})

    # Front-end devices that speak ONVIF (cameras, encoders, NVRs).
    for d in deployment.devices:
        profile = catalog.device(d.device.model)
        if profile is None or profile.kind == "alarm_host" or profile.behaviour is None:
            continue
        real = _ip_of(d.name, d.device.ip, plan)
        host = amap.lab(real)
        net = ipaddress.IPv4Network(d.site.site.camera_subnet)
        gateway = d.site.site.camera_gateway if d.site.site.camera_gateway != ALLOCATE else str(net.network_address + 1)
        channels = len(d.device.channels) if isinstance(d.device, Encoder) else profile.channels or 1
        snap = LabSnapshot(_seed(d.name), options.snapshot_size, channels, options.scene_pool,
                           options.sub_snapshot_size)
        topo.snapshots[d.name] = snap
        factory = profile.behaviour.factory
        admin = factory.default_username
        staging = d.device.staging and options.state == "factory"
        network = NetworkSettings(real, net.prefixlen, gateway)
        listen = host
        if staging:
            box = ipaddress.IPv4Interface(f"{factory.default_ip}/24")
            network = NetworkSettings(factory.default_ip, 24, str(box.network.network_address + 1))
            listen = amap.lab(factory.default_ip)
        if options.state == "provisioned":
            ref = d.device.credentials or effective_defaults(deployment, d.site).credentials or ""
            users: tuple[tuple[str, str, str], ...] = ((admin, secrets.get(ref), "Administrator"),)
            factory_new = False
            gb = _provisioned_gb(deployment, d, plan, master_key, amap, options.heartbeat_s)
        else:
            users = ((admin, factory.default_password, "Administrator"),) if factory.default_password else ()
            factory_new = factory.state == "inactive"
            gb = Gb28181Settings()
        topo.onvif.append(OnvifDeviceSpec(
            name=d.name, profile=profile, host=listen, serial=_serial(d.name, profile.model),
            mac=d.device.mac, hostname=profile.model, network=network, staging=staging,
            http_port=options.http_port, rtsp_port=options.rtsp_port,
            users=users,  # type: ignore[arg-type]
            onvif_users=users if (profile.behaviour.onvif.separate_users and options.state == "provisioned") else (),  # type: ignore[arg-type]
            factory_new=factory_new, channels=channels, snapshot=snap, gb28181=gb))
        topo.rtsp.append(_rtsp_endpoint(topo.onvif[-1], options.rtsp_port, host))
        topo.devices[d.name] = LabDevice(d.name, d.kind, real, host,
                                         {"http": options.http_port, "rtsp": options.rtsp_port})

    # Alarm hosts: their vendor HTTP API and GB/T 28181 agent. safecity does not provision
    # them (out of scope): they answer with the inventory account as the installer left it,
    # in both lab states; "provisioned" adds GB/T 28181 access, as for cameras.
    for d in deployment.devices:
        profile = catalog.device(d.device.model)
        if profile is None or profile.kind != "alarm_host" or profile.behaviour is None:
            continue
        real = _ip_of(d.name, d.device.ip, plan)
        host = amap.lab(real)
        ref = d.device.credentials or effective_defaults(deployment, d.site).credentials or ""
        access = _provisioned_gb(deployment, d, plan, master_key, amap, options.heartbeat_s) \
            if options.state == "provisioned" else Gb28181Settings()
        topo.alarm.append(AlarmHostSpec(
            name=d.name, profile=profile, host=host, serial=_serial(d.name, profile.model),
            hostname=d.name, username=profile.behaviour.factory.default_username,
            password=secrets.get(ref), http_port=options.http_port, gb28181=access))
        topo.devices[d.name] = LabDevice(d.name, d.kind, real, host, {"http": options.http_port})
    return topo


def _rtsp_endpoint(spec: OnvifDeviceSpec, port: int, host: str) -> RtspEndpointSpec:
    """The device's RTSP service: main/sub path per channel from the vendor data, sizes from the
    model profile. Credentials follow the device's accounts (the worker keeps them in sync)."""
    behaviour = spec.profile.behaviour
    assert behaviour is not None
    streams: list[StreamSpec] = []
    for ch in range(1, spec.channel_count + 1):
        for which, path in (("main", behaviour.rtsp.main_path), ("sub", behaviour.rtsp.sub_path)):
            st = getattr(spec.profile.streams, which) if spec.profile.streams else None
            codec = st.codec if st is not None and st.codec in ("H264", "H265") else "H264"
            w, h, fps = (st.width, st.height, st.fps) if st is not None else (1920, 1080, 25)
            streams.append(StreamSpec(path.format(channel=ch), codec, w, h, fps))  # type: ignore[arg-type]
    user, password = (spec.users[0][0], spec.users[0][1]) if spec.users else ("", "")
    return RtspEndpointSpec(name=spec.name, host=host, username=user, password=password, port=port,
                            streams=tuple(streams))


def _gb_ids_of(d: DeviceEntry, plan: Plan) -> list[str]:
    ids = [d.device.gb_id if d.device.gb_id != ALLOCATE else plan.gb_ids[d.name]]
    if isinstance(d.device, Encoder):
        ids += [ch.gb_id if ch.gb_id != ALLOCATE else plan.gb_ids[ch.name] for ch in d.device.channels]
    if isinstance(d.device, AlarmHost):
        ids += [p.gb_id if p.gb_id != ALLOCATE else plan.gb_ids[p.name] for p in [*d.device.inputs, *d.device.outputs]]
    return ids


def _provisioned_gb(deployment: Deployment, d: DeviceEntry, plan: Plan, master_key: str,
                    amap: AddressMap, heartbeat_s: int = 60) -> Gb28181Settings:
    platform = sip_platform_for(d.site.region)
    if platform is None:
        return Gb28181Settings()
    server_id = platform.server.gb_id if platform.server.gb_id and platform.server.gb_id != ALLOCATE \
        else plan.gb_ids[platform.name]
    ids = _gb_ids_of(d, plan)
    device_id = ids[0]
    alarm_in: tuple[str, ...] = ()
    alarm_out: tuple[str, ...] = ()
    if isinstance(d.device, AlarmHost):
        channel_ids: tuple[str, ...] = ()
        alarm_in = tuple(ids[1:1 + len(d.device.inputs)])
        alarm_out = tuple(ids[1 + len(d.device.inputs):])
    else:
        channel_ids = tuple(ids[1:]) if isinstance(d.device, Encoder) else (device_id,)
    return Gb28181Settings(
        enabled=True, registrar=_ip_of(platform.name, platform.server.ip, plan),
        registrar_port=platform.server.sip_port, server_id=server_id, server_domain=server_id[:10],
        device_id=device_id, password=derive_device_sip_password(master_key, device_id),
        channel_ids=channel_ids, alarm_in_ids=alarm_in, alarm_out_ids=alarm_out,
        heartbeat_time=heartbeat_s)
