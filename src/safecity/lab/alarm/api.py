"""The alarm host's JSON API: device info and GB/T 28181 access (see the package docs).

Handlers get an authenticated request and the device's settings; they return
``(status, json_object, settings_changed)``. Validation is all or nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from safecity.lab.alarm.spec import AlarmHostSpec
from safecity.lab.onvif.spec import Gb28181Settings

_GB_ID = re.compile(r"^\d{20}$")
# API key -> (settings attribute, lo, hi) for integers
_INTS: dict[str, tuple[str, int, int]] = {
    "server_port": ("registrar_port", 1, 65535), "local_port": ("local_port", 1, 65535),
    "expires": ("expires", 60, 864000), "heartbeat_s": ("heartbeat_time", 5, 3600),
    "heartbeat_count": ("heartbeat_count", 1, 30)}
_IDS = {"server_id": "server_id", "device_id": "device_id"}
_LISTS = {"alarm_in_ids": "alarm_in_ids", "alarm_out_ids": "alarm_out_ids"}
KNOWN = {"enabled", "server_ip", "server_domain", "password", *_INTS, *_IDS, *_LISTS}

Reply = tuple[int, dict[str, Any], bool]


class ApiError(Exception):
    """A 400 answer ``{"error": "<message>"}``."""


def device_info(spec: AlarmHostSpec, hostname: str) -> dict[str, Any]:
    p = spec.profile
    return {"name": hostname, "model": p.model, "manufacturer": p.vendor, "serial": spec.serial,
            "firmware": p.firmware, "alarm_inputs": p.alarm_inputs,
            "alarm_outputs": p.alarm_outputs}


def settings_json(g: Gb28181Settings) -> dict[str, Any]:
    """What GET returns: every value but the password."""
    return {"enabled": g.enabled, "server_id": g.server_id, "server_domain": g.server_domain,
            "server_ip": g.registrar, "server_port": g.registrar_port,
            "device_id": g.device_id or g.auth_id, "expires": g.expires,
            "heartbeat_s": g.heartbeat_time, "heartbeat_count": g.heartbeat_count,
            "local_port": g.local_port, "alarm_in_ids": list(g.alarm_in_ids),
            "alarm_out_ids": list(g.alarm_out_ids)}


def _int(key: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ApiError(f"{key}: expected an integer in {lo}..{hi}")
    return value


def _ids(key: str, value: object, limit: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(f"{key}: expected a list of 20-digit IDs")
    if len(value) > limit:
        raise ApiError(f"{key}: this device has {limit} (got {len(value)})")
    bad = [v for v in value if not _GB_ID.match(v)]
    if bad:
        raise ApiError(f"{key}: {bad[0]!r} is not a 20-digit GB/T 28181 ID")
    return tuple(value)


def merge_settings(spec: AlarmHostSpec, current: Gb28181Settings,
                   body: Mapping[str, Any]) -> Gb28181Settings:
    unknown = sorted(set(body) - KNOWN)
    if unknown:
        raise ApiError(f"{unknown[0]}: unknown key")
    changes: dict[str, object] = {}
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise ApiError("enabled: expected true or false")
        changes["enabled"] = body["enabled"]
    if "server_ip" in body:
        ip = body["server_ip"]
        try:
            ok = isinstance(ip, str) and (ip == "" or ipaddress.ip_address(ip).version == 4)
        except ValueError:
            ok = False
        if not ok:
            raise ApiError("server_ip: expected an IPv4 address")
        changes["registrar"] = ip
    if "server_domain" in body:
        if not isinstance(body["server_domain"], str):
            raise ApiError("server_domain: expected a string")
        changes["server_domain"] = body["server_domain"]
    for key, attr in _IDS.items():
        if key in body:
            value = body[key]
            if not isinstance(value, str) or (value and not _GB_ID.match(value)):
                raise ApiError(f"{key}: expected a 20-digit GB/T 28181 ID")
            changes[attr] = value
    for key, (attr, lo, hi) in _INTS.items():
        if key in body:
            changes[attr] = _int(key, body[key], lo, hi)
    limits = {"alarm_in_ids": spec.inputs, "alarm_out_ids": spec.outputs}
    for key, attr in _LISTS.items():
        if key in body:
            changes[attr] = _ids(key, body[key], limits[key])
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise ApiError("password: expected a string")
    if password:  # absent or empty keeps the stored one (it cannot be read back)
        changes["password"] = password
    new: Gb28181Settings = replace(current, **changes)  # type: ignore[arg-type]
    return replace(new, auth_id="") if "device_id" in changes else new


__all__ = ["KNOWN", "ApiError", "device_info", "merge_settings", "settings_json"]
