"""LabGbDevice: the GB/T 28181 device-side user agent a simulated camera runs.

Registers with digest auth (401 -> same Call-ID, CSeq+1, Authorization), refreshes before
expiry, sends keepalive MESSAGEs, answers Catalog (paged), DeviceStatus and DeviceInfo
queries, retries after failures and de-registers on stop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from safecity.errors import LabError
from safecity.lab.sip.digest import build_authorization, parse_digest
from safecity.lab.sip.endpoint import Addr, SipEndpoint
from safecity.lab.sip.manscdp import (
    CONTENT_TYPE,
    ManscdpError,
    build_catalog_response,
    build_keepalive,
    build_response,
    parse_manscdp,
)
from safecity.lab.sip.message import (
    SipHeaders,
    SipRequest,
    SipResponse,
    header_param,
    make_response,
    new_branch,
    new_tag,
    uri_user,
)

log = logging.getLogger(__name__)

USER_AGENT = "safecity-lab-ipc/1"
STATES = ("idle", "registering", "registered", "auth_failed", "unreachable")


@dataclass
class GbAccessConfig:
    enabled: bool
    server_id: str
    server_domain: str
    server_host: str
    server_port: int
    device_id: str          # also the auth username
    password: str = field(repr=False)
    local_host: str         # the device's own loopback address
    local_port: int = 5060
    expires: int = 3600
    heartbeat_interval: float = 60.0
    heartbeat_count: int = 3
    channels: list[tuple[str, str]] = field(default_factory=list)  # (20-digit id, name)
    civil_code: str = ""    # for catalog items
    # Beyond the device web UI's settings: behaviour knobs with standard defaults.
    retry_interval: float = 60.0        # GB/T 28181-2022: retry after failure >= 60 s
    response_timeout: float = 5.0       # how long one request waits for its final answer
    catalog_page_size: int = 4
    manufacturer: str = "safecity-lab"
    model: str = "IPC-LAB"


class LabGbDevice:
    def __init__(self, config: GbAccessConfig,
                 clock_offset: Callable[[], float] = lambda: 0.0) -> None:
        self._config = config
        self._clock_offset = clock_offset
        self._state = "idle"
        self._changed = asyncio.Event()
        self._endpoint: SipEndpoint | None = None
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._call_id = ""
        self._cseq = itertools.count(1)
        self._sn = itertools.count(1)
        self.platform_clock_offset: float | None = None  # platform Date minus device clock
        self.register_count = 0     # successful (re-)registrations since start
        self.keepalives_answered = 0
        self.last_status: int | None = None  # final status of the last REGISTER

    @property
    def config(self) -> GbAccessConfig:
        return self._config

    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        if state != self._state:
            log.debug("gb device %s: %s -> %s", self._config.device_id, self._state, state)
            self._state = state
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_for_state(self, *states: str, timeout: float) -> str:
        """Wait until the state is one of ``states`` (raises TimeoutError)."""
        async with asyncio.timeout(timeout):
            while self._state not in states:
                await self._changed.wait()
        return self._state

    def _device_now(self) -> float:
        return time.time() + self._clock_offset()

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None or not self._config.enabled:
            return
        cfg = self._config
        try:
            self._endpoint = await SipEndpoint.bind(cfg.local_host, cfg.local_port, self._handle)
        except OSError as e:
            raise LabError(f"{cfg.device_id}: cannot bind SIP {cfg.local_host}:"
                           f"{cfg.local_port}: {e}") from e
        self._call_id = f"{new_tag()}@{cfg.local_host}"
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def reconfigure(self, config: GbAccessConfig) -> None:
        """Apply new settings: de-register from the old platform, then start again if enabled."""
        await self.stop()
        self._config = config
        await self.start()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for side in list(self._side_tasks):
            side.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)
        if self._endpoint is not None:
            if self._state == "registered":
                try:
                    await self._register(0, timeout=min(self._config.response_timeout, 2.0))
                except TimeoutError:
                    log.debug("gb device %s: de-register unanswered", self._config.device_id)
            await self._endpoint.close()
            self._endpoint = None
        self._set_state("idle")

    # registration loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        cfg = self._config
        while True:
            self._set_state("registering")
            granted = await self._try_register()
            if granted is not None and await self._stay_registered(granted) == "reregister":
                continue
            await asyncio.sleep(cfg.retry_interval)

    async def _try_register(self) -> int | None:
        """REGISTER; returns the granted expiry, or None after setting a failure state."""
        try:
            response = await self._register(self._config.expires)
            if response.status == 423:  # Interval Too Brief: use the platform's minimum
                minimum = response.headers.get("Min-Expires") or ""
                if minimum.isdigit():
                    response = await self._register(int(minimum))
        except TimeoutError:
            self._set_state("unreachable")
            return None
        self.last_status = response.status
        if response.status != 200:
            # 401 after answering the challenge, or 403: the platform refuses our credentials.
            self._set_state("auth_failed" if response.status in (401, 403, 404) else
                            "unreachable")
            return None
        self._note_platform_date(response.headers.get("Date"))
        self.register_count += 1
        self._set_state("registered")
        return self._granted_expires(response)

    async def _stay_registered(self, granted: int) -> str | None:
        """Keepalives until a refresh fails, keepalives go unanswered, or one is refused."""
        cfg = self._config
        refresh_at = time.monotonic() + max(granted * 0.5, granted - 60)
        misses = 0
        next_beat = time.monotonic() + cfg.heartbeat_interval
        while True:
            now = time.monotonic()
            if now >= refresh_at:
                granted_again = await self._try_register()
                if granted_again is None:
                    return None
                granted = granted_again
                refresh_at = time.monotonic() + max(granted * 0.5, granted - 60)
                continue
            if now < next_beat:
                await asyncio.sleep(min(next_beat, refresh_at) - now)
                continue
            next_beat = now + cfg.heartbeat_interval
            try:
                answer = await self._send_keepalive(min(cfg.response_timeout,
                                                        cfg.heartbeat_interval))
            except TimeoutError:
                misses += 1
                if misses >= cfg.heartbeat_count:
                    self._set_state("unreachable")
                    return None
                continue
            if answer.status != 200:
                return "reregister"  # the platform forgot us: register again now
            misses = 0
            self.keepalives_answered += 1

    def _granted_expires(self, response: SipResponse) -> int:
        contact = response.headers.get("Contact") or ""
        text = header_param(contact, "expires") or response.headers.get("Expires") or ""
        return int(text) if text.isdigit() and int(text) > 0 else self._config.expires

    def _note_platform_date(self, date: str | None) -> None:
        if not date:
            return
        for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
            try:
                platform = datetime.strptime(date.strip(), fmt).timestamp()
            except ValueError:
                continue
            self.platform_clock_offset = platform - self._device_now()
            return

    # requests we send --------------------------------------------------------------------------
    def _base_headers(self, method: str, to_uri: str, call_id: str) -> SipHeaders:
        cfg = self._config
        assert self._endpoint is not None
        port = self._endpoint.local_addr[1]
        headers = SipHeaders()
        headers.add("Via", f"SIP/2.0/UDP {cfg.local_host}:{port};rport;branch={new_branch()}")
        headers.add("From", f"<sip:{cfg.device_id}@{cfg.server_domain}>;tag={new_tag()}")
        headers.add("To", f"<{to_uri}>")
        headers.add("Call-ID", call_id)
        headers.add("CSeq", f"{next(self._cseq)} {method}")
        headers.add("Max-Forwards", "70")
        headers.add("User-Agent", USER_AGENT)
        return headers

    @property
    def _server(self) -> Addr:
        return self._config.server_host, self._config.server_port

    async def _register(self, expires: int, timeout: float | None = None) -> SipResponse:
        cfg = self._config
        assert self._endpoint is not None
        wait = timeout if timeout is not None else cfg.response_timeout
        uri = f"sip:{cfg.server_id}@{cfg.server_domain}"
        aor = f"sip:{cfg.device_id}@{cfg.server_domain}"
        port = self._endpoint.local_addr[1]
        headers = self._base_headers("REGISTER", aor, self._call_id)
        headers.add("Contact", f"<sip:{cfg.device_id}@{cfg.local_host}:{port}>")
        headers.add("Expires", str(expires))
        request = SipRequest("REGISTER", uri, headers)
        response = await self._endpoint.request(request, self._server, wait)
        # One answer per challenge; a second round only when the first nonce went stale.
        for _round in range(2):
            challenge_header = response.headers.get("WWW-Authenticate")
            if response.status != 401 or not challenge_header:
                return response
            challenge = parse_digest(challenge_header)
            if _round and challenge.get("stale", "").lower() != "true":
                return response  # our answer was refused: wrong credentials
            # Same Call-ID and From tag, CSeq + 1, new branch, with the challenge answered.
            retry_headers = SipHeaders(list(headers.items))
            retry_headers.set("Via", f"SIP/2.0/UDP {cfg.local_host}:{port};rport;"
                                     f"branch={new_branch()}")
            retry_headers.set("CSeq", f"{next(self._cseq)} REGISTER")
            retry_headers.add("Authorization", build_authorization(
                challenge, username=cfg.device_id, password=cfg.password, method="REGISTER",
                uri=uri))
            response = await self._endpoint.request(
                SipRequest("REGISTER", uri, retry_headers), self._server, wait)
        return response

    async def _send_message(self, body: bytes, dest: Addr, timeout: float) -> SipResponse:
        cfg = self._config
        assert self._endpoint is not None
        server_uri = f"sip:{cfg.server_id}@{cfg.server_domain}"
        headers = self._base_headers("MESSAGE", server_uri, f"{new_tag()}@{cfg.local_host}")
        headers.add("Content-Type", CONTENT_TYPE)
        return await self._endpoint.request(SipRequest("MESSAGE", server_uri, headers, body),
                                            dest, timeout)

    async def _send_keepalive(self, timeout: float) -> SipResponse:
        body = build_keepalive(self._config.device_id, next(self._sn))
        return await self._send_message(body, self._server, timeout)

    # requests we answer ---------------------------------------------------------------------------
    async def _handle(self, request: SipRequest, source: Addr) -> SipResponse | None:
        if request.method == "OPTIONS":
            return make_response(request, 200, to_tag=new_tag())
        if request.method == "ACK":
            return None
        if request.method != "MESSAGE":
            response = make_response(request, 405, to_tag=new_tag())
            response.headers.add("Allow", "MESSAGE, OPTIONS")
            return response
        if "manscdp+xml" not in (request.headers.get("Content-Type") or "").lower():
            return make_response(request, 415, to_tag=new_tag())
        # Only our platform may query us (it identifies itself by its 20-digit ID).
        if uri_user(request.headers.get("From") or "") != self._config.server_id:
            return make_response(request, 403, to_tag=new_tag())
        try:
            doc = parse_manscdp(request.body)
        except ManscdpError as e:
            return make_response(request, 400, f"Bad Request ({e})", to_tag=new_tag())
        if doc.kind == "Query":
            # Answer 200 now; the result travels in our own MESSAGE(s) to whoever asked.
            task = asyncio.get_running_loop().create_task(
                self._answer_query(doc.cmd_type, doc.sn, source))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)
        return make_response(request, 200, to_tag=new_tag())

    async def _answer_query(self, cmd_type: str, sn: int, dest: Addr) -> None:
        cfg = self._config
        bodies: list[bytes] = []
        if cmd_type == "Catalog":
            items = [self._catalog_item(cid, name) for cid, name in cfg.channels]
            size = max(1, cfg.catalog_page_size)
            pages = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
            bodies = [build_catalog_response(cfg.device_id, sn, len(items), page)
                      for page in pages]
        elif cmd_type == "DeviceStatus":
            device_time = datetime.fromtimestamp(self._device_now()).strftime("%Y-%m-%dT%H:%M:%S")
            bodies = [build_response("DeviceStatus", cfg.device_id, sn, {
                "Result": "OK", "Online": "ONLINE", "Status": "OK", "DeviceTime": device_time})]
        elif cmd_type == "DeviceInfo":
            bodies = [build_response("DeviceInfo", cfg.device_id, sn, {
                "Result": "OK", "DeviceName": cfg.device_id, "Manufacturer": cfg.manufacturer,
                "Model": cfg.model, "Firmware": "lab", "Channel": str(len(cfg.channels))})]
        for body in bodies:
            try:
                await self._send_message(body, dest, cfg.response_timeout)
            except TimeoutError:
                log.debug("gb device %s: %s answer unacknowledged", cfg.device_id, cmd_type)
                return

    def _catalog_item(self, channel_id: str, name: str) -> dict[str, str]:
        cfg = self._config
        return {
            "DeviceID": channel_id, "Name": name, "Manufacturer": cfg.manufacturer,
            "Model": cfg.model, "Owner": "Owner",
            "CivilCode": cfg.civil_code or cfg.device_id[:6], "Address": "Address",
            "Parental": "0", "ParentID": cfg.device_id, "SafetyWay": "0", "RegisterWay": "1",
            "Secrecy": "0", "Status": "ON",
        }
