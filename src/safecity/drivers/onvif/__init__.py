"""ONVIF driver over onvif-zeep-async: ``OnvifClient`` and its typed results."""

from safecity.drivers.onvif.client import OnvifClient
from safecity.drivers.onvif.models import (
    DeviceInfo,
    DeviceTime,
    DnsConfig,
    EncoderConfig,
    EncoderOptions,
    MediaProfile,
    NetworkConfig,
    NewUser,
    NtpConfig,
    StreamUris,
    User,
)

__all__ = ["DeviceInfo", "DeviceTime", "DnsConfig", "EncoderConfig", "EncoderOptions",
           "MediaProfile", "NetworkConfig", "NewUser", "NtpConfig", "OnvifClient", "StreamUris",
           "User"]
