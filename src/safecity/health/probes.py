"""Per-device probes of the nightly sweep. Each returns a value and never raises for one device.

Order per camera (DOMAIN.md §7: dead devices dominate, so everything after a failed connect is
skipped): TCP connect (reachability, RTT) → anonymous GetSystemDateAndTime (clock offset) →
signed GetDeviceInformation (inventory credentials, serial, firmware) → the same with the
factory default password (security finding) → RTSP DESCRIBE → snapshot (digest auth). One
keep-alive connection carries every HTTP request of a device.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass

from safecity.drivers.reachability import tcp_reachable
from safecity.drivers.sip.kamailio import list_registrations
from safecity.drivers.sip.models import PlatformRegistration
from safecity.errors import DeviceError, SafecityError
from safecity.health.http_wire import HttpConnection, HttpError, digest_authorization
from safecity.health.models import DeviceResult
from safecity.health.onvif_wire import NotAuthorized, SoapError, clock_offset, device_information
from safecity.health.targets import CameraTarget, PlatformTarget, SwitchTarget


@dataclass(frozen=True)
class ProbeOptions:
    connect_timeout: float = 2.0
    request_timeout: float = 5.0
    snapshot_timeout: float = 10.0
    clock_tolerance_s: float = 1.0
    rtsp: bool = True
    default_credentials: bool = True
    snapshot: bool = True


@dataclass
class CameraProbe:
    result: DeviceResult
    jpeg: bytes | None = None


def _error_text(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "no answer in time"
    return str(e) or type(e).__name__


async def probe_camera(t: CameraTarget, o: ProbeOptions) -> CameraProbe:
    r = DeviceResult(t.name, t.kind, t.region_code, t.site)
    conn = HttpConnection(t.host, t.http_port)
    try:
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(o.connect_timeout):
                await conn.connect()
        except (HttpError, TimeoutError) as e:
            r.reachable = False
            r.add_fault("unreachable", f"{t.host}:{t.http_port}: {_error_text(e)}")
            return CameraProbe(r)
        r.reachable, r.rtt_ms = True, round((time.perf_counter() - t0) * 1000, 2)
        offset = 0.0
        try:
            async with asyncio.timeout(o.request_timeout):
                clock = await clock_offset(conn)
                if clock.uncertainty >= o.clock_tolerance_s / 2:
                    clock = min(clock, await clock_offset(conn), key=lambda c: c.uncertainty)
            offset = clock.offset
            r.clock_offset_s = round(offset, 3)
            r.metrics["clock_uncertainty_s"] = round(clock.uncertainty, 3)
            if clock.beyond(o.clock_tolerance_s):
                r.add_fault("clock_skew", f"device clock is {offset:+.1f} s off (±{clock.uncertainty:.1f} s)")
        except (HttpError, SoapError, TimeoutError) as e:
            r.add_fault("onvif_failed", f"GetSystemDateAndTime: {_error_text(e)}")
            return CameraProbe(r)
        try:
            async with asyncio.timeout(o.request_timeout):
                info = await device_information(conn, t.username, t.password, offset)
            r.serial, r.firmware, r.model = info.serial, info.firmware, info.model
        except NotAuthorized:
            r.add_fault("auth_failed", f"user {t.username}: credentials refused")
        except (HttpError, SoapError, TimeoutError) as e:
            r.add_fault("onvif_failed", f"GetDeviceInformation: {_error_text(e)}")
            return CameraProbe(r)
        if o.default_credentials and t.default_password:
            try:
                async with asyncio.timeout(o.request_timeout):
                    await device_information(conn, t.username, t.default_password, offset)
                r.add_fault("default_credentials", f"user {t.username} accepts the factory password")
            except (NotAuthorized, HttpError, SoapError, TimeoutError):
                pass
        if "auth_failed" in r.faults:
            return CameraProbe(r)
        if o.rtsp:
            await _rtsp_check(t, o, r)
        jpeg = None
        if o.snapshot:
            try:
                async with asyncio.timeout(o.snapshot_timeout):
                    jpeg = await fetch_snapshot(conn, t.snapshot_path, t.username, t.password)
            except (HttpError, SoapError, TimeoutError) as e:
                r.add_fault("snapshot_failed", _error_text(e))
        return CameraProbe(r, jpeg)
    except (OSError, ValueError) as e:  # defensive: one device never stops the batch
        r.add_fault("onvif_failed", _error_text(e))
        return CameraProbe(r)
    finally:
        conn.close()


async def _rtsp_check(t: CameraTarget, o: ProbeOptions, r: DeviceResult) -> None:
    # The RTSP driver is its own package (drivers/rtsp); imported lazily so a sweep without
    # RTSP checks does not need it.
    from safecity.drivers.rtsp import describe

    url = f"rtsp://{t.host}:{t.rtsp_port}{t.rtsp_path}"
    try:
        await describe(url, t.username, t.password, o.request_timeout)
    except DeviceError as e:
        r.add_fault("rtsp_failed", f"{e.operation}: {e.reason}")
    except (SafecityError, OSError, TimeoutError) as e:
        r.add_fault("rtsp_failed", _error_text(e))


async def fetch_snapshot(conn: HttpConnection, path: str, username: str, password: str) -> bytes:
    resp = await conn.request("GET", path)
    if resp.status == 401:
        challenge = resp.headers.get("www-authenticate", "")
        if challenge.lower().startswith("digest"):
            auth = digest_authorization(challenge, "GET", path, username, password)
        else:
            auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        resp = await conn.request("GET", path, headers={"Authorization": auth})
    if resp.status != 200:
        raise SoapError(f"GET {path}: HTTP {resp.status}")
    if not resp.body:
        raise SoapError(f"GET {path}: empty image")
    return resp.body


async def probe_switch(t: SwitchTarget, o: ProbeOptions) -> DeviceResult:
    r = DeviceResult(t.name, "switch", t.region_code, t.site)
    rtt = await tcp_reachable(t.host, t.ssh_port, o.connect_timeout)
    r.reachable, r.rtt_ms = rtt is not None, None if rtt is None else round(rtt * 1000, 2)
    if rtt is None:
        r.add_fault("switch_unreachable", f"{t.host}:{t.ssh_port}: no SSH answer")
    return r


@dataclass
class PlatformProbe:
    result: DeviceResult
    registrations: dict[str, PlatformRegistration] | None   # None: platform did not answer


async def probe_platform(t: PlatformTarget, o: ProbeOptions) -> PlatformProbe:
    r = DeviceResult(t.name, "platform_server", t.region_code, None)
    try:
        regs = await list_registrations(t.rpc_url, o.request_timeout)
    except DeviceError as e:
        r.reachable = False
        r.add_fault("platform_unreachable", f"{e.operation} {t.rpc_url}: {e.reason}")
        return PlatformProbe(r, None)
    r.reachable = True
    r.metrics["registrations"] = float(len(regs))
    return PlatformProbe(r, {g.device_id: g for g in regs})
