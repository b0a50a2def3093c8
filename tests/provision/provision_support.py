"""Helpers of the provisioning tests: deployment addresses (10.35.x.y, never dialled) mapped to
loopback ones (127.35.160-249.x), targets and desired states."""

from __future__ import annotations

from typing import Any

from onvif_driver_support import HTTP_PORT, host_factory, make_spec, profile

from safecity.drivers.vendor import Gb28181Settings
from safecity.lab.onvif import NetworkSettings, OnvifDeviceSpec
from safecity.provision.camera import CameraTarget, Credentials
from safecity.provision.camera_state import CameraDesiredState, UserSpec, desired_camera_state

next_host = host_factory(160, 90)
ADMIN_PW = "Vault-Adm1n"
NTP = ("10.35.0.123",)
DNS = ("10.35.0.53",)


class AddressPlan:
    """Real → loopback addresses; unknown real addresses get a fresh loopback address."""

    def __init__(self) -> None:
        self.lab: dict[str, str] = {}

    def __call__(self, real: str) -> str:
        if real not in self.lab:
            self.lab[real] = next_host()
        return self.lab[real]

    def resolve(self, real: str) -> tuple[str, int]:
        return self(real), HTTP_PORT


def device(plan: AddressPlan, name: str, key: str, real_ip: str, **kw: Any) -> OnvifDeviceSpec:
    return make_spec(name, key, host=plan(real_ip),
                     network=NetworkSettings(real_ip, 24, real_ip.rsplit(".", 1)[0] + ".1"), **kw)


def target(plan: AddressPlan, spec: OnvifDeviceSpec, *creds: tuple[str, str],
           address: str | None = None, timeout: float = 3.0) -> CameraTarget:
    real = address or spec.network.address
    return CameraTarget(spec.name, real, plan(real), HTTP_PORT, spec.profile,
                        tuple(Credentials(u, p) for u, p in creds), timeout=timeout)


def desired(spec: OnvifDeviceSpec, *, ip: str | None = None, key: str | None = None,
            gb: Gb28181Settings | None = None, **kw: Any) -> CameraDesiredState:
    ip = ip or spec.network.address
    values: dict[str, Any] = {
        "device": spec.name, "profile": profile(key) if key else spec.profile,
        "hostname": f"{spec.name}-prov", "ip": ip, "prefix": 24,
        "gateway": ip.rsplit(".", 1)[0] + ".1", "ntp_servers": NTP, "dns_servers": DNS,
        "admin_password": ADMIN_PW,
        "accounts": (UserSpec("operator", "Oper-at0r1", "Operator"),
                     UserSpec("viewer", "View-er001", "User")),
        "gb28181": gb}
    values.update(kw)
    return desired_camera_state(**values)
