"""ONVIF device management service (ver10 ``tds:``) operations of the simulated device.

Each handler takes the device and the parsed request body and returns the response body
(``tds:<Op>Response``), optionally with an ``After`` action the lab performs once the reply is
sent. Handlers raise ``SoapFault`` for anything the device refuses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from lxml import etree

from safecity.lab.onvif.device import After, SimDevice
from safecity.lab.onvif.policy import password_problem, valid_hostname, valid_ipv4
from safecity.lab.onvif.soap import (
    TDS,
    TR2,
    TRT,
    SoapFault,
    as_bool,
    as_int,
    child,
    children,
    el,
    has,
    invalid_arg,
    text,
    wrap,
)
from safecity.lab.onvif.spec import USER_LEVELS, UserLevel
from safecity.lab.onvif.state import Account

Reply = str | tuple[str, After]
Handler = Callable[[SimDevice, etree._Element], Reply]

_TZ_OFFSET = re.compile(r"^[A-Za-z]{3,}([+-]?\d{1,2})(?::(\d{2}))?")
MAX_USERS = 32


def _resp(op: str, inner: str = "") -> str:
    return f"<tds:{op}Response>{inner}</tds:{op}Response>"


# ---- time ---------------------------------------------------------------------------------

def _date_time(ts: datetime) -> str:
    return (f"<tt:Time>{el('tt:Hour', ts.hour)}{el('tt:Minute', ts.minute)}"
            f"{el('tt:Second', ts.second)}</tt:Time>"
            f"<tt:Date>{el('tt:Year', ts.year)}{el('tt:Month', ts.month)}"
            f"{el('tt:Day', ts.day)}</tt:Date>")


def _tz_offset_s(tz: str) -> int:
    """POSIX TZ 'CST-8' means UTC+8 (the sign is inverted)."""
    m = _TZ_OFFSET.match(tz)
    if not m:
        return 0
    hours = int(m.group(1))
    minutes = int(m.group(2) or 0)
    sign = -1 if hours > 0 or m.group(1).startswith("+") else 1
    return sign * (abs(hours) * 3600 + minutes * 60)


def get_system_date_and_time(dev: SimDevice, body: etree._Element) -> Reply:
    now = dev.now()
    utc = datetime.fromtimestamp(int(now), tz=UTC)
    local = utc + timedelta(seconds=_tz_offset_s(dev.state.timezone))
    inner = (el("tt:DateTimeType", dev.state.date_time_type)
             + el("tt:DaylightSavings", False)
             + wrap("tt:TimeZone", el("tt:TZ", dev.state.timezone))
             + wrap("tt:UTCDateTime", _date_time(utc))
             + wrap("tt:LocalDateTime", _date_time(local)))
    return _resp("GetSystemDateAndTime", wrap("tds:SystemDateAndTime", inner))


def set_system_date_and_time(dev: SimDevice, body: etree._Element) -> Reply:
    kind = text(body, "DateTimeType")
    if kind not in ("Manual", "NTP"):
        raise invalid_arg("InvalidArgs", f"DateTimeType {kind!r}")
    tz = text(body, "TimeZone", "TZ")
    if tz:
        if not _TZ_OFFSET.match(tz):
            raise invalid_arg("InvalidTimeZone", f"unsupported time zone {tz!r}")
        dev.state.timezone = tz
    dev.state.date_time_type = kind
    if kind == "Manual" and has(body, "UTCDateTime"):
        d = child(child(body, "UTCDateTime"), "Date")
        t = child(child(body, "UTCDateTime"), "Time")
        try:
            when = datetime(as_int(text(d, "Year"), "Year"), as_int(text(d, "Month"), "Month"),
                            as_int(text(d, "Day"), "Day"), as_int(text(t, "Hour"), "Hour"),
                            as_int(text(t, "Minute"), "Minute"),
                            as_int(text(t, "Second"), "Second"), tzinfo=UTC)
        except ValueError as e:
            raise invalid_arg("InvalidDateTime", str(e)) from None
        # A clock_skew fault keeps drifting on top of whatever time is set.
        skew = dev.clock_offset() - dev.state.clock_offset_s
        dev.state.clock_offset_s = when.timestamp() - time.time() - skew
    elif kind == "NTP" and dev.state.ntp_servers:
        dev.state.clock_offset_s = 0.0  # the lab's NTP servers are "reachable": clock syncs
    dev.persist()
    return _resp("SetSystemDateAndTime")


# ---- identity and services ------------------------------------------------------------------

def get_device_information(dev: SimDevice, body: etree._Element) -> Reply:
    p = dev.spec.profile
    inner = (el("tds:Manufacturer", p.vendor.capitalize()) + el("tds:Model", p.model)
             + el("tds:FirmwareVersion", p.firmware or "1.0") + el("tds:SerialNumber", dev.spec.serial)
             + el("tds:HardwareId", f"{p.vendor}-{p.kind}"))
    return _resp("GetDeviceInformation", inner)


def _service(ns: str, xaddr: str, major: int, minor: int) -> str:
    return wrap("tds:Service", el("tds:Namespace", ns) + el("tds:XAddr", xaddr)
                + wrap("tds:Version", el("tt:Major", major) + el("tt:Minor", minor)))


def get_services(dev: SimDevice, body: etree._Element) -> Reply:
    base = dev.base_url()
    inner = _service(TDS, f"{base}/onvif/device_service", 2, 60)
    inner += _service(TRT, f"{base}/onvif/media_service", 2, 60)
    if dev.spec.uses_media2:
        inner += _service(TR2, f"{base}/onvif/media2_service", 2, 60)
    return _resp("GetServices", inner)


def get_capabilities(dev: SimDevice, body: etree._Element) -> Reply:
    base = dev.base_url()
    category = text(body, "Category") or "All"
    if category not in ("All", "Device", "Media", "Analytics", "Events", "Imaging", "PTZ"):
        raise invalid_arg("InvalidArgVal", f"Category {category!r}")
    if category in ("Analytics", "Events", "Imaging", "PTZ"):
        raise SoapFault("Receiver", ("ActionNotSupported", "NoSuchService"),
                        f"{category} service not available")
    device = ""
    if category in ("All", "Device"):
        system = (el("tt:DiscoveryResolve", False) + el("tt:DiscoveryBye", True)
                  + el("tt:RemoteDiscovery", False) + el("tt:SystemBackup", False)
                  + el("tt:SystemLogging", False) + el("tt:FirmwareUpgrade", False)
                  + wrap("tt:SupportedVersions", el("tt:Major", 2) + el("tt:Minor", 60)))
        security = "".join(el(f"tt:{n}", False) for n in (
            "TLS1.1", "TLS1.2", "OnboardKeyGeneration", "AccessPolicyConfig", "X.509Token",
            "SAMLToken", "KerberosToken", "RELToken"))
        device = wrap("tt:Device", el("tt:XAddr", f"{base}/onvif/device_service")
                      + wrap("tt:Network", el("tt:IPFilter", False)
                             + el("tt:ZeroConfiguration", False) + el("tt:IPVersion6", False)
                             + el("tt:DynDNS", False))
                      + wrap("tt:System", system)
                      + wrap("tt:IO", el("tt:InputConnectors", dev.spec.profile.alarm_inputs)
                             + el("tt:RelayOutputs", dev.spec.profile.alarm_outputs))
                      + wrap("tt:Security", security))
    media = ""
    if category in ("All", "Media"):
        media = wrap("tt:Media", el("tt:XAddr", f"{base}/onvif/media_service")
                     + wrap("tt:StreamingCapabilities", el("tt:RTPMulticast", False)
                            + el("tt:RTP_TCP", True) + el("tt:RTP_RTSP_TCP", True)))
    return _resp("GetCapabilities", wrap("tds:Capabilities", device + media))


def scope_items(dev: SimDevice) -> list[tuple[str, str]]:
    """(ScopeDef, ScopeItem) pairs, also announced in WS-Discovery ProbeMatches."""
    p = dev.spec.profile
    kind = "video_encoder" if p.kind in ("ipc", "encoder") else "Network_Video_Recorder"
    items = [("Fixed", f"onvif://www.onvif.org/type/{kind}"),
             ("Fixed", "onvif://www.onvif.org/Profile/Streaming"),
             ("Fixed", f"onvif://www.onvif.org/hardware/{p.model}"),
             ("Configurable", f"onvif://www.onvif.org/name/{dev.state.hostname}"),
             ("Configurable", "onvif://www.onvif.org/location/city/lab")]
    if dev.spec.uses_media2:
        items.insert(2, ("Fixed", "onvif://www.onvif.org/Profile/T"))
    return items


def get_scopes(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(wrap("tds:Scopes", el("tt:ScopeDef", d) + el("tt:ScopeItem", i))
                    for d, i in scope_items(dev))
    return _resp("GetScopes", inner)


# ---- hostname, NTP, DNS -------------------------------------------------------------------

def get_hostname(dev: SimDevice, body: etree._Element) -> Reply:
    inner = el("tt:FromDHCP", dev.state.hostname_from_dhcp) + el("tt:Name", dev.state.hostname)
    return _resp("GetHostname", wrap("tds:HostnameInformation", inner))


def set_hostname(dev: SimDevice, body: etree._Element) -> Reply:
    name = text(body, "Name")
    if not valid_hostname(name):
        raise invalid_arg("InvalidHostname", f"invalid hostname {name!r}")
    dev.state.hostname = name
    dev.state.hostname_from_dhcp = False
    dev.persist()
    return _resp("SetHostname")


def _network_host(tag: str, value: str) -> str:
    if valid_ipv4(value):
        return wrap(tag, el("tt:Type", "IPv4") + el("tt:IPv4Address", value))
    return wrap(tag, el("tt:Type", "DNS") + el("tt:DNSname", value))


def _read_hosts(body: etree._Element, tag: str) -> list[str]:
    out = []
    for h in children(body, tag):
        kind = text(h, "Type")
        value = text(h, "IPv4Address") if kind == "IPv4" else \
            text(h, "DNSname") if kind == "DNS" else ""
        if kind == "IPv6":
            raise invalid_arg("InvalidIPv6Address", "IPv6 not supported")
        if not value or (kind == "IPv4" and not valid_ipv4(value)):
            raise invalid_arg("InvalidIPv4Address", f"invalid {tag} entry")
        out.append(value)
    return out


def get_ntp(dev: SimDevice, body: etree._Element) -> Reply:
    inner = el("tt:FromDHCP", dev.state.ntp_from_dhcp) + "".join(
        _network_host("tt:NTPManual", s) for s in dev.state.ntp_servers)
    return _resp("GetNTP", wrap("tds:NTPInformation", inner))


def set_ntp(dev: SimDevice, body: etree._Element) -> Reply:
    from_dhcp = as_bool(text(body, "FromDHCP", default="false"), "FromDHCP")
    servers = _read_hosts(body, "NTPManual")
    dev.state.ntp_from_dhcp = from_dhcp
    dev.state.ntp_servers = servers
    dev.persist()
    return _resp("SetNTP")


def get_dns(dev: SimDevice, body: etree._Element) -> Reply:
    inner = el("tt:FromDHCP", dev.state.dns_from_dhcp)
    inner += "".join(el("tt:SearchDomain", d) for d in dev.state.search_domains)
    inner += "".join(wrap("tt:DNSManual", el("tt:Type", "IPv4") + el("tt:IPv4Address", s))
                     for s in dev.state.dns_servers)
    return _resp("GetDNS", wrap("tds:DNSInformation", inner))


def set_dns(dev: SimDevice, body: etree._Element) -> Reply:
    from_dhcp = as_bool(text(body, "FromDHCP", default="false"), "FromDHCP")
    servers = []
    for h in children(body, "DNSManual"):
        addr = text(h, "IPv4Address")
        if text(h, "Type") != "IPv4" or not valid_ipv4(addr):
            raise invalid_arg("InvalidIPv4Address", "invalid DNSManual entry")
        servers.append(addr)
    dev.state.dns_from_dhcp = from_dhcp
    dev.state.dns_servers = servers
    dev.state.search_domains = [c.text.strip() for c in children(body, "SearchDomain") if c.text]
    dev.persist()
    return _resp("SetDNS")


# ---- network ------------------------------------------------------------------------------

def get_network_interfaces(dev: SimDevice, body: etree._Element) -> Reply:
    s = dev.state
    ipv4 = el("tt:Enabled", True) + wrap(
        "tt:Config", wrap("tt:Manual", el("tt:Address", s.address)
                          + el("tt:PrefixLength", s.prefix_length)) + el("tt:DHCP", s.dhcp))
    inner = (el("tt:Enabled", True)
             + wrap("tt:Info", el("tt:Name", "eth0") + el("tt:HwAddress", dev.spec.mac)
                    + el("tt:MTU", 1500))
             + wrap("tt:IPv4", ipv4))
    return _resp("GetNetworkInterfaces", wrap("tds:NetworkInterfaces", inner, token="eth0"))


def set_network_interfaces(dev: SimDevice, body: etree._Element) -> Reply:
    if text(body, "InterfaceToken") != "eth0":
        raise invalid_arg("InvalidNetworkInterface", "unknown interface token")
    ipv4 = child(child(body, "NetworkInterface"), "IPv4")
    if ipv4 is None:
        return _resp("SetNetworkInterfaces", el("tds:RebootNeeded", False))
    dhcp = as_bool(text(ipv4, "DHCP", default="false"), "DHCP")
    if dhcp:
        raise invalid_arg("InvalidArgVal", "DHCP is not available on the video private network")
    manual = children(ipv4, "Manual")
    if len(manual) != 1:
        raise invalid_arg("InvalidIPv4Address", "exactly one manual IPv4 address expected")
    addr = text(manual[0], "Address")
    prefix = as_int(text(manual[0], "PrefixLength"), "PrefixLength")
    if not valid_ipv4(addr) or not 1 <= prefix <= 32:
        raise invalid_arg("InvalidIPv4Address", f"invalid address {addr}/{prefix}")
    changed = addr != dev.state.address
    dev.state.address, dev.state.prefix_length, dev.state.dhcp = addr, prefix, False
    dev.persist()
    reboot = dev.spec.network_reboot_needed
    out = _resp("SetNetworkInterfaces", el("tds:RebootNeeded", reboot))
    if changed and reboot:
        dev.pending_network = True  # applied by the next SystemReboot
        return out
    return (out, After("network")) if changed else out


def get_network_default_gateway(dev: SimDevice, body: etree._Element) -> Reply:
    inner = el("tt:IPv4Address", dev.state.gateway) if dev.state.gateway else ""
    return _resp("GetNetworkDefaultGateway", wrap("tds:NetworkGateway", inner))


def set_network_default_gateway(dev: SimDevice, body: etree._Element) -> Reply:
    gws = [c.text.strip() for c in children(body, "IPv4Address") if c.text]
    if len(gws) > 1 or any(not valid_ipv4(g) for g in gws):
        raise invalid_arg("InvalidGatewayAddress", "one valid IPv4 gateway expected")
    dev.state.gateway = gws[0] if gws else ""
    dev.persist()
    return _resp("SetNetworkDefaultGateway")


def get_network_protocols(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(wrap("tds:NetworkProtocols", el("tt:Name", name) + el("tt:Enabled", on)
                         + "".join(el("tt:Port", p) for p in ports))
                    for name, (on, ports) in dev.state.protocols.items())
    return _resp("GetNetworkProtocols", inner)


def set_network_protocols(dev: SimDevice, body: etree._Element) -> Reply:
    updates = {}
    for p in children(body, "NetworkProtocols"):
        name = text(p, "Name")
        if name not in ("HTTP", "HTTPS", "RTSP"):
            raise invalid_arg("ServiceNotSupported", f"protocol {name!r}")
        ports = [as_int(c.text or "", "Port") for c in children(p, "Port")]
        if any(not 1 <= port <= 65535 for port in ports):
            raise invalid_arg("InvalidArgVal", "port out of range")
        updates[name] = (as_bool(text(p, "Enabled"), "Enabled"), ports)
    # The lab keeps serving on its configured ports; the values are stored and reported back.
    dev.state.protocols.update(updates)
    dev.persist()
    return _resp("SetNetworkProtocols")


def get_discovery_mode(dev: SimDevice, body: etree._Element) -> Reply:
    mode = "Discoverable" if dev.state.discoverable else "NonDiscoverable"
    return _resp("GetDiscoveryMode", el("tds:DiscoveryMode", mode))


def set_discovery_mode(dev: SimDevice, body: etree._Element) -> Reply:
    mode = text(body, "DiscoveryMode")
    if mode not in ("Discoverable", "NonDiscoverable"):
        raise invalid_arg("InvalidArgVal", f"DiscoveryMode {mode!r}")
    dev.state.discoverable = mode == "Discoverable"
    dev.persist()
    return _resp("SetDiscoveryMode")


# ---- users --------------------------------------------------------------------------------

def _prohibited(sub: str, reason: str) -> SoapFault:
    return SoapFault("Sender", ("OperationProhibited", sub), reason)


def _level(value: str) -> UserLevel:
    for lvl in USER_LEVELS:
        if lvl == value:
            return lvl
    if value == "Anonymous":
        raise _prohibited("AnonymousNotAllowed", "anonymous users are not supported")
    raise invalid_arg("InvalidArgVal", f"UserLevel {value!r}")


def _admins_left(accounts: list[Account]) -> int:
    return sum(a.level == "Administrator" for a in accounts)


def get_users(dev: SimDevice, body: etree._Element) -> Reply:
    inner = "".join(wrap("tds:User", el("tt:Username", a.username) + el("tt:UserLevel", a.level))
                    for a in dev.onvif_accounts())
    return _resp("GetUsers", inner)


def create_users(dev: SimDevice, body: etree._Element) -> Reply:
    accounts = dev.onvif_accounts()
    new: list[Account] = []
    for u in children(body, "User"):
        name, pw = text(u, "Username"), text(u, "Password")
        if not name or len(name) > 32:
            raise _prohibited("UsernameTooLong" if name else "UsernameTooShort", "bad username")
        if any(a.username == name for a in accounts + new):
            raise _prohibited("UsernameClash", f"user {name} exists")
        if len(pw) > 64:
            raise _prohibited("PasswordTooLong", "password too long")
        problem = password_problem(dev.spec.profile, pw)
        if problem:
            raise _prohibited("PasswordTooWeak", problem)
        new.append(Account(name, pw, _level(text(u, "UserLevel"))))
    if len(accounts) + len(new) > MAX_USERS:
        raise SoapFault("Receiver", ("Action", "TooManyUsers"), "too many users")
    accounts.extend(new)
    dev.persist()
    return _resp("CreateUsers")


def set_user(dev: SimDevice, body: etree._Element) -> Reply:
    accounts = dev.onvif_accounts()
    by_name = {a.username: a for a in accounts}
    changes = []
    for u in children(body, "User"):
        name = text(u, "Username")
        acct = by_name.get(name)
        if acct is None:
            raise invalid_arg("UsernameMissing", f"no user {name}")
        pw = text(u, "Password") if has(u, "Password") else None
        if pw is not None:
            problem = password_problem(dev.spec.profile, pw)
            if problem:
                raise _prohibited("PasswordTooWeak", problem)
        changes.append((acct, pw, _level(text(u, "UserLevel"))))
    demoted = sum(1 for a, _, lvl in changes if a.level == "Administrator" and lvl != a.level)
    if demoted and _admins_left(accounts) - demoted < 1:
        raise _prohibited("FixedUser", "the last administrator cannot be demoted")
    for acct, pw, lvl in changes:
        if pw is not None:
            acct.password = pw
        acct.level = lvl
    dev.persist()
    return _resp("SetUser")


def delete_users(dev: SimDevice, body: etree._Element) -> Reply:
    accounts = dev.onvif_accounts()
    names = [c.text.strip() for c in children(body, "Username") if c.text]
    known = {a.username for a in accounts}
    for n in names:
        if n not in known:
            raise invalid_arg("UsernameMissing", f"no user {n}")
    remaining = [a for a in accounts if a.username not in names]
    if _admins_left(remaining) < 1:
        raise _prohibited("FixedUser", "the last administrator cannot be deleted")
    accounts[:] = remaining
    dev.persist()
    return _resp("DeleteUsers")


def system_reboot(dev: SimDevice, body: etree._Element) -> Reply:
    msg = f"Rebooting in {dev.spec.reboot_s:g} seconds"
    return _resp("SystemReboot", el("tds:Message", msg)), After("reboot")


# name -> (handler, minimum user level). GetSystemDateAndTime is pre-auth (ONVIF core).
OPERATIONS: dict[str, tuple[Handler, str]] = {
    "GetSystemDateAndTime": (get_system_date_and_time, "Anonymous"),
    "SetSystemDateAndTime": (set_system_date_and_time, "Administrator"),
    "GetDeviceInformation": (get_device_information, "User"),
    "GetServices": (get_services, "User"),
    "GetCapabilities": (get_capabilities, "User"),
    "GetScopes": (get_scopes, "User"),
    "GetHostname": (get_hostname, "User"),
    "SetHostname": (set_hostname, "Administrator"),
    "GetNTP": (get_ntp, "User"),
    "SetNTP": (set_ntp, "Administrator"),
    "GetDNS": (get_dns, "User"),
    "SetDNS": (set_dns, "Administrator"),
    "GetNetworkInterfaces": (get_network_interfaces, "User"),
    "SetNetworkInterfaces": (set_network_interfaces, "Administrator"),
    "GetNetworkDefaultGateway": (get_network_default_gateway, "User"),
    "SetNetworkDefaultGateway": (set_network_default_gateway, "Administrator"),
    "GetNetworkProtocols": (get_network_protocols, "User"),
    "SetNetworkProtocols": (set_network_protocols, "Administrator"),
    "GetDiscoveryMode": (get_discovery_mode, "User"),
    "SetDiscoveryMode": (set_discovery_mode, "Administrator"),
    "GetUsers": (get_users, "Administrator"),
    "CreateUsers": (create_users, "Administrator"),
    "SetUser": (set_user, "Administrator"),
    "DeleteUsers": (delete_users, "Administrator"),
    "SystemReboot": (system_reboot, "Administrator"),
}
