"""Dahua-like GB/T 28181 access over ``/cgi-bin/configManager.cgi`` (HTTP digest).

*Unverified* against real firmware: the config name (``SIPServer``) and its keys follow the
shape of Dahua's public HTTP API (``action=getConfig&name=…`` answers ``table.<Name>.<Key>=…``
lines; ``action=setConfig&<Name>.<Key>=…`` answers ``OK``); the exact key names of the
GB/T 28181 page differ between firmware lines. Keep them here, in one table, when a real device
says otherwise. The SIP password travels as a query value (as the API wants); it never appears
in an error message, and getConfig does not return it (write-only, as on ISAPI).
"""

from __future__ import annotations

from urllib.parse import quote

from safecity.drivers.vendor.digest_http import DigestHttp
from safecity.drivers.vendor.plugins import Gb28181Settings, VendorEndpoint
from safecity.errors import DeviceError

CGI = "/cgi-bin/configManager.cgi"
CONFIG = "SIPServer"
# Gb28181Settings field -> key on the device's SIPServer page (*unverified*).
KEYS = {"enabled": "Enable", "server_id": "SIPServerID", "server_ip": "SIPServerIP",
        "server_port": "SIPServerPort", "server_domain": "SIPDomain", "device_id": "DeviceID",
        "expires": "RegisterInterval", "heartbeat_s": "KeepAliveInterval",
        "heartbeat_count": "KeepAliveTimeoutCount", "local_port": "LocalSIPPort"}
PASSWORD_KEY = "RegisterPassword"
# Gb28181Settings ID list -> indexed key, ``<key>[<n>]`` from 0.
LIST_KEYS = {"channel_ids": "ChannelID", "alarm_in_ids": "AlarmInID",
             "alarm_out_ids": "AlarmOutID"}
_INT_FIELDS = ("server_port", "expires", "heartbeat_s", "heartbeat_count", "local_port")


def parse_table(text: str, name: str = CONFIG) -> dict[str, str]:
    """``table.<name>.<key>=<value>`` lines -> {key: value}; other lines are ignored."""
    prefix = f"table.{name}."
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith(prefix):
            out[key[len(prefix):]] = value
    return out


def _indexed(table: dict[str, str], key: str) -> tuple[str, ...]:
    found: dict[int, str] = {}
    for k, v in table.items():
        if k.startswith(key + "[") and k.endswith("]") and k[len(key) + 1:-1].isdigit():
            found[int(k[len(key) + 1:-1])] = v
    return tuple(found[i] for i in sorted(found))


def _q(value: str) -> str:
    return quote(value, safe="")


class DahuaCgiGb28181:
    supported = True

    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint
        self.http = DigestHttp(endpoint)

    def set_credentials(self, username: str, password: str) -> None:
        self.http.set_credentials(username, password)

    async def read_settings(self) -> Gb28181Settings:
        op = "read GB/T 28181 settings"
        _, raw = await self.http.request(
            "GET", f"{CGI}?action=getConfig&name={CONFIG}", operation=op)
        table = parse_table(raw.decode("utf-8", "replace"))
        if not table:
            raise DeviceError(self.endpoint.name, op, f"reply has no table.{CONFIG} lines")

        def num(field: str, default: int) -> int:
            value = table.get(KEYS[field], "")
            return int(value) if value.isdigit() else default

        return Gb28181Settings(
            enabled=table.get(KEYS["enabled"], "").lower() == "true",
            server_id=table.get(KEYS["server_id"], ""),
            server_domain=table.get(KEYS["server_domain"], ""),
            server_ip=table.get(KEYS["server_ip"], ""), server_port=num("server_port", 5060),
            device_id=table.get(KEYS["device_id"], ""), expires=num("expires", 3600),
            heartbeat_s=num("heartbeat_s", 60), heartbeat_count=num("heartbeat_count", 3),
            local_port=num("local_port", 5060),
            channel_ids=_indexed(table, LIST_KEYS["channel_ids"]),
            alarm_in_ids=_indexed(table, LIST_KEYS["alarm_in_ids"]),
            alarm_out_ids=_indexed(table, LIST_KEYS["alarm_out_ids"]))

    async def apply_settings(self, settings: Gb28181Settings, *, send_password: bool) -> None:
        """One setConfig with the whole page: the device re-registers once, with all of it."""
        s = settings
        values: list[tuple[str, str]] = [(KEYS["enabled"], "true" if s.enabled else "false")]
        for field in ("server_id", "server_ip", "server_domain", "device_id", *_INT_FIELDS):
            values.append((KEYS[field], str(getattr(s, field))))
        if send_password and s.password:
            values.append((PASSWORD_KEY, s.password))
        for field, key in LIST_KEYS.items():
            values += [(f"{key}[{i}]", v) for i, v in enumerate(getattr(s, field))]
        query = "&".join(f"{_q(CONFIG + '.' + k)}={_q(v)}" for k, v in values)
        op = "write GB/T 28181 settings"
        _, raw = await self.http.request("GET", f"{CGI}?action=setConfig&{query}", operation=op)
        if raw.decode("utf-8", "replace").strip() != "OK":
            raise DeviceError(self.endpoint.name, op, "the device did not answer OK")

    async def close(self) -> None:
        await self.http.close()
