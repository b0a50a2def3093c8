"""Helpers of the alarm-host lab tests: specs on unique loopback addresses in 127.42.0.0/16
(third octet 1..19 by pid), a registrar, and a small digest JSON client (aiohttp's own)."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import aiohttp

from safecity.inventory.profiles import load_profiles
from safecity.lab.alarm import AlarmHostSpec

HTTP_PORT = 8000
ACCOUNT = ("admin", "Al4rm-install")
AH16 = "generic_alarm/AH-16"
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001170000001"
IN_IDS = [f"340200000013400000{i:02d}" for i in range(1, 5)]
OUT_IDS = ["34020000001350000001"]
_octet = 1 + os.getpid() % 19
_n = itertools.count(2)


def next_host() -> str:
    return f"127.42.{_octet}.{next(_n) % 250 + 2}"


def make_spec(name: str, **kw: Any) -> AlarmHostSpec:
    profile = load_profiles().device(AH16)
    assert profile is not None
    values: dict[str, Any] = {"name": name, "profile": profile, "host": next_host(),
                              "serial": f"AH{name.upper()}", "hostname": name,
                              "username": ACCOUNT[0], "password": ACCOUNT[1],
                              "http_port": HTTP_PORT}
    values.update(kw)
    return AlarmHostSpec(**values)


async def call(method: str, host: str, path: str, body: object | None = None,
               auth: tuple[str, str] | None = ACCOUNT) -> tuple[int, Any, str]:
    mw = (aiohttp.DigestAuthMiddleware(*auth),) if auth else ()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10),
                                     middlewares=mw) as s, \
            s.request(method, f"http://{host}:{HTTP_PORT}{path}",
                      data=None if body is None else json.dumps(body),
                      headers={"Content-Type": "application/json"}) as r:
        text = await r.text()
        try:
            doc = json.loads(text)
        except ValueError:
            doc = text
        return r.status, doc, r.headers.get("WWW-Authenticate", "")
