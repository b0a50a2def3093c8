"""Per-camera acceptance checks over the wire, built from the nightly check's shared probe
functions (health: lean HTTP, anonymous clock read, signed GetDeviceInformation, snapshot fetch,
image diagnosis) and the RTSP driver, so acceptance and the nightly check judge alike.

Order follows the probe ladder: TCP → clock (anonymous) → inventory credentials → factory
credentials → RTSP DESCRIBE of the main stream → snapshot → image. A failed rung blocks the
rungs that need it, naming it, instead of failing them again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from safecity.drivers.reachability import tcp_reachable
from safecity.drivers.rtsp import describe
from safecity.errors import DeviceError, SafecityError
from safecity.health.http_wire import HttpConnection, HttpError
from safecity.health.onvif_wire import NotAuthorized, SoapError, clock_offset, device_information
from safecity.health.probes import fetch_snapshot
from safecity.health.vqd.analyse import analyse
from safecity.verify.evidence import (
    Check,
    CheckName,
    DeviceVerdict,
    Status,
    blocked,
    failed,
    passed,
)
from safecity.verify.targets import FrontEndTarget

C = CheckName


@dataclass(frozen=True)
class CameraCheckOptions:
    connect_timeout: float = 2.0
    request_timeout: float = 5.0
    snapshot_timeout: float = 10.0
    clock_tolerance_s: float = 1.0


def _text(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "no answer in time"
    if isinstance(e, DeviceError):
        return f"{e.operation}: {e.reason}"
    return str(e) or type(e).__name__


async def check_camera(t: FrontEndTarget, o: CameraCheckOptions, v: DeviceVerdict) -> None:
    """Adds reachable, clock, onvif_auth, factory_credentials, rtsp, snapshot and image."""
    assert t.host is not None and t.profile is not None and t.profile.behaviour is not None
    b = t.profile.behaviour
    later = (C.CLOCK, C.ONVIF_AUTH, C.FACTORY_CREDENTIALS, C.RTSP, C.SNAPSHOT, C.IMAGE)
    rtt = await tcp_reachable(t.host, t.http_port, o.connect_timeout)
    if rtt is None:
        v.add(failed(C.REACHABLE, {"tcp": t.http_port}, None,
                     f"{t.host}:{t.http_port}: no TCP answer in {o.connect_timeout:g} s"))
        for name in later:
            v.add(blocked(name, "device unreachable"))
        return
    v.add(passed(C.REACHABLE, {"tcp": t.http_port}, {"rtt_ms": round(rtt * 1000, 2)}))
    conn = HttpConnection(t.host, t.http_port)
    try:
        offset = await _clock(conn, o, v)
        if offset is None:
            for name in later[1:]:
                v.add(blocked(name, "ONVIF does not answer GetSystemDateAndTime"))
            return
        if not await _auth(t, conn, o, offset, v):
            for name in (C.RTSP, C.SNAPSHOT, C.IMAGE):
                v.add(blocked(name, "inventory credentials refused"))
            await _factory(t, conn, o, offset, v)
            return
        await _factory(t, conn, o, offset, v)
        await _rtsp(t, o, v, b.rtsp.main_path.format(channel=1))
        jpeg = await _snapshot(t, conn, o, v, b.snapshot_path.format(channel=1))
        if jpeg is None:
            v.add(blocked(C.IMAGE, "no snapshot"))
        else:
            _image(jpeg, v)
    except (OSError, ValueError) as e:  # defensive: one device never stops the batch
        v.add(Check(C.ONVIF_AUTH, Status.FAIL, detail=f"unexpected: {_text(e)}"))
    finally:
        conn.close()


async def _clock(conn: HttpConnection, o: CameraCheckOptions, v: DeviceVerdict) -> float | None:
    expected = {"max_offset_s": o.clock_tolerance_s}
    try:
        async with asyncio.timeout(o.request_timeout):
            reading = await clock_offset(conn)
            if reading.uncertainty >= o.clock_tolerance_s / 2:  # a slow answer: read again
                reading = min(reading, await clock_offset(conn), key=lambda r: r.uncertainty)
    except (HttpError, SoapError, TimeoutError) as e:
        v.add(failed(C.CLOCK, expected, None, f"GetSystemDateAndTime: {_text(e)}"))
        return None
    seen = {"offset_s": round(reading.offset, 3), "uncertainty_s": round(reading.uncertainty, 3)}
    if reading.beyond(o.clock_tolerance_s):
        v.add(failed(C.CLOCK, expected, seen, f"device clock is {reading.offset:+.1f} s off"))
    else:
        v.add(passed(C.CLOCK, expected, seen))
    return reading.offset


async def _auth(t: FrontEndTarget, conn: HttpConnection, o: CameraCheckOptions, offset: float,
                v: DeviceVerdict) -> bool:
    expected = {"user": t.username, "answers": "GetDeviceInformation"}
    try:
        async with asyncio.timeout(o.request_timeout):
            info = await device_information(conn, t.username, t.password, offset)
    except NotAuthorized:
        v.add(failed(C.ONVIF_AUTH, expected, {"refused": True},
                     f"user {t.username}: inventory credentials refused"))
        return False
    except (HttpError, SoapError, TimeoutError) as e:
        v.add(failed(C.ONVIF_AUTH, expected, None, f"GetDeviceInformation: {_text(e)}"))
        return False
    v.add(passed(C.ONVIF_AUTH, expected, {"model": info.model, "serial": info.serial,
                                           "firmware": info.firmware}))
    return True


async def _factory(t: FrontEndTarget, conn: HttpConnection, o: CameraCheckOptions, offset: float,
                   v: DeviceVerdict) -> None:
    assert t.profile is not None and t.profile.behaviour is not None
    f = t.profile.behaviour.factory
    if f.default_password is None:
        v.add(Check(C.FACTORY_CREDENTIALS, Status.NOT_APPLICABLE,
                    detail=f"{t.profile.key} ships without a password (activation sets it)"))
        return
    expected = {"user": f.default_username, "factory_password": "refused"}
    try:
        async with asyncio.timeout(o.request_timeout):
            await device_information(conn, f.default_username, f.default_password, offset)
    except NotAuthorized:
        v.add(passed(C.FACTORY_CREDENTIALS, expected, {"factory_password": "refused"}))
        return
    except (HttpError, SoapError, TimeoutError) as e:
        v.add(failed(C.FACTORY_CREDENTIALS, expected, None, f"GetDeviceInformation: {_text(e)}"))
        return
    v.add(failed(C.FACTORY_CREDENTIALS, expected, {"factory_password": "accepted"},
                 f"user {f.default_username} still signs in with the factory password"))


async def _rtsp(t: FrontEndTarget, o: CameraCheckOptions, v: DeviceVerdict, path: str) -> None:
    url = f"rtsp://{t.host}:{t.rtsp_port}{path}"
    expected = {"describe": path, "status": 200}
    try:
        r = await describe(url, t.username, t.password, o.request_timeout, device=t.name)
    except (SafecityError, OSError, TimeoutError) as e:
        v.add(failed(C.RTSP, expected, None, _text(e)))
        return
    video = next((m for m in r.media if m.kind == "video"), None)
    seen: dict[str, object] = {"status": r.status, "latency_ms": round(r.latency_s * 1000, 1)}
    if video is not None:
        seen.update(codec=video.codec, width=video.width, height=video.height)
    if video is None:
        v.add(failed(C.RTSP, expected, seen, "the main stream's SDP has no video"))
    else:
        v.add(passed(C.RTSP, expected, seen))


async def _snapshot(t: FrontEndTarget, conn: HttpConnection, o: CameraCheckOptions,
                    v: DeviceVerdict, path: str) -> bytes | None:
    expected = {"get": path, "content": "image"}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(o.snapshot_timeout):
            jpeg = await fetch_snapshot(conn, path, t.username, t.password)
    except (HttpError, SoapError, TimeoutError) as e:
        v.add(failed(C.SNAPSHOT, expected, None, _text(e)))
        return None
    v.add(passed(C.SNAPSHOT, expected, {"bytes": len(jpeg),
                                         "ms": round((time.perf_counter() - started) * 1000, 1)}))
    return jpeg


_SHOWN_METRICS = ("mean_luma", "std_luma", "dominant_share", "sharpness", "noise_sigma",
                  "colour_cast")


def _image(jpeg: bytes, v: DeviceVerdict) -> None:
    expected: dict[str, list[str]] = {"faults": []}
    try:
        r = analyse(jpeg)
    except ValueError as e:
        v.add(failed(C.IMAGE, expected, None, f"not a decodable image: {e}"))
        return
    metrics = {k: round(float(val), 3) for k, val in r.metrics.items() if k in _SHOWN_METRICS} \
        or {k: round(float(val), 3) for k, val in list(r.metrics.items())[:6]}
    seen = {"faults": [str(f) for f in r.faults], "metrics": metrics,
            "size": list(r.source_size)}
    if r.faults:
        v.add(failed(C.IMAGE, expected, seen, "image check: " + ", ".join(str(f) for f in r.faults)))
    else:
        v.add(passed(C.IMAGE, expected, seen))


__all__ = ["CameraCheckOptions", "check_camera"]
