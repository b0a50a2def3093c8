"""Plug-ins for profiles whose vendor API is ``none``: they say so, clearly, and change nothing."""

from __future__ import annotations

from typing import NoReturn

from safecity.drivers.vendor.plugins import (
    Gb28181Settings,
    OnvifAccount,
    UserLevel,
    VendorEndpoint,
)
from safecity.errors import DeviceRejected

NOT_SUPPORTED = "not supported by this vendor profile"


class NoActivation:
    """Devices that ship active with a factory account (no activation step, ONVIF always on)."""

    supported = False
    separate_onvif_users = False

    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint

    def set_credentials(self, username: str, password: str) -> None:
        return None

    def _refuse(self, operation: str) -> NoReturn:
        raise DeviceRejected(self.endpoint.name, operation,
                             f"{NOT_SUPPORTED} (behaviour.activation: none)")

    async def is_active(self) -> bool:
        return True  # nothing to activate: the device ships usable

    async def activate(self, password: str) -> None:
        self._refuse("activate")

    async def check_credentials(self) -> bool:
        self._refuse("vendor API login")

    async def onvif_enabled(self) -> bool:
        return True

    async def enable_onvif(self) -> None:
        return None

    async def onvif_users(self) -> list[OnvifAccount]:
        self._refuse("list ONVIF users")

    async def ensure_onvif_user(self, username: str, password: str, level: UserLevel, *,
                                reset_password: bool = False) -> bool:
        self._refuse("ONVIF user")

    async def identity(self) -> tuple[str, str] | None:
        return None

    async def rotate_admin_password(self, username: str, old_password: str,
                                    new_password: str) -> None:
        self._refuse("vendor API admin password")

    async def close(self) -> None:
        return None


class NoGb28181:
    """Vendors whose GB/T 28181 settings safecity cannot reach (no known API in the profile)."""

    supported = False

    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint

    def set_credentials(self, username: str, password: str) -> None:
        return None

    async def read_settings(self) -> Gb28181Settings:
        raise DeviceRejected(self.endpoint.name, "GB/T 28181 settings",
                             f"{NOT_SUPPORTED} (behaviour.gb28181_api: none)")

    async def apply_settings(self, settings: Gb28181Settings, *, send_password: bool) -> None:
        raise DeviceRejected(self.endpoint.name, "GB/T 28181 settings",
                             f"{NOT_SUPPORTED} (behaviour.gb28181_api: none)")

    async def close(self) -> None:
        return None
