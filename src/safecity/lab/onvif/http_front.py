"""The one aiohttp application every simulated device shares.

A device is found by the local address the request arrived on (each device listens on its own
loopback address), so thousands of devices cost one application, one router and one listening
socket each. The front applies faults, picks the protocol (ONVIF SOAP, ISAPI, snapshot) and
authenticates; the protocol modules hold the device behaviour.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from aiohttp import web
from lxml import etree

from safecity.lab.onvif import dahua_cgi, device_service, isapi, media_service
from safecity.lab.onvif.auth import digest_challenge, verify_http_auth, verify_username_token
from safecity.lab.onvif.device import LEVEL_RANK, After, SimDevice
from safecity.lab.onvif.device_service import Handler
from safecity.lab.onvif.soap import (
    CONTENT_TYPE,
    MAX_BODY,
    TDS,
    TR2,
    TRT,
    SoapFault,
    action_not_supported,
    envelope,
    not_authorized,
    parse_request,
)
from safecity.lab.onvif.spec import Stream
from safecity.lab.onvif.state import Account

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = f"{CONTENT_TYPE}; charset=utf-8"
_SERVICES: dict[str, tuple[str, Mapping[str, tuple[Handler, str]]]] = {
    "/onvif/device_service": (TDS, device_service.OPERATIONS),
    "/onvif/media_service": (TRT, media_service.MEDIA10),
    "/onvif/media2_service": (TR2, media_service.MEDIA20),
}
# What a factory-new (inactive) or ONVIF-disabled device still answers.
_PRE_ACTIVATION_OPS = ("GetSystemDateAndTime", "GetDeviceInformation")


class DeviceDirectory(Protocol):
    def lookup(self, host: str, port: int) -> SimDevice | None: ...

    def schedule(self, dev: SimDevice, after: After) -> None: ...


class _Dropped(Exception):
    """The connection was cut on purpose (offline device, drop fault)."""


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
    raise _Dropped


def build_app(directory: DeviceDirectory) -> web.Application:
    front = HttpFront(directory)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_drop_middleware])
    app.router.add_route("*", "/{tail:.*}", front.handle)
    return app


@web.middleware
async def _drop_middleware(request: web.Request, handler: Callable[
        [web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Dropped:
        # Nothing may be written: the transport is gone. aiohttp ignores a closed transport.
        return web.Response(status=499)


class HttpFront:
    def __init__(self, directory: DeviceDirectory) -> None:
        self.directory = directory

    async def handle(self, request: web.Request) -> web.StreamResponse:
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        dev = self.directory.lookup(sock[0], sock[1]) if sock else None
        if dev is None or dev.phase != "up" or "offline" in dev.faults:
            _abort(request)  # a keep-alive connection to a device that went away
        assert dev is not None
        slow = dev.faults.get("slow")
        if slow:
            await asyncio.sleep(float(slow))
        dev.requests += 1
        drop_after = dev.faults.get("drop") if "drop" in dev.faults else None
        if "drop" in dev.faults and dev.requests > int(drop_after or 0):
            return await self._cut_mid_response(request)
        declared = request.content_length
        if declared is not None and declared > MAX_BODY:
            return web.Response(status=413, text="request body too large")
        path = request.path
        if path in _SERVICES:
            return await self._soap(request, dev, path)
        if path in dahua_cgi.PAGES and dev.spec.profile.behaviour is not None \
                and dev.spec.profile.behaviour.gb28181_api == "dahua_cgi":
            return await self._dahua_cgi(request, dev)
        if dev.spec.profile.behaviour is not None and (
                dev.spec.profile.behaviour.activation == "isapi"
                or dev.spec.profile.behaviour.gb28181_api == "isapi") and (
                path.startswith(("/ISAPI/", "/SDK/"))) \
                and not self._is_snapshot(dev, request):
            return await self._isapi(request, dev)
        if request.method == "GET" and self._is_snapshot(dev, request):
            return await self._snapshot(request, dev)
        return web.Response(status=404, text="not found")

    async def _cut_mid_response(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": SOAP_CONTENT_TYPE})
        resp.content_length = 4096
        await resp.prepare(request)
        await resp.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope')
        _abort(request)
        return resp  # unreachable

    # ---- SOAP -------------------------------------------------------------------------------
    async def _soap(self, request: web.Request, dev: SimDevice, path: str) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="request body too large")
        namespace, ops = _SERVICES[path]
        headers: dict[str, str] = {}
        try:
            if path == "/onvif/media2_service" and not dev.spec.uses_media2:
                raise SoapFault("Receiver", ("ActionNotSupported", "NoSuchService"),
                                "media2 not supported")
            req = parse_request(raw)
            entry = ops.get(req.operation) if req.namespace == namespace else None
            if entry is None:
                raise action_not_supported(req.operation)
            handler, min_level = entry
            gated = not (dev.state.active and dev.state.onvif_enabled)
            if gated and req.operation not in _PRE_ACTIVATION_OPS:
                raise not_authorized("device not activated" if not dev.state.active
                                     else "ONVIF is disabled on this device")
            if not (gated or min_level == "Anonymous"):
                account = self._onvif_auth(request, dev, req.security, headers)
                if LEVEL_RANK[account.level] < LEVEL_RANK[min_level]:
                    raise not_authorized(f"{req.operation} needs {min_level} level")
            if dev.faults.get("reject") == req.operation:
                raise SoapFault("Sender", ("InvalidArgVal", "OperationProhibited"),
                                f"{req.operation} refused by the device")
            try:
                reply = handler(dev, req.body)
            except SoapFault:
                raise
            except Exception as e:
                log.exception("%s: %s failed", dev.name, req.operation)
                raise SoapFault("Receiver", (), f"internal error: {type(e).__name__}") from e
        except SoapFault as fault:
            status = fault.http_status
            if fault.subcodes[:1] == ("NotAuthorized",) and "WWW-Authenticate" in headers:
                status = 401
            return web.Response(status=status, text=fault.envelope(), headers={
                **headers, "Content-Type": SOAP_CONTENT_TYPE})
        body, after = reply if isinstance(reply, tuple) else (reply, None)
        resp = web.Response(status=200, text=envelope(body),
                            headers={"Content-Type": SOAP_CONTENT_TYPE})
        if after is not None:
            self.directory.schedule(dev, after)
        return resp

    def _onvif_auth(self, request: web.Request, dev: SimDevice, security: etree._Element | None,
                    headers: dict[str, str]) -> Account:
        accounts = dev.onvif_accounts()
        if security is not None:
            b = dev.spec.profile.behaviour
            return verify_username_token(
                security, accounts, dev.now(), dev.nonces,
                allow_text=dev.spec.allow_password_text,
                require_zulu=b is not None and b.onvif.timestamp_utc_z,
                password_override=dev.credentials_override,
                broken_passwords=dev.credentials_broken,
                extra_password=dev.credentials_extra)
        if dev.http_auth in ("digest", "basic"):
            # ONVIF allows HTTP digest instead of WS-Security when the message carries none.
            result = verify_http_auth(
                request.headers.get("Authorization"), request.method, request.path_qs,
                dev.realm, accounts, allow_basic=dev.http_auth == "basic",
                allow_digest=dev.http_auth == "digest",
                password_override=dev.credentials_override,
                broken_passwords=dev.credentials_broken,
                extra_password=dev.credentials_extra)
            if result.account is not None:
                return result.account
            headers["WWW-Authenticate"] = self._challenge(dev, result.stale)
        raise not_authorized()

    # ---- vendor HTTP ------------------------------------------------------------------------
    def _challenge(self, dev: SimDevice, stale: bool = False) -> str:
        if dev.http_auth == "basic":
            return f'Basic realm="{dev.realm}"'
        return digest_challenge(dev.realm, stale)

    def _http_account(self, request: web.Request, dev: SimDevice,
                      accounts: list[Account]) -> tuple[Account | None, bool]:
        mode = dev.http_auth
        result = verify_http_auth(
            request.headers.get("Authorization"), request.method, request.path_qs, dev.realm,
            accounts, allow_basic=mode in ("basic", "none"), allow_digest=mode in ("digest", "none"),
            password_override=dev.credentials_override, broken_passwords=dev.credentials_broken,
            extra_password=dev.credentials_extra)
        return result.account, result.stale

    def _unauthorized(self, dev: SimDevice, stale: bool, body: str = "") -> web.Response:
        return web.Response(status=401, text=body or "unauthorized",
                            headers={"WWW-Authenticate": self._challenge(dev, stale)})

    async def _isapi(self, request: web.Request, dev: SimDevice) -> web.StreamResponse:
        method, path = request.method, request.path
        key = (method, path)
        handler = isapi.ANONYMOUS.get(key)
        if handler is None:
            table = dict(isapi.AUTHENTICATED)
            if dev.spec.separate_onvif_users:
                table.update(isapi.ONVIF_USERS)
            handler = table.get(key) or table.get((method, path.rsplit("/", 1)[0] + "/*"))
            if handler is None:
                return self._isapi_reply(path, 404, isapi.response_status(
                    path, 4, "notSupport", "Invalid Operation"))
            if not dev.state.active:
                return self._unauthorized(dev, False, isapi.response_status(
                    path, 4, "notActivated", "Device not activated"))
            account, stale = self._http_account(request, dev, dev.state.users)
            if account is None:
                return self._unauthorized(dev, stale)
            if method in isapi.ADMIN_METHODS and account.level != "Administrator":
                return self._isapi_reply(path, 403, isapi.response_status(
                    path, 4, "noPermission", "Invalid Operation"))
        if dev.faults.get("reject") in (path, f"{method} {path}"):
            return self._isapi_reply(path, 403, isapi.response_status(
                path, 4, "operationProhibited", "Invalid Operation"))
        body = await request.read() if request.can_read_body else b""
        try:
            status, text, after = handler(dev, path, body)
        except isapi.IsapiError as e:
            return self._isapi_reply(path, e.http_status, isapi.response_status(
                path, e.status_code, e.sub, str(e)))
        if after is not None:
            self.directory.schedule(dev, after)
        return self._isapi_reply(path, status, text)

    async def _dahua_cgi(self, request: web.Request, dev: SimDevice) -> web.StreamResponse:
        def reply(status: int, text: str) -> web.Response:
            return web.Response(status=status, text=text, content_type=dahua_cgi.TEXT_TYPE)

        if request.method != "GET":
            return reply(405, dahua_cgi.error_text("Method Not Allowed"))
        # Digest covers the request-target exactly as sent (query values percent-encoded).
        result = verify_http_auth(
            request.headers.get("Authorization"), request.method, request.raw_path, dev.realm,
            dev.state.users, allow_basic=False, allow_digest=True,
            password_override=dev.credentials_override, broken_passwords=dev.credentials_broken,
            extra_password=dev.credentials_extra)
        if result.account is None:
            return web.Response(status=401, text=dahua_cgi.error_text("Unauthorized"),
                                content_type=dahua_cgi.TEXT_TYPE, headers={
                                    "WWW-Authenticate": digest_challenge(dev.realm, result.stale)})
        query = dict(request.query.items())
        if dahua_cgi.admin_only(query) and result.account.level != "Administrator":
            return reply(403, dahua_cgi.error_text("No Authority"))
        action = dahua_cgi.action_for(request.path, query.get("action", ""))
        if action is None:
            return reply(400, dahua_cgi.error_text("Bad Request!"))
        if dev.faults.get("reject") in (request.path, f"{query.get('action')} {request.path}"):
            return reply(400, dahua_cgi.error_text("Operation not allowed"))
        try:
            status, text, after = action(dev, query)
        except dahua_cgi.CgiError as e:
            return reply(400, dahua_cgi.error_text(str(e)))
        if after is not None:
            self.directory.schedule(dev, after)
        return reply(status, text)

    @staticmethod
    def _isapi_reply(path: str, status: int, text: str) -> web.Response:
        return web.Response(status=status, text=text, content_type=isapi.XML_TYPE)

    # ---- snapshot -----------------------------------------------------------------------------
    @staticmethod
    def _snapshot_channel(dev: SimDevice, request: web.Request) -> tuple[int, Stream] | None:
        """(channel, stream) of a snapshot URL: the sub stream's exact path first (Dahua-like
        ones differ from the main one only in the query)."""
        for ch in range(1, dev.spec.channel_count + 1):
            sub = media_service.snapshot_sub_path(dev.spec.profile, ch)
            if sub is not None and sub == request.path_qs:
                return ch, "sub"
            p = media_service.snapshot_path(dev.spec.profile, ch)
            if p == request.path_qs or p == request.path:
                return ch, "main"
        return None

    def _is_snapshot(self, dev: SimDevice, request: web.Request) -> bool:
        return self._snapshot_channel(dev, request) is not None

    async def _snapshot(self, request: web.Request, dev: SimDevice) -> web.StreamResponse:
        found = self._snapshot_channel(dev, request)
        assert found is not None
        ch, stream = found
        if not dev.state.active:
            return self._unauthorized(dev, False)
        if dev.http_auth != "none":
            account, stale = self._http_account(request, dev, dev.state.users)
            if account is None:
                # Separate-user vendors let ONVIF users fetch the snapshot URI they were given.
                if dev.spec.separate_onvif_users:
                    account, stale = self._http_account(request, dev, dev.state.onvif_users)
                if account is None:
                    return self._unauthorized(dev, stale)
        provider = dev.spec.snapshot
        if provider is None:
            return web.Response(status=503, text="no video signal")
        # A rendered frame is served from the loop; drawing one (~10 ms) goes to a thread.
        # A provider of the main picture alone (tests) takes just the channel.
        args: tuple[int] | tuple[int, Stream] = (ch,) if stream == "main" else (ch, stream)
        cached = getattr(provider, "cached", None)
        jpeg = cached(*args) if cached is not None else None
        if jpeg is not None:
            return web.Response(body=jpeg, content_type="image/jpeg")
        try:
            jpeg = await asyncio.to_thread(provider, *args)
        except Exception as e:  # noqa: BLE001 - the media generator's bug is a 500, not a dead lab
            log.warning("%s: snapshot provider failed: %s", dev.name, e)
            return web.Response(status=500, text="snapshot failed")
        return web.Response(body=jpeg, content_type="image/jpeg")
