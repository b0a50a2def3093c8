"""Who is registered on a platform: Kamailio JSON-RPC ``ul.dump`` over HTTP (jsonrpcs+xhttp).

The lab registrar answers the same call with the same shape, plus an optional
``GB-Last-Keepalive`` per contact (Kamailio has no notion of MANSCDP keepalives).
"""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safecity.drivers.sip.models import PlatformRegistration
from safecity.errors import AuthFailed, DeviceRejected, DeviceTimeout, DeviceUnreachable
from safecity.netguard import check_target

_ids = itertools.count(1)


class _Contact(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    address: str = Field(alias="Address")
    # Seconds left, or "permanent" / "expired" / "deleted".
    expires: int | str = Field(alias="Expires")
    user_agent: str = Field(default="", alias="User-Agent")
    last_keepalive: int = Field(default=0, alias="Last-Keepalive")
    last_modified: int = Field(default=0, alias="Last-Modified")
    gb_last_keepalive: float | None = Field(default=None, alias="GB-Last-Keepalive")


class _ContactWrap(BaseModel):
    contact: _Contact = Field(alias="Contact")


class _Info(BaseModel):
    aor: str = Field(alias="AoR")
    contacts: list[_ContactWrap] = Field(default_factory=list, alias="Contacts")


class _AorWrap(BaseModel):
    info: _Info = Field(alias="Info")


class _Domain(BaseModel):
    name: str = Field(alias="Domain")
    aors: list[_AorWrap] = Field(default_factory=list, alias="AoRs")


class _DomainWrap(BaseModel):
    domain: _Domain = Field(alias="Domain")


class _Dump(BaseModel):
    domains: list[_DomainWrap] = Field(alias="Domains")


def _device_id(aor: str) -> str:
    # usrloc keeps "user" (use_domain=0) or "user@domain" (use_domain=1).
    return aor.removeprefix("sip:").split("@", 1)[0]


def _to_registration(aor: str, contact: _Contact) -> PlatformRegistration | None:
    if isinstance(contact.expires, int):
        expires: int | None = contact.expires
    elif contact.expires == "permanent":
        expires = None
    else:
        return None  # "expired" / "deleted": not registered any more
    seen = [t for t in (contact.last_keepalive, contact.last_modified, contact.gb_last_keepalive)
            if t]
    return PlatformRegistration(
        device_id=_device_id(aor), contact=contact.address, expires=expires,
        last_seen=float(max(seen)) if seen else None,
        user_agent="" if contact.user_agent == "[not set]" else contact.user_agent,
        last_keepalive_message=contact.gb_last_keepalive)


async def list_registrations(rpc_url: str, timeout: float) -> list[PlatformRegistration]:
    """Every live registration the platform holds, from one ``ul.dump`` call.

    Errors: DeviceUnreachable (refused/reset), DeviceTimeout (no answer in ``timeout``),
    AuthFailed (HTTP 401/403), DeviceRejected (HTTP error, JSON-RPC error, unexpected shape).
    """
    check_target(rpc_url, "ul.dump", urlsplit(rpc_url).hostname or "")
    payload = {"jsonrpc": "2.0", "method": "ul.dump", "id": next(_ids)}
    try:
        async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
                    http.post(rpc_url, json=payload) as response):
            if response.status in (401, 403):
                raise AuthFailed(rpc_url, "ul.dump", f"HTTP {response.status}")
            if response.status != 200:
                raise DeviceRejected(rpc_url, "ul.dump", f"HTTP {response.status}")
            answer = await response.json(content_type=None)
    except TimeoutError as e:
        raise DeviceTimeout(rpc_url, "ul.dump", f"no answer in {timeout:g}s") from e
    except aiohttp.ClientConnectionError as e:
        raise DeviceUnreachable(rpc_url, "ul.dump", str(e) or type(e).__name__) from e
    except (aiohttp.ClientError, ValueError) as e:
        raise DeviceRejected(rpc_url, "ul.dump", f"bad reply: {e}") from e

    if not isinstance(answer, dict):
        raise DeviceRejected(rpc_url, "ul.dump", "reply is not a JSON-RPC object")
    if "error" in answer:
        error = answer["error"] if isinstance(answer["error"], dict) else {}
        raise DeviceRejected(rpc_url, "ul.dump",
                             f"JSON-RPC error {error.get('code')}: {error.get('message')}")
    try:
        dump = _Dump.model_validate(answer.get("result"))
    except ValidationError as e:
        raise DeviceRejected(rpc_url, "ul.dump", f"unexpected ul.dump shape: "
                             f"{e.error_count()} problem(s), first: {e.errors()[0]['loc']}") from e
    registrations: list[PlatformRegistration] = []
    for wrap in dump.domains:
        for aor in wrap.domain.aors:
            for contact in aor.info.contacts:
                registration = _to_registration(aor.info.aor, contact.contact)
                if registration is not None:
                    registrations.append(registration)
    return registrations
