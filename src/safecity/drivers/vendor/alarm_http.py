"""GB/T 28181 access of a generic alarm host (alarm controller) over its JSON HTTP API.

``GET /api/gb28181`` returns the settings (the password never); ``PUT /api/gb28181`` with a JSON
object writes them (``password`` optional: absent or empty keeps the stored one) and answers
``{"status": "ok"}``; errors are ``{"error": "<reason>"}`` with a 4xx status. HTTP digest with
the device's account. The API is the generic alarm-host profile's (``gb28181_api:
alarm_http``), modelled by the lab (``safecity.lab.alarm``); brands differ (*unverified*).
Alarm inputs and outputs each carry a 20-digit ID (types 134/135); an alarm host has no video
channels.
"""

from __future__ import annotations

import json
from typing import Any

from safecity.drivers.vendor.digest_http import DigestHttp
from safecity.drivers.vendor.plugins import Gb28181Settings, VendorEndpoint
from safecity.errors import DeviceError

API = "/api/gb28181"
_INTS = ("server_port", "expires", "heartbeat_s", "heartbeat_count", "local_port")
_STRS = ("server_id", "server_domain", "server_ip", "device_id")
_LISTS = ("alarm_in_ids", "alarm_out_ids")


def settings_to_json(s: Gb28181Settings, *, with_password: bool) -> dict[str, object]:
    out: dict[str, object] = {"enabled": s.enabled}
    out.update({k: getattr(s, k) for k in (*_STRS, *_INTS)})
    out.update({k: list(getattr(s, k)) for k in _LISTS})
    if with_password and s.password:
        out["password"] = s.password
    return out


class AlarmHttpGb28181:
    supported = True

    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint
        self.http = DigestHttp(endpoint)

    def set_credentials(self, username: str, password: str) -> None:
        self.http.set_credentials(username, password)

    async def read_settings(self) -> Gb28181Settings:
        op = "read GB/T 28181 settings"
        _, raw = await self.http.request("GET", API, operation=op,
                                         headers={"Accept": "application/json"})
        try:
            doc: Any = json.loads(raw)
            if not isinstance(doc, dict):
                raise TypeError("not an object")
            return Gb28181Settings(
                enabled=doc["enabled"] is True, server_id=str(doc["server_id"]),
                server_domain=str(doc["server_domain"]), server_ip=str(doc["server_ip"]),
                server_port=int(doc["server_port"]), device_id=str(doc["device_id"]),
                expires=int(doc["expires"]), heartbeat_s=int(doc["heartbeat_s"]),
                heartbeat_count=int(doc["heartbeat_count"]), local_port=int(doc["local_port"]),
                alarm_in_ids=tuple(str(i) for i in doc["alarm_in_ids"]),
                alarm_out_ids=tuple(str(i) for i in doc["alarm_out_ids"]))
        except (ValueError, KeyError, TypeError) as e:
            raise DeviceError(self.endpoint.name, op, f"unreadable reply ({e})") from e

    async def apply_settings(self, settings: Gb28181Settings, *, send_password: bool) -> None:
        if settings.channel_ids:
            raise DeviceError(self.endpoint.name, "write GB/T 28181 settings",
                              "an alarm host has no video channels to give IDs to")
        await self.http.request("PUT", API, operation="write GB/T 28181 settings",
                                json_body=settings_to_json(settings, with_password=send_password))

    async def close(self) -> None:
        await self.http.close()
