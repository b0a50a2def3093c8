"""Hikvision-style ISAPI over HTTP digest: activation, ONVIF enablement and users, GB/T 28181.

Element names follow the public ``ver20/XMLSchema`` documents. Activation sends the password
in a plain ``<password>`` element as the lab accepts it; real firmware wants it RSA-encrypted
against ``/ISAPI/Security/challenge`` (*unverified* here: the lab models the plain form).
"""

from __future__ import annotations

import asyncio
from xml.sax.saxutils import escape

import aiohttp
from lxml import etree

from safecity.drivers.onvif.faults import map_error
from safecity.drivers.vendor.plugins import (
    Gb28181Settings,
    OnvifAccount,
    UserLevel,
    VendorEndpoint,
)
from safecity.errors import AuthFailed, DeviceError, DeviceRejected

NS = "http://www.hikvision.com/ver20/XMLSchema"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False)
_LEVEL_TO_TYPE: dict[UserLevel, str] = {"Administrator": "administrator",
                                        "Operator": "operator", "User": "mediaUser"}
_TYPE_TO_LEVEL: dict[str, UserLevel] = {"administrator": "Administrator",
                                        "operator": "Operator", "viewer": "User",
                                        "mediaUser": "User"}
SIP_PATH = "/ISAPI/System/Network/SIP"
USERS_PATH = "/ISAPI/Security/users"  # the device (web / ISAPI) accounts, not the ONVIF list
SIP_INFO_PATH = "/ISAPI/System/Network/SIP/1/SIPInfo"


def _e(tag: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _doc(root: str, inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><{root} version="2.0" xmlns="{NS}">'
            f"{inner}</{root}>").encode()


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _find(node: etree._Element | None, *path: str) -> etree._Element | None:
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if _local(c) == name), None)
    return node


def _findall(node: etree._Element | None, name: str) -> list[etree._Element]:
    return [c for c in node if _local(c) == name] if node is not None else []


def _text(node: etree._Element | None, *path: str) -> str:
    found = _find(node, *path) if path else node
    return (found.text or "").strip() if found is not None else ""


def _descendant(node: etree._Element, name: str) -> etree._Element | None:
    return next((e for e in node.iter() if _local(e) == name), None)


class IsapiSession:
    """One device's ISAPI: every request bounded, answered 401s retried with digest."""

    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint
        self._session: aiohttp.ClientSession | None = None
        self._digest: tuple[aiohttp.DigestAuthMiddleware, ...] = ()
        self.set_credentials(endpoint.username, endpoint.password)

    def set_credentials(self, username: str | None, password: str | None) -> None:
        self._digest = ((aiohttp.DigestAuthMiddleware(username, password),)
                        if username and password is not None else ())

    @property
    def base_url(self) -> str:
        scheme = "https" if self.endpoint.tls else "http"
        return f"{scheme}://{self.endpoint.host}:{self.endpoint.port}"

    async def request(self, method: str, path: str, body: bytes | None = None, *,
                      anonymous: bool = False, operation: str = "") -> etree._Element:
        operation = operation or f"{method} {path}"
        name, timeout = self.endpoint.name, self.endpoint.timeout
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=bool(self.endpoint.verify_tls),
                                               limit=2),
                timeout=aiohttp.ClientTimeout(total=timeout, connect=timeout),
                trust_env=False)
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(
                        method, self.base_url + path, data=body,
                        headers={"Content-Type": "application/xml"} if body else None,
                        middlewares=() if anonymous else self._digest) as resp:
                    raw = await resp.read()
                    status = resp.status
        except asyncio.CancelledError:
            raise
        except Exception as e:
            raise map_error(name, operation, e, timeout) from e
        try:
            doc = etree.fromstring(raw, _PARSER) if raw.strip() else None
        except etree.XMLSyntaxError:
            doc = None
        if status == 401:
            raise AuthFailed(name, operation, "credentials refused (HTTP 401)")
        if status >= 400:
            reason = _text(doc, "statusString") if doc is not None else ""
            sub = _text(doc, "subStatusCode") if doc is not None else ""
            detail = f"{reason} [{sub}]" if sub else reason or "refused"
            raise DeviceRejected(name, operation, f"HTTP {status}: {detail}")
        if doc is None:
            raise DeviceError(name, operation, "unreadable reply (not XML)")
        return doc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class IsapiActivation:
    supported = True

    def __init__(self, endpoint: VendorEndpoint, *, separate_onvif_users: bool) -> None:
        self.endpoint = endpoint
        self.separate_onvif_users = separate_onvif_users
        self.http = IsapiSession(endpoint)

    def set_credentials(self, username: str, password: str) -> None:
        self.http.set_credentials(username, password)

    async def is_active(self) -> bool:
        doc = await self.http.request("GET", "/SDK/activateStatus", anonymous=True,
                                      operation="activation status")
        return _text(doc, "Activated") == "true"

    async def activate(self, password: str) -> None:
        await self.http.request("PUT", "/ISAPI/Security/activate",
                                _doc("ActivateInfo", _e("password", password)),
                                anonymous=True, operation="activate")

    async def check_credentials(self) -> bool:
        try:
            await self.http.request("GET", "/ISAPI/System/deviceInfo", operation="login")
        except AuthFailed:
            return False
        return True

    async def onvif_enabled(self) -> bool:
        doc = await self.http.request("GET", "/ISAPI/System/Network/Integrate",
                                      operation="read ONVIF integration")
        return _text(doc, "ONVIF", "enable") == "true"

    async def enable_onvif(self) -> None:
        await self.http.request("PUT", "/ISAPI/System/Network/Integrate", _doc(
            "Integrate", "<ONVIF>" + _e("enable", True) + "</ONVIF>"),
            operation="enable ONVIF")

    async def _user_ids(self) -> dict[str, tuple[int, UserLevel]]:
        doc = await self.http.request("GET", "/ISAPI/Security/ONVIF/users",
                                      operation="list ONVIF users")
        out: dict[str, tuple[int, UserLevel]] = {}
        for u in _findall(doc, "User"):
            level = _TYPE_TO_LEVEL.get(_text(u, "userType"), "User")
            out[_text(u, "userName")] = (int(_text(u, "id") or 0), level)
        return out

    async def onvif_users(self) -> list[OnvifAccount]:
        return [OnvifAccount(n, lvl) for n, (_, lvl) in (await self._user_ids()).items()]

    async def ensure_onvif_user(self, username: str, password: str, level: UserLevel, *,
                                reset_password: bool = False) -> bool:
        """Create the ONVIF user, or fix its level (and password when asked); True if changed."""
        users = await self._user_ids()
        user_type = _LEVEL_TO_TYPE[level]
        if username not in users:
            await self.http.request("POST", "/ISAPI/Security/ONVIF/users", _doc("User", (
                _e("id", len(users) + 1) + _e("userName", username) + _e("password", password)
                + _e("userType", user_type))), operation=f"create ONVIF user {username}")
            return True
        uid, current = users[username]
        if current == level and not reset_password:
            return False
        inner = _e("id", uid) + _e("userName", username) + _e("userType", user_type)
        if reset_password:
            inner += _e("password", password)
        await self.http.request("PUT", f"/ISAPI/Security/ONVIF/users/{uid}", _doc("User", inner),
                                operation=f"update ONVIF user {username}")
        return True

    async def identity(self) -> tuple[str, str] | None:
        doc = await self.http.request("GET", "/ISAPI/System/deviceInfo",
                                      operation="read device identity")
        return _text(doc, "serialNumber"), _text(doc, "macAddress")

    async def rotate_admin_password(self, username: str, old_password: str,
                                    new_password: str) -> None:
        """``PUT /ISAPI/Security/users/<id>`` with ``loginPassword`` (the current password,
        which newer firmware demands for a password change); afterwards this session signs
        in with the new password."""
        doc = await self.http.request("GET", USERS_PATH, operation="list device users")
        uid = next((_text(u, "id") for u in _findall(doc, "User")
                    if _text(u, "userName") == username), "")
        if not uid.isdigit():
            raise DeviceRejected(self.endpoint.name, "list device users",
                                 f"no device account {username}")
        await self.http.request("PUT", f"{USERS_PATH}/{uid}", _doc("User", (
            _e("id", uid) + _e("userName", username) + _e("password", new_password)
            + _e("loginPassword", old_password))),
            operation=f"set the password of device account {username}")
        self.http.set_credentials(username, new_password)

    async def close(self) -> None:
        await self.http.close()


class IsapiGb28181:
    supported = True

    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint
        self.http = IsapiSession(endpoint)

    def set_credentials(self, username: str, password: str) -> None:
        self.http.set_credentials(username, password)

    async def read_settings(self) -> Gb28181Settings:
        doc = await self.http.request("GET", SIP_PATH, operation="read GB/T 28181 settings")
        gb = _descendant(doc, "GB28181")
        info = await self.http.request("GET", SIP_INFO_PATH,
                                       operation="read GB/T 28181 channel IDs")
        if gb is None:
            raise DeviceError(self.endpoint.name, "read GB/T 28181 settings",
                              "reply has no GB28181 block")

        def num(tag: str, default: int) -> int:
            value = _text(gb, tag)
            return int(value) if value.isdigit() else default

        def ids(list_tag: str, item_tag: str, id_tag: str) -> tuple[str, ...]:
            items = _findall(_descendant(info, list_tag), item_tag)
            ordered = sorted(items, key=lambda i: int(_text(i, "id") or 0))
            return tuple(_text(i, id_tag) for i in ordered)

        return Gb28181Settings(
            enabled=_text(gb, "enabled") == "true", server_id=_text(gb, "serverId"),
            server_domain=_text(gb, "serverDomain"), server_ip=_text(gb, "registrar"),
            server_port=num("registrarPort", 5060),
            device_id=_text(gb, "userName") or _text(gb, "authID"),
            expires=num("expires", 3600), heartbeat_s=num("heartbeatTime", 60),
            heartbeat_count=num("heartbeatCount", 3), local_port=num("localPort", 5060),
            channel_ids=ids("VideoInputList", "VideoInput", "videoInputID"),
            alarm_in_ids=ids("AlarmInputList", "AlarmInput", "alarmInID"),
            alarm_out_ids=ids("AlarmOutputList", "AlarmOutput", "alarmOutID"))

    async def apply_settings(self, settings: Gb28181Settings, *, send_password: bool) -> None:
        """Channel IDs first, then the server block (whose change makes the device register)."""
        s = settings

        def id_list(list_tag: str, item_tag: str, id_tag: str, values: tuple[str, ...]) -> str:
            items = "".join(f"<{item_tag}>{_e('id', i)}{_e(id_tag, v)}</{item_tag}>"
                            for i, v in enumerate(values, 1))
            return f"<{list_tag}>{items}</{list_tag}>"

        await self.http.request("PUT", SIP_INFO_PATH, _doc("SIPInfo", (
            id_list("VideoInputList", "VideoInput", "videoInputID", s.channel_ids)
            + id_list("AlarmInputList", "AlarmInput", "alarmInID", s.alarm_in_ids)
            + id_list("AlarmOutputList", "AlarmOutput", "alarmOutID", s.alarm_out_ids))),
            operation="write GB/T 28181 channel IDs")
        block = (_e("enabled", s.enabled) + _e("registrar", s.server_ip)
                 + _e("registrarPort", s.server_port) + _e("serverId", s.server_id)
                 + _e("serverDomain", s.server_domain) + _e("userName", s.device_id)
                 + _e("authID", s.device_id)
                 + (_e("password", s.password) if send_password and s.password else "")
                 + _e("expires", s.expires) + _e("heartbeatTime", s.heartbeat_s)
                 + _e("heartbeatCount", s.heartbeat_count) + _e("localPort", s.local_port))
        await self.http.request("PUT", SIP_PATH, _doc("SIPServerList", (
            "<SIPServer>" + _e("id", 1) + f"<GB28181>{block}</GB28181></SIPServer>")),
            operation="write GB/T 28181 settings")

    async def close(self) -> None:
        await self.http.close()
