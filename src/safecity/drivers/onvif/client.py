"""``OnvifClient``: one device, over onvif-zeep-async's zeep machinery, with safecity's rules.

- the parsed WSDLs are shared by the whole process (``wsdl_cache``); a client only builds its
  light zeep proxies and one aiohttp session;
- every call is bounded (``asyncio.wait_for`` plus the session timeout);
- the device clock is read anonymously first and WS-Security tokens are signed with the
  device's time, so a clock hours off does not lock us out;
- a device that answers 401 gets HTTP digest (``http_auth="none"`` falls back automatically;
  ``"digest"`` uses digest instead of WS-Security; ``"basic"`` only when asked for);
- every failure is a ``DeviceError`` whose message starts with the device name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from zeep.client import AsyncClient
from zeep.proxy import AsyncServiceProxy
from zeep.settings import Settings

from safecity.drivers.onvif import media_codec
from safecity.drivers.onvif.faults import map_error
from safecity.drivers.onvif.library import UsernameDigestTokenDtDiff
from safecity.drivers.onvif.models import (
    DeviceInfo,
    DeviceTime,
    DnsConfig,
    EncoderConfig,
    EncoderOptions,
    MediaProfile,
    MediaVersion,
    NetworkConfig,
    NewUser,
    NtpConfig,
    StreamUris,
    User,
    UserLevel,
)
from safecity.drivers.onvif.transport import DeviceTransport, HttpAuth, make_session
from safecity.drivers.onvif.wsdl_cache import Service, binding_name, shared_document
from safecity.errors import AuthFailed, DeviceError, DeviceRejected
from safecity.netguard import check_target

T = TypeVar("T")
# Replies are parsed leniently (devices deviate from the schema) but without lxml's huge-tree
# mode, which lifts the parser's protection against oversized documents.
_REPLY_SETTINGS = Settings(strict=False, xml_huge_tree=False)
_LEVELS: tuple[UserLevel, ...] = ("Administrator", "Operator", "User")


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


class OnvifClient:
    """An ONVIF session with one device. Use ``async with``; every method may raise DeviceError."""

    def __init__(self, name: str, host: str, port: int, username: str | None,
                 password: str | None, *, timeout: float = 5.0, wsdl_dir: Path | None = None,
                 http_auth: HttpAuth = "none", media: MediaVersion = "media",
                 tls: bool = False, verify_tls: bool = True) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.timeout = timeout
        self.wsdl_dir = wsdl_dir
        self.http_auth: HttpAuth = http_auth
        self.media_version: MediaVersion = media
        self.scheme = "https" if tls else "http"
        self.verify_tls = verify_tls
        self.clock_offset_s = 0.0
        self._xaddrs: dict[str, str] = {}
        self._proxies: dict[tuple[Service, bool], AsyncServiceProxy] = {}
        self._wsse: UsernameDigestTokenDtDiff | None = None
        self._session: aiohttp.ClientSession | None = None
        self._transport: DeviceTransport | None = None

    # ---- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect: read the device clock anonymously and sign later requests with its time."""
        check_target(self.name, "connect", self.host)
        session = make_session(self.timeout, verify_tls=self.verify_tls)
        self._session = session
        self._transport = DeviceTransport(session, verify_tls=self.verify_tls)
        self._transport.set_credentials(self.http_auth, self.username, self._password)
        try:
            await self.get_system_date_and_time()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._proxies.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def set_password(self, password: str) -> None:
        """Use a new password from now on (after changing our own account's password)."""
        self._password = password
        if self._wsse is not None:
            self._wsse.password = password
        if self._transport is not None:
            self._transport.set_credentials(self.http_auth, self.username, password)

    # ---- plumbing ---------------------------------------------------------------------------
    async def _proxy(self, service: Service, *, anonymous: bool = False) -> AsyncServiceProxy:
        key = (service, anonymous)
        proxy = self._proxies.get(key)
        if proxy is not None:
            return proxy
        if self._transport is None:
            raise DeviceError(self.name, "connect", "client is not open (use 'async with')")
        document = await shared_document(service, self.wsdl_dir)
        wsse = None
        if not anonymous and self.username and self.http_auth == "none":
            if self._wsse is None:
                self._wsse = UsernameDigestTokenDtDiff(
                    self.username, self._password or "",
                    dt_diff=timedelta(seconds=self.clock_offset_s), use_digest=True)
            wsse = self._wsse
        client = AsyncClient(wsdl=document, wsse=wsse, transport=self._transport,
                             settings=_REPLY_SETTINGS)  # type: ignore[no-untyped-call]
        address = await self._service_address(service)
        proxy = AsyncServiceProxy(  # type: ignore[no-untyped-call]
            client, document.bindings[binding_name(service)], address=address)
        self._proxies[key] = proxy
        return proxy

    def _on_our_address(self, xaddr: str) -> str:
        """Keep the service path but use the host:port we reach the device on.

        Devices advertise their own idea of their address (wrong behind NAT, and in the lab
        where a deployment address maps to a loopback one)."""
        parts = urlsplit(xaddr)
        return urlunsplit((self.scheme, f"{self.host}:{self.port}", parts.path or "/",
                           parts.query, ""))

    async def _service_address(self, service: Service) -> str:
        if service == "devicemgmt":
            return f"{self.base_url}/onvif/device_service"
        if not self._xaddrs:
            await self._discover_services()
        namespace = {"media": "http://www.onvif.org/ver10/media/wsdl",
                     "media2": "http://www.onvif.org/ver20/media/wsdl"}[service]
        xaddr = self._xaddrs.get(namespace)
        if xaddr is None:
            raise DeviceError(self.name, service, f"device offers no {service} service")
        return xaddr

    async def _discover_services(self) -> None:
        try:
            services = await self._call("devicemgmt", "GetServices", IncludeCapability=False)
            for s in services or []:
                if _text(getattr(s, "Namespace", "")) and _text(getattr(s, "XAddr", "")):
                    self._xaddrs[_text(s.Namespace)] = self._on_our_address(_text(s.XAddr))
        except DeviceRejected:
            pass  # not implemented by this device: try GetCapabilities
        if not self._xaddrs:  # GetServices is optional in old devices: GetCapabilities
            caps = await self._call("devicemgmt", "GetCapabilities", Category="All")
            media = getattr(caps, "Media", None)
            if media is not None and _text(getattr(media, "XAddr", "")):
                self._xaddrs["http://www.onvif.org/ver10/media/wsdl"] = \
                    self._on_our_address(_text(media.XAddr))

    async def _call(self, service: Service, operation: str, /, *, anonymous: bool = False,
                    **params: Any) -> Any:
        """Run one operation with a deadline; map every failure to a DeviceError."""
        for attempt in (1, 2):
            try:
                proxy = await self._proxy(service, anonymous=anonymous)
                return await asyncio.wait_for(getattr(proxy, operation)(**params),
                                              self.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = map_error(self.name, operation, exc, self.timeout)
                # A stale clock offset (the device's clock was just set, or drifted) shows
                # up as NotAuthorized: re-read the clock once and retry.
                if (attempt == 1 and isinstance(error, AuthFailed) and not anonymous
                        and self.http_auth == "none" and operation != "GetSystemDateAndTime"):
                    before = self.clock_offset_s
                    await self.get_system_date_and_time()
                    if abs(self.clock_offset_s - before) > 60:
                        continue
                raise error from exc
        raise AssertionError("unreachable")

    def _decode(self, operation: str, decode: Callable[[], T]) -> T:
        """Run a reply decoder; a reply of an unexpected shape is a device error, not a crash."""
        try:
            return decode()
        except DeviceError:
            raise
        except (AttributeError, TypeError, ValueError, IndexError, KeyError) as e:
            raise DeviceError(self.name, operation, f"unexpected reply shape: {e}") from e

    # ---- identity and time ------------------------------------------------------------------
    async def get_device_information(self) -> DeviceInfo:
        r = await self._call("devicemgmt", "GetDeviceInformation")
        return DeviceInfo(_text(r.Manufacturer), _text(r.Model), _text(r.FirmwareVersion),
                          _text(r.SerialNumber), _text(r.HardwareId))

    async def get_system_date_and_time(self) -> DeviceTime:
        """Anonymous (ONVIF core allows it pre-auth); also refreshes the signing offset."""
        r = await self._call("devicemgmt", "GetSystemDateAndTime", anonymous=True)

        def parse() -> DeviceTime:
            u = r.UTCDateTime
            utc = datetime(int(u.Date.Year), int(u.Date.Month), int(u.Date.Day),
                           int(u.Time.Hour), int(u.Time.Minute), int(u.Time.Second), tzinfo=UTC)
            offset = (utc - datetime.now(UTC)).total_seconds()
            tz = r.TimeZone
            return DeviceTime(utc, offset, _text(r.DateTimeType) == "NTP",
                              _text(getattr(tz, "TZ", "")) if tz is not None else "")

        dtime = self._decode("GetSystemDateAndTime", parse)
        # Whole seconds only on the wire: sub-second noise must not churn the token.
        self.clock_offset_s = round(dtime.offset_s)
        if self._wsse is not None:
            self._wsse.dt_diff = timedelta(seconds=self.clock_offset_s)
        return dtime

    async def set_system_date_and_time(self, *, ntp: bool, timezone: str,
                                       utc: datetime | None = None) -> None:
        params: dict[str, Any] = {"DateTimeType": "NTP" if ntp else "Manual",
                                  "DaylightSavings": False, "TimeZone": {"TZ": timezone}}
        if not ntp:
            t = (utc or datetime.now(UTC)).astimezone(UTC)
            params["UTCDateTime"] = {
                "Date": {"Year": t.year, "Month": t.month, "Day": t.day},
                "Time": {"Hour": t.hour, "Minute": t.minute, "Second": t.second}}
        await self._call("devicemgmt", "SetSystemDateAndTime", **params)
        await self.get_system_date_and_time()  # the clock may have jumped: re-sync signing

    # ---- hostname, NTP, DNS ---------------------------------------------------------------
    async def get_hostname(self) -> str:
        r = await self._call("devicemgmt", "GetHostname")
        return _text(r.Name)

    async def set_hostname(self, hostname: str) -> None:
        await self._call("devicemgmt", "SetHostname", Name=hostname)

    async def get_ntp(self) -> NtpConfig:
        r = await self._call("devicemgmt", "GetNTP")
        servers = [_network_host(h) for h in (getattr(r, "NTPManual", None) or [])]
        return NtpConfig(bool(r.FromDHCP), tuple(s for s in servers if s))

    async def set_ntp(self, servers: Sequence[str], *, from_dhcp: bool = False) -> None:
        await self._call("devicemgmt", "SetNTP", FromDHCP=from_dhcp,
                         NTPManual=[_host_param(s) for s in servers])

    async def get_dns(self) -> DnsConfig:
        r = await self._call("devicemgmt", "GetDNS")
        servers = [_text(getattr(a, "IPv4Address", "")) for a in (r.DNSManual or [])]
        return DnsConfig(bool(r.FromDHCP), tuple(s for s in servers if s),
                         tuple(_text(d) for d in (r.SearchDomain or [])))

    async def set_dns(self, servers: Sequence[str], *, search_domains: Sequence[str] = (),
                      from_dhcp: bool = False) -> None:
        await self._call("devicemgmt", "SetDNS", FromDHCP=from_dhcp,
                         SearchDomain=list(search_domains),
                         DNSManual=[{"Type": "IPv4", "IPv4Address": s} for s in servers])

    # ---- users ------------------------------------------------------------------------------
    async def get_users(self) -> list[User]:
        r = await self._call("devicemgmt", "GetUsers")
        out = []
        for u in r or []:
            level = _text(u.UserLevel)
            out.append(User(_text(u.Username), level if level in _LEVELS else "User"))
        return out

    async def create_users(self, users: Sequence[NewUser]) -> None:
        await self._call("devicemgmt", "CreateUsers", User=[
            {"Username": u.username, "Password": u.password, "UserLevel": u.level} for u in users])

    async def set_user(self, username: str, level: UserLevel, password: str | None) -> None:
        user: dict[str, Any] = {"Username": username, "UserLevel": level}
        if password is not None:
            user["Password"] = password
        await self._call("devicemgmt", "SetUser", User=[user])
        if password is not None and username == self.username:
            self.set_password(password)

    async def delete_users(self, usernames: Sequence[str]) -> None:
        await self._call("devicemgmt", "DeleteUsers", Username=list(usernames))

    # ---- network ----------------------------------------------------------------------------
    async def get_network_interfaces(self) -> list[NetworkConfig]:
        r = await self._call("devicemgmt", "GetNetworkInterfaces")

        def parse() -> list[NetworkConfig]:
            out = []
            for nic in r or []:
                ipv4 = nic.IPv4
                cfg = ipv4.Config if ipv4 is not None else None
                manual = (cfg.Manual or []) if cfg is not None else []
                first = manual[0] if manual else None
                out.append(NetworkConfig(
                    _text(nic.token), _text(getattr(nic.Info, "HwAddress", "")),
                    _text(first.Address) if first is not None else "",
                    int(first.PrefixLength) if first is not None else 0,
                    bool(cfg.DHCP) if cfg is not None else False))
            return out

        return self._decode("GetNetworkInterfaces", parse)

    async def set_network_interfaces(self, token: str, address: str, prefix_length: int) -> bool:
        """Set a static IPv4 address; returns whether the device needs a reboot to apply it."""
        r = await self._call("devicemgmt", "SetNetworkInterfaces", InterfaceToken=token,
                             NetworkInterface={"Enabled": True, "IPv4": {
                                 "Enabled": True, "DHCP": False,
                                 "Manual": [{"Address": address,
                                             "PrefixLength": prefix_length}]}})
        return bool(r) if not hasattr(r, "RebootNeeded") else bool(r.RebootNeeded)

    async def get_default_gateway(self) -> tuple[str, ...]:
        r = await self._call("devicemgmt", "GetNetworkDefaultGateway")
        return tuple(_text(a) for a in (getattr(r, "IPv4Address", None) or []) if _text(a))

    async def set_default_gateway(self, gateways: Sequence[str]) -> None:
        await self._call("devicemgmt", "SetNetworkDefaultGateway", IPv4Address=list(gateways))

    async def get_discovery_mode(self) -> bool:
        """True when the device answers WS-Discovery probes."""
        r = await self._call("devicemgmt", "GetDiscoveryMode")
        return _text(r) == "Discoverable"

    async def set_discovery_mode(self, discoverable: bool) -> None:
        await self._call("devicemgmt", "SetDiscoveryMode",
                         DiscoveryMode="Discoverable" if discoverable else "NonDiscoverable")

    async def system_reboot(self) -> str:
        r = await self._call("devicemgmt", "SystemReboot")
        return _text(r)

    # ---- media (ver10 or ver20, chosen per device profile) --------------------------------
    @property
    def _media(self) -> Service:
        return "media2" if self.media_version == "media2" else "media"

    async def get_profiles(self) -> list[MediaProfile]:
        if self.media_version == "media2":
            r = await self._call("media2", "GetProfiles", Type=["VideoSource", "VideoEncoder"])
            return self._decode("GetProfiles", lambda: (media_codec.profiles20(r)))
        r = await self._call("media", "GetProfiles")
        return self._decode("GetProfiles", lambda: (media_codec.profiles10(r)))

    async def get_video_encoder_configurations(self) -> list[EncoderConfig]:
        if self.media_version == "media2":
            r = await self._call("media2", "GetVideoEncoderConfigurations")
            return self._decode("GetVideoEncoderConfigurations", lambda: (
                [media_codec.encoder20(c) for c in r or []]))
        r = await self._call("media", "GetVideoEncoderConfigurations")
        return self._decode("GetVideoEncoderConfigurations", lambda: (
            [media_codec.encoder10(c) for c in r or []]))

    async def get_video_encoder_configuration(self, token: str) -> EncoderConfig:
        raw = await self._raw_encoder(token)
        decode = media_codec.encoder20 if self.media_version == "media2" else media_codec.encoder10
        return self._decode("GetVideoEncoderConfiguration", lambda: (decode(raw)))

    async def _raw_encoder(self, token: str) -> Any:
        if self.media_version == "media2":
            r = await self._call("media2", "GetVideoEncoderConfigurations",
                                 ConfigurationToken=token)
            if not r:
                raise DeviceError(self.name, "GetVideoEncoderConfigurations",
                                  f"no encoder configuration {token}")
            return r[0]
        return await self._call("media", "GetVideoEncoderConfiguration", ConfigurationToken=token)

    async def get_video_encoder_configuration_options(self, token: str) -> EncoderOptions:
        r = await self._call(self._media, "GetVideoEncoderConfigurationOptions",
                             ConfigurationToken=token)
        decode = media_codec.options20 if self.media_version == "media2" else media_codec.options10
        return self._decode("GetVideoEncoderConfigurationOptions",
                                 lambda: (decode(r)))

    async def set_video_encoder_configuration(self, token: str, *, codec: str, width: int,
                                              height: int, fps: int, bitrate_kbps: int,
                                              gop: int) -> None:
        """Read the full configuration, change the stream settings, write it back whole."""
        raw = await self._raw_encoder(token)
        if self.media_version == "media2":
            media_codec.update20(raw, codec, width, height, fps, bitrate_kbps, gop)
            await self._call("media2", "SetVideoEncoderConfiguration", Configuration=raw)
        else:
            media_codec.update10(raw, codec, width, height, fps, bitrate_kbps, gop)
            await self._call("media", "SetVideoEncoderConfiguration", Configuration=raw,
                             ForcePersistence=True)

    async def get_stream_uri(self, profile_token: str) -> str:
        if self.media_version == "media2":
            r = await self._call("media2", "GetStreamUri", Protocol="RtspUnicast",
                                 ProfileToken=profile_token)
            return _text(r)
        r = await self._call("media", "GetStreamUri", ProfileToken=profile_token, StreamSetup={
            "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}})
        return _text(r.Uri)

    async def get_snapshot_uri(self, profile_token: str) -> str | None:
        try:
            r = await self._call(self._media, "GetSnapshotUri", ProfileToken=profile_token)
        except DeviceRejected:
            return None  # snapshots are optional in Profile S
        return _text(r if self.media_version == "media2" else r.Uri) or None

    async def get_stream_uris(self, profile_token: str) -> StreamUris:
        return StreamUris(profile_token, await self.get_stream_uri(profile_token),
                          await self.get_snapshot_uri(profile_token))


def _network_host(h: Any) -> str:
    kind = _text(getattr(h, "Type", ""))
    if kind == "DNS":
        return _text(getattr(h, "DNSname", ""))
    return _text(getattr(h, "IPv4Address", ""))


def _host_param(value: str) -> dict[str, str]:
    parts = value.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return {"Type": "IPv4", "IPv4Address": value}
    return {"Type": "DNS", "DNSname": value}

