"""A Dahua-like CGI subset: the GB/T 28181 (``SIPServer``) page of ``/cgi-bin/configManager.cgi``
and the uptime of ``/cgi-bin/magicBox.cgi?action=getUpTime``.

*Unverified* against real firmware: Dahua's public HTTP API shape (``action=getConfig&name=X``
answers ``table.X.Key=value`` lines, ``action=setConfig&X.Key=value…`` answers ``OK``, errors
answer ``Error`` plus a reason with HTTP 400) with the GB/T 28181 key names this project chose
(the driver's ``drivers/vendor/dahua_cgi.py`` keeps its own copy: the lab shares no protocol
code with it). Served only for profiles whose ``behaviour.gb28181_api`` is ``dahua_cgi``.
``getUpTime`` exists on some Dahua firmware only and its answer shape is *unverified* too
(reports show ``up=<seconds>``; the lab answers that).

Handlers get an already-authenticated request (HTTP digest in the front) and return
``(status, text, after)``; the settings land in the same ``Gb28181Settings`` the ISAPI pages
edit, so the same GB/T 28181 user agent (``gb_bridge``) registers with them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from safecity.lab.onvif.device import After, SimDevice
from safecity.lab.onvif.policy import valid_ipv4
from safecity.lab.onvif.spec import Gb28181Settings

PATH = "/cgi-bin/configManager.cgi"
MAGIC_BOX = "/cgi-bin/magicBox.cgi"
CONFIG = "SIPServer"
TEXT_TYPE = "text/plain"
_GB_ID = re.compile(r"^\d{20}$")
_INDEXED = re.compile(r"^(ChannelID|AlarmInID|AlarmOutID)\[(\d{1,3})\]$")
# Page key -> (settings attribute, kind, lo, hi)
_SCALARS: dict[str, tuple[str, str, int, int]] = {
    "Enable": ("enabled", "bool", 0, 0),
    "SIPServerID": ("server_id", "gbid", 0, 0),
    "SIPServerIP": ("registrar", "ipv4", 0, 0),
    "SIPServerPort": ("registrar_port", "int", 1, 65535),
    "SIPDomain": ("server_domain", "str", 0, 0),
    "DeviceID": ("device_id", "gbid", 0, 0),
    "RegisterPassword": ("password", "secret", 0, 0),
    "RegisterInterval": ("expires", "int", 60, 864000),
    "KeepAliveInterval": ("heartbeat_time", "int", 5, 3600),
    "KeepAliveTimeoutCount": ("heartbeat_count", "int", 1, 30),
    "LocalSIPPort": ("local_port", "int", 1, 65535),
}
_LISTS = {"ChannelID": "channel_ids", "AlarmInID": "alarm_in_ids", "AlarmOutID": "alarm_out_ids"}

CgiReply = tuple[int, str, After | None]


class CgiError(Exception):
    """Answered as ``Error\\r\\n<reason>`` with HTTP 400."""


def error_text(reason: str) -> str:
    return f"Error\r\n{reason}\r\n"


def admin_only(query: Mapping[str, str]) -> bool:
    return query.get("action") == "setConfig"


def _bool(v: bool) -> str:
    return "true" if v else "false"


def get_config(dev: SimDevice, query: Mapping[str, str]) -> CgiReply:
    if query.get("name") != CONFIG:
        raise CgiError(f"unknown config name {query.get('name', '')!r}")
    g = dev.state.gb28181
    lines = [f"Enable={_bool(g.enabled)}", f"SIPServerID={g.server_id}",
             f"SIPServerIP={g.registrar}", f"SIPServerPort={g.registrar_port}",
             f"SIPDomain={g.server_domain}", f"DeviceID={g.device_id or g.auth_id}",
             f"RegisterInterval={g.expires}", f"KeepAliveInterval={g.heartbeat_time}",
             f"KeepAliveTimeoutCount={g.heartbeat_count}", f"LocalSIPPort={g.local_port}"]
    # RegisterPassword is write-only here (as the ISAPI page): never returned.
    for key, attr in _LISTS.items():
        lines += [f"{key}[{i}]={v}" for i, v in enumerate(getattr(g, attr))]
    return 200, "".join(f"table.{CONFIG}.{ln}\r\n" for ln in lines), None


def _value(key: str, raw: str, kind: str, lo: int, hi: int) -> object:
    if kind == "bool":
        if raw not in ("true", "false"):
            raise CgiError(f"{key}: expected true/false")
        return raw == "true"
    if kind == "int":
        if not raw.isdigit() or not lo <= int(raw) <= hi:
            raise CgiError(f"{key}: expected an integer in {lo}..{hi}")
        return int(raw)
    if kind == "gbid" and raw and not _GB_ID.match(raw):
        raise CgiError(f"{key}: expected a 20-digit GB/T 28181 ID")
    if kind == "ipv4" and raw and not valid_ipv4(raw):
        raise CgiError(f"{key}: expected an IPv4 address")
    return raw


def _limits(dev: SimDevice) -> dict[str, int]:
    p = dev.spec.profile
    return {"channel_ids": dev.spec.channel_count, "alarm_in_ids": p.alarm_inputs,
            "alarm_out_ids": p.alarm_outputs}


def set_config(dev: SimDevice, query: Mapping[str, str]) -> CgiReply:
    """All or nothing: one bad value and nothing is stored."""
    changes: dict[str, object] = {}
    lists: dict[str, dict[int, str]] = {}
    limits = _limits(dev)
    for full, raw in query.items():
        if full == "action":
            continue
        name, _, key = full.partition(".")
        if name != CONFIG or not key:
            raise CgiError(f"unknown item {full!r}")
        indexed = _INDEXED.match(key)
        if indexed:
            attr, pos = _LISTS[indexed.group(1)], int(indexed.group(2))
            if pos >= limits[attr]:
                raise CgiError(f"{key}: index beyond {limits[attr]} entries")
            if raw and not _GB_ID.match(raw):
                raise CgiError(f"{key}: expected a 20-digit GB/T 28181 ID")
            lists.setdefault(attr, {})[pos] = raw
            continue
        if key not in _SCALARS:
            raise CgiError(f"unknown item {full!r}")
        attr, kind, lo, hi = _SCALARS[key]
        if kind == "secret":
            if raw:  # empty keeps the stored password
                changes[attr] = raw
            continue
        changes[attr] = _value(key, raw, kind, lo, hi)
    for attr, by_pos in lists.items():
        if sorted(by_pos) != list(range(len(by_pos))):
            raise CgiError(f"{attr}: indexes must run from 0 without gaps")
        changes[attr] = tuple(by_pos[i] for i in range(len(by_pos)))
    if not changes:
        raise CgiError("nothing to set")
    new: Gb28181Settings = replace(dev.state.gb28181, **changes)  # type: ignore[arg-type]
    if "device_id" in changes:
        new = replace(new, auth_id="")  # this page has one ID: it is the auth user as well
    dev.state.gb28181 = new
    dev.persist()
    return 200, "OK\r\n", After("gb")


def get_up_time(dev: SimDevice, query: Mapping[str, str]) -> CgiReply:
    return 200, f"up={max(0, int(time.time() - dev.boot_time))}\r\n", None


CgiAction = Callable[[SimDevice, Mapping[str, str]], CgiReply]
# CGI path -> action -> handler: each page answers only its own actions.
PAGES: dict[str, dict[str, CgiAction]] = {
    PATH: {"getConfig": get_config, "setConfig": set_config},
    MAGIC_BOX: {"getUpTime": get_up_time},
}


def action_for(path: str, action: str) -> CgiAction | None:
    return PAGES.get(path, {}).get(action)
