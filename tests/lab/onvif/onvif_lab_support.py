"""Helpers of the ONVIF lab tests: profiles, unique loopback addresses in 127.34.0.0/16,
device specs, a running lab, and a small independent SOAP/ISAPI client for what the third-party
ONVIF client cannot send (media2 has no bundled WSDL; replayed nonces; broken XML)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import os
import secrets
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from lxml import etree
from PIL import Image

from safecity.inventory.profiles import DeviceProfile, load_profiles
from safecity.lab.onvif import NetworkSettings, OnvifDeviceSpec

HTTP_PORT = 8000  # unprivileged, so the suite also runs as a normal user
ADMIN = ("admin", "Adm1n-pass")
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = {"env": SOAP12, "tds": "http://www.onvif.org/ver10/device/wsdl",
      "tr2": "http://www.onvif.org/ver20/media/wsdl", "tt": "http://www.onvif.org/ver10/schema",
      "ter": "http://www.onvif.org/ver10/error",
      "hik": "http://www.hikvision.com/ver20/XMLSchema"}
T = TypeVar("T")

# Third octet from the pid, so two concurrent runs of this suite do not collide.
_OCTET = os.getpid() % 200 + 1
_hosts = itertools.count(1)


def next_host() -> str:
    n = next(_hosts)
    return f"127.34.{_OCTET + n // 250}.{n % 250 + 1}"


def tiny_jpeg(channel: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 8), (40 * channel % 256, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def profile(key: str) -> DeviceProfile:
    p = load_profiles().device(key)
    assert p is not None, key
    return p


def make_spec(name: str, key: str = "generic/ONVIF-PTZ-2MP", **kw: Any) -> OnvifDeviceSpec:
    host = kw.pop("host", None) or next_host()
    defaults: dict[str, Any] = {
        "name": name, "profile": profile(key), "host": host, "http_port": HTTP_PORT,
        "serial": f"SN{name.upper()}", "mac": "00:11:22:33:44:55", "hostname": name,
        "network": NetworkSettings("10.34.1.23", 24, "10.34.1.1"),
        "users": (ADMIN + ("Administrator",),), "snapshot": tiny_jpeg, "reboot_s": 0.2,
        "network_move_s": 0.1}
    defaults.update(kw)
    return OnvifDeviceSpec(**defaults)


async def within(aw: Awaitable[T], seconds: float = 20.0) -> T:
    """Every client call gets a deadline: the third-party client defaults to 90 s."""
    return await asyncio.wait_for(aw, seconds)


# ---- an independent minimal SOAP client (for what zeep cannot send) ---------------------------

def username_token(user: str, password: str, created: datetime | None = None,
                   nonce: bytes | None = None) -> str:
    created_s = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce or secrets.token_bytes(16)
    digest = base64.b64encode(hashlib.sha1(nonce + created_s.encode() + password.encode())
                              .digest()).decode()
    return (
        '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
        'wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-'
        '200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-'
        f'token-profile-1.0#PasswordDigest">{digest}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{created_s}</wsu:Created></wsse:UsernameToken></wsse:Security>")


def soap(body: str, security: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP12}">'
            f"<s:Header>{security}</s:Header><s:Body>{body}</s:Body></s:Envelope>").encode()


async def post_soap(url: str, payload: bytes) -> tuple[int, str, etree._Element | None]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as s, \
            s.post(url, data=payload,
                   headers={"Content-Type": "application/soap+xml; charset=utf-8"}) as r:
        raw = await r.read()
        ctype = r.headers.get("Content-Type", "")
        try:
            doc = etree.fromstring(raw)
        except etree.XMLSyntaxError:
            doc = None
        return r.status, ctype, doc


def subcodes(fault: Exception) -> list[str]:
    """Local names of a zeep Fault's subcodes (zeep gives lxml QNames)."""
    return [etree.QName(q).localname for q in getattr(fault, "subcodes", None) or []]


def fault_subcodes(doc: etree._Element | None) -> list[str]:
    assert doc is not None
    return [v.text or "" for v in doc.iterfind(".//env:Subcode/env:Value", NS)]


async def isapi(method: str, url: str, user: str | None = None, password: str | None = None,
                body: str | None = None) -> tuple[int, etree._Element | None]:
    """ISAPI over HTTP digest, using aiohttp's own digest middleware (a third-party client)."""
    mw = (aiohttp.DigestAuthMiddleware(user, password),) if user and password else ()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15),
                                     middlewares=mw) as s, \
            s.request(method, url, data=body.encode() if body else None,
                      headers={"Content-Type": "application/xml"}) as r:
        raw = await r.read()
        try:
            return r.status, etree.fromstring(raw)
        except etree.XMLSyntaxError:
            return r.status, None


def spec_with(spec: OnvifDeviceSpec, **kw: Any) -> OnvifDeviceSpec:
    return replace(spec, **kw)
