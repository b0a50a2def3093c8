"""Protocols of the vendor plug-ins, the GB/T 28181 settings they carry, and the registry.

The registry maps the profile's data values (``activation: isapi | none``,
``gb28181_api: isapi | dahua_cgi | alarm_http | none``) to implementations; adding a vendor API
means adding a value to the profile schema and one entry here, with no vendor-name test anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from safecity.netguard import check_target

UserLevel = Literal["Administrator", "Operator", "User"]


@dataclass(frozen=True)
class VendorEndpoint:
    """Where and as whom to reach a device's vendor HTTP API."""

    name: str  # the device name, first word of every error message
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 5.0
    tls: bool = False
    verify_tls: bool = True

    def __post_init__(self) -> None:
        check_target(self.name, "vendor API", self.host)


@dataclass(frozen=True)
class Gb28181Settings:
    """Device-side GB/T 28181 platform access (DOMAIN.md §2).

    ``server_ip`` is the platform's real address; ``device_id`` doubles as the SIP digest user.
    ``password`` is write-only on devices: a read returns it empty.
    """

    enabled: bool
    server_id: str
    server_domain: str
    server_ip: str
    server_port: int
    device_id: str
    password: str = field(default="", repr=False)
    expires: int = 3600
    heartbeat_s: int = 60
    heartbeat_count: int = 3
    local_port: int = 5060
    channel_ids: tuple[str, ...] = ()
    alarm_in_ids: tuple[str, ...] = ()
    alarm_out_ids: tuple[str, ...] = ()

    def comparable(self) -> dict[str, object]:
        """Every readable value (all but the password), for diffs."""
        return {"enabled": self.enabled, "server_id": self.server_id,
                "server_domain": self.server_domain, "server_ip": self.server_ip,
                "server_port": self.server_port, "device_id": self.device_id,
                "expires": self.expires, "heartbeat_s": self.heartbeat_s,
                "heartbeat_count": self.heartbeat_count, "local_port": self.local_port,
                "channel_ids": list(self.channel_ids), "alarm_in_ids": list(self.alarm_in_ids),
                "alarm_out_ids": list(self.alarm_out_ids)}


@dataclass(frozen=True)
class OnvifAccount:
    username: str
    level: UserLevel


class ActivationPlugin(Protocol):
    """Factory-new activation and, where the vendor separates them, ONVIF enablement/users."""

    supported: bool
    separate_onvif_users: bool

    def set_credentials(self, username: str, password: str) -> None: ...

    async def is_active(self) -> bool: ...

    async def activate(self, password: str) -> None: ...

    async def check_credentials(self) -> bool: ...

    async def onvif_enabled(self) -> bool: ...

    async def enable_onvif(self) -> None: ...

    async def onvif_users(self) -> list[OnvifAccount]: ...

    async def ensure_onvif_user(self, username: str, password: str, level: UserLevel, *,
                                reset_password: bool = False) -> bool: ...

    async def identity(self) -> tuple[str, str] | None:
        """``(serial, mac)`` as the vendor API reports them; None where there is no API."""
        ...

    async def rotate_admin_password(self, username: str, old_password: str,
                                    new_password: str) -> None:
        """Set the vendor API (web) account's password; the old one proves the change."""
        ...

    async def close(self) -> None: ...


class Gb28181Plugin(Protocol):
    """Reads and writes the device-side GB/T 28181 settings over the vendor API."""

    supported: bool
    endpoint: VendorEndpoint

    def set_credentials(self, username: str, password: str) -> None: ...

    async def read_settings(self) -> Gb28181Settings: ...

    async def apply_settings(self, settings: Gb28181Settings, *, send_password: bool) -> None: ...

    async def close(self) -> None: ...


def activation_plugin(kind: str, endpoint: VendorEndpoint, *,
                      separate_onvif_users: bool = False) -> ActivationPlugin:
    """The activation plug-in named by the profile's ``behaviour.activation``."""
    factory = _ACTIVATION.get(kind)
    if factory is None:
        raise ValueError(f"{endpoint.name}: no activation plug-in {kind!r} "
                         f"(known: {', '.join(sorted(_ACTIVATION))})")
    return factory(endpoint, separate_onvif_users)


def gb28181_plugin(kind: str, endpoint: VendorEndpoint) -> Gb28181Plugin:
    """The GB/T 28181 plug-in named by the profile's ``behaviour.gb28181_api``."""
    factory = _GB.get(kind)
    if factory is None:
        raise ValueError(f"{endpoint.name}: no GB/T 28181 plug-in {kind!r} "
                         f"(known: {', '.join(sorted(_GB))})")
    return factory(endpoint)


def _isapi_activation(ep: VendorEndpoint, separate: bool) -> ActivationPlugin:
    from safecity.drivers.vendor.isapi import IsapiActivation

    return IsapiActivation(ep, separate_onvif_users=separate)


def _no_activation(ep: VendorEndpoint, separate: bool) -> ActivationPlugin:
    from safecity.drivers.vendor.unsupported import NoActivation

    return NoActivation(ep)


def _isapi_gb(ep: VendorEndpoint) -> Gb28181Plugin:
    from safecity.drivers.vendor.isapi import IsapiGb28181

    return IsapiGb28181(ep)


def _dahua_cgi_gb(ep: VendorEndpoint) -> Gb28181Plugin:
    from safecity.drivers.vendor.dahua_cgi import DahuaCgiGb28181

    return DahuaCgiGb28181(ep)


def _alarm_http_gb(ep: VendorEndpoint) -> Gb28181Plugin:
    from safecity.drivers.vendor.alarm_http import AlarmHttpGb28181

    return AlarmHttpGb28181(ep)


def _no_gb(ep: VendorEndpoint) -> Gb28181Plugin:
    from safecity.drivers.vendor.unsupported import NoGb28181

    return NoGb28181(ep)


_ACTIVATION: dict[str, Callable[[VendorEndpoint, bool], ActivationPlugin]] = {
    "isapi": _isapi_activation, "none": _no_activation}
_GB: dict[str, Callable[[VendorEndpoint], Gb28181Plugin]] = {
    "isapi": _isapi_gb, "dahua_cgi": _dahua_cgi_gb, "alarm_http": _alarm_http_gb, "none": _no_gb}
