"""Per-device probes of the nightly sweep. Each returns a value and never raises for one device.

Order per camera (DOMAIN.md §7: dead devices dominate, so everything after a failed connect is
skipped): TCP connect (reachability, RTT) → anonymous GetSystemDateAndTime (clock offset; read
twice only when the first reading is within its error of the tolerance) → signed
GetDeviceInformation (inventory credentials, serial, firmware) → the same with the factory
default password when that can tell something (security finding; ``_default_credentials_check``)
→ RTSP DESCRIBE → snapshot (digest auth) → uptime
from the vendor API where the vendor data names one (``uptime`` in vendors/*.yml: the reboot
events; ONVIF has none). One keep-alive connection carries every HTTP request of a device, and
the uptime GET answers the snapshot's digest challenge up front (same nonce, next nc): one
request more per camera, not two. A failed uptime read is no fault — the device just gets no
"rebooted" verdict that night.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from safecity.drivers.cli.interfaces import (
    InterfaceState,
    Uptime,
    parse_interface_status,
    parse_uptime,
)
from safecity.drivers.reachability import tcp_reachable
from safecity.drivers.sip.kamailio import list_registrations
from safecity.drivers.sip.models import PlatformRegistration
from safecity.errors import AuthFailed, DeviceError, DeviceRejected, SafecityError
from safecity.health.http_wire import HttpConnection, HttpError, HttpResponse
from safecity.health.models import DeviceResult
from safecity.health.onvif_wire import NotAuthorized, SoapError, clock_offset, device_information
from safecity.health.targets import CameraTarget, PlatformTarget, SwitchTarget
from safecity.inventory.profiles import UPTIME_SCAN_BYTES


@dataclass(frozen=True)
class ProbeOptions:
    connect_timeout: float = 2.0
    request_timeout: float = 5.0
    snapshot_timeout: float = 10.0
    clock_tolerance_s: float = 1.0
    rtsp: bool = True
    default_credentials: bool = True
    snapshot: bool = True
    # The picture the nightly video-quality check analyses: the sub stream's where the vendor has
    # one (tens of KB against the main stream's hundreds; its memory, thumbnail and baseline, is
    # kept from it), or always the main one. With "sub", the main picture is fetched as well on
    # the camera's rotation night and checked at full size (``rotation_nights``).
    snapshot_stream: Literal["sub", "main"] = "sub"
    uptime: bool = True              # vendor uptime API, where the vendor data names one
    switch_cli: bool = True          # log in to switches for uplink state and uptime
    switch_sessions: int = 16        # SSH sessions in flight at once (paramiko is CPU-heavy)
    switch_timeout: float = 10.0
    # Checks that need not run on every device every night run on 1/N of the devices a night
    # (the device name picks its night): every device is covered once in N nights.
    rotation_nights: int = 7


# Evidence of what the main picture's full-size check (rotation night) found.
FULL_SIZE_EVIDENCE = "main stream picture (full-size check)"


@dataclass
class CameraProbe:
    result: DeviceResult
    jpeg: bytes | None = None              # tonight's picture for the VQD (its memory's source)
    full_jpeg: bytes | None = None         # rotation night: the main picture, checked at full size
    rotation_findings: list[str] = field(default_factory=list)   # faults only a rotating check finds


def _error_text(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "no answer in time"
    return str(e) or type(e).__name__


async def probe_camera(t: CameraTarget, o: ProbeOptions, full_checks: bool = True) -> CameraProbe:
    """``full_checks``: this camera's night in the rotation of the checks that need not run
    nightly (``rotation_nights``; the sweep decides)."""
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
                if clock.ambiguous(o.clock_tolerance_s):
                    # Could be either side of the tolerance: a second reading (a faster answer
                    # narrows the bound). A clear verdict, the usual case, costs one request.
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
        probe = CameraProbe(r)
        if o.default_credentials and t.default_password \
                and await _default_credentials_check(conn, t, o, r, offset, full_checks):
            probe.rotation_findings.append("default_credentials")
        if "auth_failed" in r.faults:
            return probe
        if o.rtsp:
            await _rtsp_check(t, o, r)
        if o.snapshot:
            await _snapshots(conn, t, o, probe, full_checks)
        if o.uptime and t.uptime_path is not None and t.uptime_pattern is not None:
            try:
                async with asyncio.timeout(o.request_timeout):
                    uptime = await read_uptime(conn, t.uptime_path, t.uptime_pattern, t.username, t.password)
            except (HttpError, TimeoutError):
                uptime = None
            if uptime is not None:
                r.uptime_s = uptime
                r.metrics["uptime_resolution_s"] = 1.0  # whole seconds: compare by the upper bound
        return probe
    except (OSError, ValueError) as e:  # defensive: one device never stops the batch
        r.add_fault("onvif_failed", _error_text(e))
        return CameraProbe(r)
    finally:
        conn.close()


async def _snapshots(conn: HttpConnection, t: CameraTarget, o: ProbeOptions, probe: CameraProbe,
                     full_checks: bool) -> None:
    """Tonight's picture (the sub stream's where there is one); on a rotation night the main
    stream's as well, for the full-size check."""
    r = probe.result
    sub = t.snapshot_sub_path if o.snapshot_stream == "sub" else None
    try:
        async with asyncio.timeout(o.snapshot_timeout):
            probe.jpeg = await fetch_snapshot(conn, sub or t.snapshot_path, t.username, t.password)
    except (HttpError, SoapError, TimeoutError) as e:
        r.add_fault("snapshot_failed", _error_text(e))
        return
    if sub is None or not full_checks:
        return
    try:
        async with asyncio.timeout(o.snapshot_timeout):
            probe.full_jpeg = await fetch_snapshot(conn, t.snapshot_path, t.username, t.password)
    except (HttpError, SoapError, TimeoutError) as e:
        r.add_fault("snapshot_failed", f"{FULL_SIZE_EVIDENCE}: {_error_text(e)}")
        probe.rotation_findings.append("snapshot_failed")


async def _default_credentials_check(conn: HttpConnection, t: CameraTarget, o: ProbeOptions,
                                     r: DeviceResult, offset: float, full_checks: bool) -> bool:
    """Finding ``default_credentials``: the user still gets in with the factory password.

    One user has one password, so the answer mostly follows from the inventory check: an
    inventory password that *is* the factory one and works is the finding, no request needed;
    one that is refused may mean the device was reset to factory state, so the factory password
    is tried. A device that accepts both (firmware that takes any password) is only found by
    trying, which is done on the device's night of the rotation. Returns True when that rotating
    attempt found it (the finding is then carried on the nights between).
    """
    assert t.default_password is not None
    refused = "auth_failed" in r.faults
    if t.default_password == t.password:
        if not refused:
            r.add_fault("default_credentials", f"user {t.username}: the inventory password is the factory one")
        return False
    if not (refused or full_checks):
        return False
    try:
        async with asyncio.timeout(o.request_timeout):
            await device_information(conn, t.username, t.default_password, offset)
    except (NotAuthorized, HttpError, SoapError, TimeoutError):
        return False
    if refused:
        r.add_fault("default_credentials", f"user {t.username} accepts the factory password")
        return False
    r.add_fault("default_credentials", f"user {t.username} accepts the factory password beside the set one")
    return True


async def _rtsp_check(t: CameraTarget, o: ProbeOptions, r: DeviceResult) -> None:
    # The RTSP driver is its own package (drivers/rtsp); imported lazily so a sweep without
    # RTSP checks does not need it.
    from safecity.drivers.rtsp import describe

    url = f"rtsp://{t.host}:{t.rtsp_port}{t.rtsp_path}"
    try:
        await describe(url, t.username, t.password, o.request_timeout, device=t.name, options=False)
    except DeviceError as e:
        r.add_fault("rtsp_failed", f"{e.operation}: {e.reason}")
    except (SafecityError, OSError, TimeoutError) as e:
        r.add_fault("rtsp_failed", _error_text(e))


async def get_authorized(conn: HttpConnection, path: str, username: str, password: str) -> HttpResponse:
    """GET ``path``, answering the connection's last challenge up front when it has one; a 401
    (no challenge yet, or a stale nonce) costs the one round trip that fetches a fresh one."""
    auth = conn.authorization("GET", path, username, password)
    resp = await conn.request("GET", path, headers={"Authorization": auth} if auth else None)
    if resp.status == 401:
        auth = conn.authorization("GET", path, username, password)
        resp = await conn.request("GET", path, headers={"Authorization": auth or ""})
    return resp


async def read_uptime(conn: HttpConnection, path: str, pattern: re.Pattern[bytes], username: str,
                      password: str) -> float | None:
    """Seconds since boot from the vendor API (the first group of ``pattern``, searched in the
    answer's first ``UPTIME_SCAN_BYTES``: no document parse for one field), or None."""
    resp = await get_authorized(conn, path, username, password)
    found = pattern.search(resp.body, 0, UPTIME_SCAN_BYTES) if resp.status == 200 else None
    return float(found.group(1)) if found else None


async def fetch_snapshot(conn: HttpConnection, path: str, username: str, password: str) -> bytes:
    resp = await get_authorized(conn, path, username, password)
    if resp.status != 200:
        raise SoapError(f"GET {path}: HTTP {resp.status}")
    if not resp.body:
        raise SoapError(f"GET {path}: empty image")
    return resp.body


async def probe_switch(t: SwitchTarget, o: ProbeOptions) -> DeviceResult:
    """TCP reachability of SSH; then, when the switch has uplinks in the inventory and a login,
    one CLI session (``switch_cli_session``) for the uplinks' link state and the uptime."""
    r = DeviceResult(t.name, "switch", t.region_code, t.site)
    rtt = await tcp_reachable(t.host, t.ssh_port, o.connect_timeout)
    r.reachable, r.rtt_ms = rtt is not None, None if rtt is None else round(rtt * 1000, 2)
    if rtt is None:
        r.add_fault("switch_unreachable", f"{t.host}:{t.ssh_port}: no SSH answer")
        return r
    if o.switch_cli and t.uplinks and t.platform and t.username and t.password is not None:
        await switch_cli_check(t, o, r)
    return r


@dataclass(frozen=True)
class SwitchCliReading:
    interfaces: dict[str, InterfaceState]
    uptime: Uptime | None


def switch_cli_session(t: SwitchTarget, o: ProbeOptions) -> SwitchCliReading:
    """One blocking SSH session: the brief interface table and the version output (2 commands)."""
    # The CLI driver (netmiko, paramiko) is imported only by sweeps that log in to switches.
    from safecity.drivers.cli.session import SwitchSession
    from safecity.drivers.cli.session import SwitchTarget as CliTarget

    if t.platform is None or t.username is None or t.password is None:
        raise DeviceRejected(t.name, "login", "no platform or credentials in the inventory")
    target = CliTarget(t.name, t.platform, t.host, t.username, t.password, port=t.ssh_port,
                       timeout=o.switch_timeout)
    with SwitchSession(target) as session:
        spec = session.platform
        if spec.interface_status is None:
            raise DeviceRejected(t.name, "read interfaces",
                                 f"platform {spec.platform} has no interface_status in its platform.yml")
        interfaces = parse_interface_status(
            session.show(spec.interface_status.command, "read interfaces"), spec)
        uptime = parse_uptime(session.show(spec.version.command, "read version"), spec) \
            if spec.version is not None else None
    return SwitchCliReading(interfaces, uptime)


_CLI_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_CLI_POOL: list[ThreadPoolExecutor] = []


def _cli_gate(o: ProbeOptions) -> tuple[asyncio.Semaphore, ThreadPoolExecutor]:
    # Bounded: at most ``switch_sessions`` SSH sessions per sweep (event loop), on threads of
    # their own so blocking netmiko never starves the default executor the rest of the loop uses.
    loop = asyncio.get_running_loop()
    gate = _CLI_GATES.get(loop)
    if gate is None:
        gate = _CLI_GATES[loop] = asyncio.Semaphore(max(1, o.switch_sessions))
    if not _CLI_POOL:
        _CLI_POOL.append(ThreadPoolExecutor(max_workers=max(1, o.switch_sessions),
                                            thread_name_prefix="switch-cli"))
    return gate, _CLI_POOL[0]


async def switch_cli_check(t: SwitchTarget, o: ProbeOptions, r: DeviceResult) -> None:
    """Faults ``uplink_down`` (naming the ports), ``auth_failed``, ``cli_failed``; the uptime."""
    gate, pool = _cli_gate(o)
    async with gate:
        try:
            reading = await asyncio.get_running_loop().run_in_executor(pool, switch_cli_session, t, o)
        except AuthFailed as e:
            r.add_fault("auth_failed", f"{e.operation}: {e.reason}")
            return
        except SafecityError as e:
            r.add_fault("cli_failed", str(e))
            return
    down = []
    for port in t.uplinks:
        state = reading.interfaces.get(port)
        if state is None:
            down.append(f"{port} (not in the interface table)")
        elif not state.up:
            down.append(f"{port} ({state.state})")
    r.metrics["uplinks"] = float(len(t.uplinks))
    r.metrics["uplinks_up"] = float(len(t.uplinks) - len(down))
    if down:
        r.add_fault("uplink_down", "uplink down: " + ", ".join(down))
    if reading.uptime is not None:
        r.uptime_s = float(reading.uptime.seconds)
        r.metrics["uptime_resolution_s"] = float(reading.uptime.resolution)


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
