"""A Hikvision-like ISAPI subset: activation, ONVIF integration and users, GB/T 28181 (SIP).

Element names follow Hikvision's ``ver20/XMLSchema`` documents as far as public material shows
them. One deliberate simplification: real devices expect the activation password RSA-encrypted
against a ``/ISAPI/Security/challenge``; the lab accepts it in a plain ``<password>`` element.

Handlers get an already-authenticated request (the HTTP layer does digest auth) and return
``(status, xml, after)``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from safecity.lab.onvif.device import After, SimDevice
from safecity.lab.onvif.policy import password_problem, valid_ipv4
from safecity.lab.onvif.soap import SAFE_PARSER, child, children, text
from safecity.lab.onvif.spec import Gb28181Settings, UserLevel
from safecity.lab.onvif.state import Account

HIK_NS = "http://www.hikvision.com/ver20/XMLSchema"
XML_TYPE = "application/xml"
_GB_ID = re.compile(r"^\d{20}$")
_USER_TYPES: dict[str, UserLevel] = {"administrator": "Administrator", "operator": "Operator",
                                     "viewer": "User", "mediaUser": "User"}
_TYPE_OF_LEVEL = {"Administrator": "administrator", "Operator": "operator", "User": "mediaUser"}

IsapiReply = tuple[int, str, After | None]
IsapiHandler = Callable[[SimDevice, str, bytes], IsapiReply]


class IsapiError(Exception):
    def __init__(self, http_status: int, status_code: int, sub: str, reason: str) -> None:
        super().__init__(reason)
        self.http_status, self.status_code, self.sub = http_status, status_code, sub


def _doc(root: str, inner: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} version="2.0" xmlns="{HIK_NS}">'
            f"{inner}</{root}>")


def _e(tag: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def response_status(url: str, code: int = 1, sub: str = "ok", reason: str = "OK") -> str:
    return _doc("ResponseStatus", _e("requestURL", url) + _e("statusCode", code)
                + _e("statusString", reason) + _e("subStatusCode", sub))


def ok(url: str, after: After | None = None) -> IsapiReply:
    return 200, response_status(url), after


def bad_content(reason: str) -> IsapiError:
    return IsapiError(400, 6, "badParameters", reason)


def _parse(body: bytes) -> etree._Element:
    try:
        return etree.fromstring(body, SAFE_PARSER)
    except etree.XMLSyntaxError:
        raise IsapiError(400, 5, "badXmlFormat", "Invalid XML Format") from None


def _bool(value: str, name: str) -> bool:
    if value not in ("true", "false"):
        raise bad_content(f"{name}: expected true/false")
    return value == "true"


def _int(value: str, name: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise bad_content(f"{name}: not an integer") from None
    if not lo <= n <= hi:
        raise bad_content(f"{name}: outside {lo}..{hi}")
    return n


def _find_desc(root: etree._Element, name: str) -> etree._Element | None:
    if isinstance(root.tag, str) and etree.QName(root).localname == name:
        return root
    for e in root.iter():
        if isinstance(e.tag, str) and etree.QName(e).localname == name:
            return e
    return None


# ---- activation (anonymous) ---------------------------------------------------------------

def activate_status(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    return 200, _doc("ActivateStatus", _e("Activated", dev.state.active)), None


def activate(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    if dev.state.active:
        raise IsapiError(403, 4, "activated", "device already activated")
    password = text(_parse(body), "password")
    problem = password_problem(dev.spec.profile, password)
    if problem:
        raise IsapiError(400, 6, "badPassword", problem)
    b = dev.spec.profile.behaviour
    admin = b.factory.default_username if b is not None else "admin"
    dev.state.users = [Account(admin, password, "Administrator")]
    dev.state.active = True
    dev.persist()
    return ok(url)


# ---- device info and ONVIF integration -----------------------------------------------------

def device_info(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    p = dev.spec.profile
    kind = {"ipc": "IPCamera", "encoder": "DVS", "nvr": "NVR", "alarm_host": "AlarmHost"}[p.kind]
    inner = (_e("deviceName", dev.state.hostname) + _e("model", p.model)
             + _e("serialNumber", dev.spec.serial) + _e("macAddress", dev.spec.mac)
             + _e("firmwareVersion", p.firmware) + _e("deviceType", kind)
             + _e("videoInputNumber", dev.spec.channel_count)
             + _e("alarmInputNumber", p.alarm_inputs) + _e("alarmOutputNumber", p.alarm_outputs))
    return 200, _doc("DeviceInfo", inner), None


def device_status(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    """``DeviceStatus``: the device clock and ``deviceUpTime`` (whole seconds since boot, what
    the nightly check's reboot detection reads); CPU and memory as fixed lab values."""
    clock = datetime.fromtimestamp(dev.now(), UTC).astimezone().isoformat(timespec="seconds")
    inner = (_e("currentDeviceTime", clock)
             + _e("deviceUpTime", max(0, int(time.time() - dev.boot_time)))
             + "<CPUList><CPU>" + _e("cpuDescription", "lab") + _e("cpuUtilization", 5)
             + "</CPU></CPUList><MemoryList><Memory>" + _e("memoryDescription", "lab")
             + _e("memoryUsage", 64) + _e("memoryAvailable", 192) + "</Memory></MemoryList>")
    return 200, _doc("DeviceStatus", inner), None


def get_integrate(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    inner = ("<CGI>" + _e("enable", False) + _e("certificateType", "digest") + "</CGI>"
             + "<ONVIF>" + _e("enable", dev.state.onvif_enabled)
             + _e("certificateType", "digest/WSSE") + "</ONVIF>"
             + "<ISAPI>" + _e("enable", True) + "</ISAPI>")
    return 200, _doc("Integrate", inner), None


def put_integrate(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    onvif = child(_parse(body), "ONVIF")
    if onvif is not None and text(onvif, "enable"):
        dev.state.onvif_enabled = _bool(text(onvif, "enable"), "ONVIF/enable")
        dev.persist()
    return ok(url)


# ---- separate ONVIF user list ---------------------------------------------------------------

def _user_xml(i: int, a: Account) -> str:
    return ("<User>" + _e("id", i) + _e("userName", a.username)
            + _e("userType", _TYPE_OF_LEVEL[a.level]) + "</User>")


def get_onvif_users(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    inner = "".join(_user_xml(i, a) for i, a in enumerate(dev.state.onvif_users, 1))
    return 200, _doc("UserList", inner), None


def _read_user(node: etree._Element, need_password: bool) -> tuple[str, str | None, UserLevel]:
    name = text(node, "userName")
    pw = text(node, "password") if child(node, "password") is not None else None
    level = _USER_TYPES.get(text(node, "userType") or "mediaUser")
    if not name or level is None:
        raise bad_content("userName and a valid userType are required")
    if need_password and not pw:
        raise bad_content("password is required")
    return name, pw, level


def post_onvif_users(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    root = _parse(body)
    nodes = [root] if etree.QName(root).localname == "User" else children(root, "User")
    users = dev.state.onvif_users
    for node in nodes:
        name, pw, level = _read_user(node, need_password=True)
        if any(a.username == name for a in users):
            raise IsapiError(400, 6, "userNameExist", f"user {name} exists")
        problem = password_problem(dev.spec.profile, pw or "")
        if problem:
            raise IsapiError(400, 6, "badPassword", problem)
        users.append(Account(name, pw or "", level))
    dev.persist()
    return ok(url)


def _user_by_id(dev: SimDevice, url: str) -> int:
    tail = url.rsplit("/", 1)[-1]
    if not tail.isdigit() or not 1 <= int(tail) <= len(dev.state.onvif_users):
        raise IsapiError(404, 4, "invalidID", "no such user")
    return int(tail) - 1


def put_onvif_user(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    idx = _user_by_id(dev, url)
    name, pw, level = _read_user(_parse(body), need_password=False)
    acct = dev.state.onvif_users[idx]
    if pw is not None:
        problem = password_problem(dev.spec.profile, pw)
        if problem:
            raise IsapiError(400, 6, "badPassword", problem)
        acct.password = pw
    acct.username, acct.level = name, level
    dev.persist()
    return ok(url)


def delete_onvif_user(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    del dev.state.onvif_users[_user_by_id(dev, url)]
    dev.persist()
    return ok(url)


# ---- device (web / ISAPI) accounts --------------------------------------------------------

def get_users(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    inner = "".join("<User>" + _e("id", i) + _e("userName", a.username)
                    + _e("userLevel", a.level) + "</User>"
                    for i, a in enumerate(dev.state.users, 1))
    return 200, _doc("UserList", inner), None


def put_user(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    """Change a device account's password. As on current firmware, ``loginPassword`` (the
    administrator's present password) must come with it."""
    tail = url.rsplit("/", 1)[-1]
    if not tail.isdigit() or not 1 <= int(tail) <= len(dev.state.users):
        raise IsapiError(404, 4, "invalidID", "no such user")
    acct = dev.state.users[int(tail) - 1]
    root = _parse(body)
    name = text(root, "userName")
    if name and name != acct.username:
        raise bad_content("userName cannot be changed")
    admin = next((a for a in dev.state.users if a.level == "Administrator"), None)
    if admin is None or text(root, "loginPassword") != admin.password:
        raise IsapiError(403, 4, "loginPasswordError", "loginPassword is wrong or missing")
    if child(root, "password") is not None:
        pw = text(root, "password")
        problem = password_problem(dev.spec.profile, pw)
        if problem:
            raise IsapiError(400, 6, "badPassword", problem)
        acct.password = pw
        dev.persist()
    return ok(url)


# ---- GB/T 28181 -----------------------------------------------------------------------------

def _gb_block(g: Gb28181Settings) -> str:
    # password is write-only: a GET never returns it.
    return ("<GB28181>" + _e("enabled", g.enabled) + _e("registrar", g.registrar)
            + _e("registrarPort", g.registrar_port) + _e("serverId", g.server_id)
            + _e("serverDomain", g.server_domain) + _e("userName", g.device_id)
            + _e("authID", g.auth_id or g.device_id) + _e("expires", g.expires)
            + _e("heartbeatTime", g.heartbeat_time) + _e("heartbeatCount", g.heartbeat_count)
            + _e("localPort", g.local_port) + _e("protocolVersion", "GB/T28181-2016")
            + _e("transportType", "UDP") + "</GB28181>")


def get_sip(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    server = "<SIPServer>" + _e("id", 1) + _gb_block(dev.state.gb28181) + "</SIPServer>"
    if url.rstrip("/").endswith("/SIP/1"):
        return 200, _doc("SIPServer", _e("id", 1) + _gb_block(dev.state.gb28181)), None
    return 200, _doc("SIPServerList", server), None


def _merge_gb(cur: Gb28181Settings, node: etree._Element) -> Gb28181Settings:
    def has(name: str) -> bool:
        return child(node, name) is not None

    changes: dict[str, object] = {}
    if has("enabled"):
        changes["enabled"] = _bool(text(node, "enabled"), "enabled")
    if has("registrar"):
        reg = text(node, "registrar")
        if reg and not valid_ipv4(reg):
            raise bad_content("registrar: expected an IPv4 address")
        changes["registrar"] = reg
    for tag, attr, lo, hi in (("registrarPort", "registrar_port", 1, 65535),
                              ("localPort", "local_port", 1, 65535),
                              ("expires", "expires", 60, 864000),
                              ("heartbeatTime", "heartbeat_time", 5, 3600),
                              ("heartbeatCount", "heartbeat_count", 1, 30)):
        if has(tag):
            changes[attr] = _int(text(node, tag), tag, lo, hi)
    for tag, attr in (("serverId", "server_id"), ("userName", "device_id"),
                      ("authID", "auth_id")):
        if has(tag):
            value = text(node, tag)
            if value and not _GB_ID.match(value):
                raise bad_content(f"{tag}: expected a 20-digit GB/T 28181 ID")
            changes[attr] = value
    if has("serverDomain"):
        changes["server_domain"] = text(node, "serverDomain")
    if has("password") and text(node, "password"):  # empty keeps the stored password
        changes["password"] = text(node, "password")
    new = replace(cur, **changes)  # type: ignore[arg-type]
    if new.auth_id and not new.device_id:
        new = replace(new, device_id=new.auth_id)
    return new


def put_sip(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    node = _find_desc(_parse(body), "GB28181")
    if node is None:
        raise bad_content("GB28181 block missing")
    dev.state.gb28181 = _merge_gb(dev.state.gb28181, node)
    dev.persist()
    return ok(url, After("gb"))


def get_sip_info(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    g = dev.state.gb28181
    video = "".join("<VideoInput>" + _e("id", i) + _e("videoInputID", cid) + "</VideoInput>"
                    for i, cid in enumerate(g.channel_ids, 1))
    ain = "".join("<AlarmInput>" + _e("id", i) + _e("alarmInID", cid) + "</AlarmInput>"
                  for i, cid in enumerate(g.alarm_in_ids, 1))
    aout = "".join("<AlarmOutput>" + _e("id", i) + _e("alarmOutID", cid) + "</AlarmOutput>"
                   for i, cid in enumerate(g.alarm_out_ids, 1))
    inner = (_e("videoInputNumber", dev.spec.channel_count)
             + f"<VideoInputList>{video}</VideoInputList>"
             + f"<AlarmInputList>{ain}</AlarmInputList>"
             + f"<AlarmOutputList>{aout}</AlarmOutputList>")
    return 200, _doc("SIPInfo", inner), None


def _id_list(root: etree._Element, list_tag: str, item_tag: str, id_tag: str,
             limit: int) -> tuple[str, ...] | None:
    lst = _find_desc(root, list_tag)
    if lst is None:
        return None
    ids: dict[int, str] = {}
    for item in children(lst, item_tag):
        pos = _int(text(item, "id"), f"{item_tag}/id", 1, max(limit, 1))
        value = text(item, id_tag)
        if value and not _GB_ID.match(value):
            raise bad_content(f"{item_tag} {pos}: expected a 20-digit GB/T 28181 ID")
        ids[pos] = value
    if len(ids) > limit:
        raise bad_content(f"{list_tag}: at most {limit} entries")
    return tuple(ids[k] for k in sorted(ids))


def put_sip_info(dev: SimDevice, url: str, body: bytes) -> IsapiReply:
    root = _parse(body)
    p = dev.spec.profile
    g = dev.state.gb28181
    video = _id_list(root, "VideoInputList", "VideoInput", "videoInputID", dev.spec.channel_count)
    ain = _id_list(root, "AlarmInputList", "AlarmInput", "alarmInID", p.alarm_inputs)
    aout = _id_list(root, "AlarmOutputList", "AlarmOutput", "alarmOutID", p.alarm_outputs)
    dev.state.gb28181 = replace(g, channel_ids=g.channel_ids if video is None else video,
                                alarm_in_ids=g.alarm_in_ids if ain is None else ain,
                                alarm_out_ids=g.alarm_out_ids if aout is None else aout)
    dev.persist()
    return ok(url, After("gb"))


# (method, path) -> handler. Paths with a trailing "/*" match one more segment (an id).
ANONYMOUS: dict[tuple[str, str], IsapiHandler] = {
    ("GET", "/SDK/activateStatus"): activate_status,
    ("PUT", "/ISAPI/Security/activate"): activate,
}
AUTHENTICATED: dict[tuple[str, str], IsapiHandler] = {
    ("GET", "/ISAPI/System/deviceInfo"): device_info,
    ("GET", "/ISAPI/System/status"): device_status,
    ("GET", "/ISAPI/Security/users"): get_users,
    ("PUT", "/ISAPI/Security/users/*"): put_user,
    ("GET", "/ISAPI/System/Network/Integrate"): get_integrate,
    ("PUT", "/ISAPI/System/Network/Integrate"): put_integrate,
    ("GET", "/ISAPI/System/Network/SIP"): get_sip,
    ("PUT", "/ISAPI/System/Network/SIP"): put_sip,
    ("GET", "/ISAPI/System/Network/SIP/1"): get_sip,
    ("PUT", "/ISAPI/System/Network/SIP/1"): put_sip,
    ("GET", "/ISAPI/System/Network/SIP/1/SIPInfo"): get_sip_info,
    ("PUT", "/ISAPI/System/Network/SIP/1/SIPInfo"): put_sip_info,
}
ONVIF_USERS: dict[tuple[str, str], IsapiHandler] = {
    ("GET", "/ISAPI/Security/ONVIF/users"): get_onvif_users,
    ("POST", "/ISAPI/Security/ONVIF/users"): post_onvif_users,
    ("PUT", "/ISAPI/Security/ONVIF/users/*"): put_onvif_user,
    ("DELETE", "/ISAPI/Security/ONVIF/users/*"): delete_onvif_user,
}
# Operations an ISAPI "Operator" may not perform: everything here changes the device.
ADMIN_METHODS = ("PUT", "POST", "DELETE")
