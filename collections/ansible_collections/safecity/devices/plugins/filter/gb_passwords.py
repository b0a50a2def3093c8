"""Filter ``safecity.devices.gb_device_password``: a thin adapter over safecity.inventory.secrets.

``{{ vault_gb28181_master_key | safecity.devices.gb_device_password(device_id) }}`` is the
device's SIP password: first 20 chars of urlsafe-base64(HMAC-SHA256(master_key, device_id)).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

try:
    from safecity.inventory.secrets import derive_device_sip_password
except ImportError as exc:  # the controller must run in the safecity venv
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def _require_core() -> None:
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"safecity is not importable on the controller: {_IMPORT_ERROR}")


def gb_device_password(master_key: str, device_id: str) -> str:
    _require_core()
    try:
        return derive_device_sip_password(str(master_key), str(device_id))
    except ValueError as exc:
        # Never echo the key; the device id is not secret.
        raise AnsibleFilterError(f"gb_device_password: device {device_id!s}: {exc}") from None


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"gb_device_password": gb_device_password}
