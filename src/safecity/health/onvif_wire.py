"""The two ONVIF calls the sweep needs, as raw SOAP 1.2 over ``HttpConnection``.

The full driver (zeep) costs ~250 µs of parsing per call plus a shared client; the sweep reads
two small answers per device, so it builds the envelopes itself and picks the values out with
regular expressions. GetSystemDateAndTime is anonymous and gives the clock offset; the signed
GetDeviceInformation is the authentication check (WS-UsernameToken PasswordDigest, signed with
the device's own clock so a skewed clock is reported as skew, not as wrong credentials).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import os
import re
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

from safecity.health.http_wire import HttpConnection, HttpError

DEVICE_SERVICE = "/onvif/device_service"
_HEADERS = {"Content-Type": 'application/soap+xml; charset=utf-8'}
_ENV = ('<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">{header}<s:Body>'
        '<{op} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
_SECURITY = (f'<s:Header><wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}" s:mustUnderstand="1">'
             '<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>'
             f'<wsse:Password Type="{_TOKEN_PROFILE}#PasswordDigest">{{digest}}</wsse:Password>'
             '<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/'
             'oasis-200401-wss-soap-message-security-1.0#Base64Binary">{nonce}</wsse:Nonce>'
             '<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>')
_UTC_BLOCK = re.compile(rb"UTCDateTime>(.*?)</[\w:]*UTCDateTime", re.DOTALL)
_FIELD = {name: re.compile(rb"<[\w:]*" + name.encode() + rb">\s*(\d+)\s*<") for name in
          ("Year", "Month", "Day", "Hour", "Minute", "Second")}
_INFO = {name: re.compile(rb"<[\w:]*" + name.encode() + rb">([^<]*)<") for name in
         ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber")}


class SoapError(Exception):
    """The device answered, but not with what the call expects."""


class NotAuthorized(SoapError):
    pass


@dataclass(frozen=True)
class DeviceInformation:
    manufacturer: str
    model: str
    firmware: str
    serial: str


@dataclass(frozen=True)
class ClockReading:
    offset: float        # device UTC minus local UTC, seconds
    uncertainty: float   # ± bound: half the round trip plus the whole-second truncation

    def beyond(self, tolerance: float) -> bool:
        """True only when the offset exceeds ``tolerance`` whatever the measurement error."""
        return abs(self.offset) - self.uncertainty >= tolerance

    def ambiguous(self, tolerance: float) -> bool:
        """Within the error bound of ``tolerance``: neither clearly inside nor clearly beyond."""
        return not self.beyond(tolerance) and abs(self.offset) + self.uncertainty >= tolerance


async def clock_offset(conn: HttpConnection) -> ClockReading:
    """Read the device clock (anonymous GetSystemDateAndTime), NTP-style: the device read its
    clock somewhere between send and receive, so the midpoint is the estimate and half the
    round trip its error; a slow answer therefore never reads as clock skew."""
    t0 = time.time()
    resp = await conn.request("POST", DEVICE_SERVICE, _ENV.format(header="", op="GetSystemDateAndTime")
                              .encode(), _HEADERS)
    t1 = time.time()
    if resp.status != 200:
        raise SoapError(f"GetSystemDateAndTime: HTTP {resp.status}")
    block = _UTC_BLOCK.search(resp.body)
    if block is None:
        raise SoapError("GetSystemDateAndTime: no UTCDateTime in the answer")
    try:
        parts = [int(_FIELD[f].search(block.group(1)).group(1))  # type: ignore[union-attr]
                 for f in ("Year", "Month", "Day", "Hour", "Minute", "Second")]
    except AttributeError as e:
        raise SoapError("GetSystemDateAndTime: incomplete UTCDateTime") from e
    device = calendar.timegm((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], 0, 0, 0))
    # The device truncated to whole seconds: its clock read device+0.5 on average.
    return ClockReading(device + 0.5 - (t0 + t1) / 2, (t1 - t0) / 2 + 0.5)


def _security_header(username: str, password: str, offset: float) -> str:
    nonce = os.urandom(16)
    now = time.time() + offset
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
    return _SECURITY.format(user=escape(username), digest=digest.decode(),
                            nonce=base64.b64encode(nonce).decode(), created=created)


async def device_information(conn: HttpConnection, username: str, password: str,
                             offset: float) -> DeviceInformation:
    """Signed GetDeviceInformation. Raises NotAuthorized when the credentials are refused."""
    envelope = _ENV.format(header=_security_header(username, password, offset), op="GetDeviceInformation")
    resp = await conn.request("POST", DEVICE_SERVICE, envelope.encode(), _HEADERS)
    if resp.status in (401, 403) or (resp.status in (400, 500) and b"NotAuthorized" in resp.body):
        raise NotAuthorized(f"GetDeviceInformation: HTTP {resp.status}")
    if resp.status != 200:
        raise SoapError(f"GetDeviceInformation: HTTP {resp.status}")

    def pick(name: str) -> str:
        m = _INFO[name].search(resp.body)
        return m.group(1).decode("utf-8", "replace").strip() if m else ""

    return DeviceInformation(pick("Manufacturer"), pick("Model"), pick("FirmwareVersion"), pick("SerialNumber"))


__all__ = ["ClockReading", "DeviceInformation", "HttpError", "NotAuthorized", "SoapError", "clock_offset",
           "device_information"]
