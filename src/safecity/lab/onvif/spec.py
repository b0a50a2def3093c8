"""What one simulated ONVIF device is at lab start: identity, addresses, accounts, settings.

The spec is immutable input. A device's *current* settings live in ``state.DeviceState`` and are
persisted; the spec only seeds them the first time a device starts in a given state directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from safecity.inventory.profiles import DeviceProfile, StreamSettings

UserLevel = Literal["Administrator", "Operator", "User"]
USER_LEVELS: tuple[UserLevel, ...] = ("Administrator", "Operator", "User")

# The lab's media package provides the real generator; an object with a ``set_fault(fault,
# value)`` method additionally gets ``OnvifLab.set_image_fault`` passthrough, one with
# ``cached(channel, stream)`` is served from the event loop when that frame is drawn already.
Stream = Literal["main", "sub"]


class StreamSnapshotProvider(Protocol):
    """JPEG bytes of a channel's current picture, from its main or sub stream."""

    def __call__(self, channel: int, stream: Stream = "main") -> bytes: ...


# A provider of the main picture alone takes just the channel (the lab asks for the main one so).
SnapshotProvider = StreamSnapshotProvider | Callable[[int], bytes]


@dataclass(frozen=True)
class NetworkSettings:
    """The deployment addresses the device *has* (shown over ONVIF), not where the lab listens."""

    address: str
    prefix_length: int = 24
    gateway: str = ""
    dhcp: bool = False


@dataclass(frozen=True)
class EncoderSettings:
    """One video encoder configuration (main or sub stream of one channel)."""

    codec: str
    width: int
    height: int
    fps: int
    bitrate_kbps: int
    gop: int
    quality: float = 5.0

    @classmethod
    def from_stream(cls, s: StreamSettings) -> EncoderSettings:
        return cls(s.codec, s.width, s.height, s.fps, s.bitrate_kbps, s.gop)


@dataclass(frozen=True)
class Gb28181Settings:
    """Device-side GB/T 28181 access settings (Hikvision exposes them at /ISAPI/System/Network/SIP).

    ``registrar`` is a real deployment IP; the lab maps it to loopback with ``address_map``.
    ``channel_ids`` holds one 20-digit ID per video input, ``alarm_in_ids``/``alarm_out_ids``
    one per alarm input/output.
    """

    enabled: bool = False
    registrar: str = ""
    registrar_port: int = 5060
    server_id: str = ""
    server_domain: str = ""
    device_id: str = ""  # SIP user name; GB/T 28181 uses it as the digest user too
    auth_id: str = ""  # empty: same as device_id
    password: str = ""
    expires: int = 3600
    heartbeat_time: int = 60
    heartbeat_count: int = 3
    local_port: int = 5060
    channel_ids: tuple[str, ...] = ()
    alarm_in_ids: tuple[str, ...] = ()
    alarm_out_ids: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Enabled and every value a registration needs is present."""
        return bool(self.enabled and self.registrar and self.server_id and self.server_domain
                    and (self.device_id or self.auth_id) and self.password)


@dataclass(frozen=True)
class OnvifDeviceSpec:
    """One simulated device. ``host`` is its loopback listen address (127.x.y.z)."""

    name: str
    profile: DeviceProfile
    host: str
    serial: str
    mac: str
    hostname: str
    network: NetworkSettings
    http_port: int = 80
    rtsp_port: int = 554
    # (username, password, level). For a factory-new device that activates over a vendor API
    # these are ignored until activation; for separate-ONVIF-user vendors they seed the
    # device (vendor API) accounts, and ``onvif_users`` seeds the ONVIF list.
    users: tuple[tuple[str, str, UserLevel], ...] = ()
    onvif_users: tuple[tuple[str, str, UserLevel], ...] = ()
    ntp_servers: tuple[str, ...] = ()
    dns_servers: tuple[str, ...] = ()
    # Key "<channel>:main|sub"; missing keys default from ``profile.streams``.
    encoders: dict[str, EncoderSettings] = field(default_factory=dict)
    factory_new: bool = False
    onvif_enabled: bool | None = None  # None: factory default of the vendor when factory_new
    clock_offset_s: float = 0.0
    channels: int | None = None  # None: profile.channels (at least 1)
    snapshot: SnapshotProvider | None = None
    gb28181: Gb28181Settings = Gb28181Settings()
    discoverable: bool = True
    # A box delivered on its vendor's default address (``network``), which it shares with every
    # box of the vendor: it waits unplugged until the lab is asked to plug it into the staging
    # port (``OnvifLab.plug``), and stays where it is once it has moved off that address.
    staging: bool = False
    # Behaviour the profile does not carry yet (proposed profile keys, see package docs).
    allow_password_text: bool = False  # proposed: onvif.password_text
    network_reboot_needed: bool = False  # proposed: onvif.network_reboot_needed
    reboot_s: float = 3.0  # how long SystemReboot keeps the device offline
    network_move_s: float = 0.5  # delay before the device answers on a new address

    @property
    def channel_count(self) -> int:
        return max(1, self.channels if self.channels is not None else self.profile.channels)

    @property
    def uses_media2(self) -> bool:
        b = self.profile.behaviour
        return b is not None and b.onvif.media == "media2"

    @property
    def separate_onvif_users(self) -> bool:
        b = self.profile.behaviour
        return b is not None and b.onvif.separate_users
