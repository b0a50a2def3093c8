"""LabRegistrar: a GB/T 28181 platform peer (SIP registrar + MANSCDP) for the lab.

It plays what a city/county platform does towards devices: digest-authenticated REGISTER with
a ``Date`` header for time sync, keepalive MESSAGEs, and paged Catalog queries. It also answers
Kamailio-compatible JSON-RPC ``ul.dump`` so safecity lists registrations identically against
the real Kamailio and the lab.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Self

from safecity.errors import LabError
from safecity.lab.sip.digest import build_challenge, check_authorization, new_nonce, parse_digest
from safecity.lab.sip.endpoint import Addr, SipEndpoint
from safecity.lab.sip.manscdp import (
    CONTENT_TYPE,
    ManscdpError,
    build_query,
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
    uri_hostport,
    uri_user,
)

log = logging.getLogger(__name__)

USER_AGENT = "safecity-lab-registrar/1"


@dataclass
class RegistrarSpec:
    name: str
    server_id: str                  # 20-digit SIP server ID
    domain: str                     # SIP domain = first 10 digits of server_id; digest realm
    host: str                       # loopback address to bind
    port: int = 5060
    subscribers: dict[str, str] = field(default_factory=dict)  # device_id -> password
    require_known: bool = True      # False: unknown device IDs register with any password
    rpc_port: int | None = None     # Kamailio-style JSON-RPC over HTTP (POST /RPC) if set
    qop: bool = False               # offer qop="auth" in challenges (as WVP does)
    min_expires: int = 1            # below this (and > 0): 423 Interval Too Brief
    max_expires: int = 86400
    nonce_ttl: float = 300.0

    def __post_init__(self) -> None:
        if len(self.server_id) != 20 or not self.server_id.isdigit():
            raise LabError(f"{self.name}: server_id must be 20 digits, got {self.server_id!r}")
        if not self.domain:
            self.domain = self.server_id[:10]


@dataclass
class Registration:
    device_id: str
    contact: str                    # Contact URI as registered (no <>)
    registered_at: float            # epoch seconds of the last successful REGISTER
    expires_at: float               # epoch seconds
    last_keepalive: float | None    # epoch seconds of the last keepalive MESSAGE
    source: Addr                    # where the REGISTER came from
    user_agent: str = ""
    call_id: str = ""
    cseq: int = 0
    register_count: int = 1         # 1 + refreshes


@dataclass
class CatalogItem:
    device_id: str
    name: str
    civil_code: str = ""
    parent_id: str = ""
    status: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class _CatalogCollector:
    items: dict[str, CatalogItem] = field(default_factory=dict)
    sum_num: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


def gb_date(now: float) -> str:
    """``yyyy-MM-ddTHH:mm:ss.SSS`` in local time, as GB/T 28181 platforms send in 200 OK."""
    moment = datetime.fromtimestamp(now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


RECEIVE_BUFFER = 1 << 20  # a platform takes registrations from a whole region at once; more only queues
# requests past the devices' 5 s transaction timeout (measured at 100k: 8 MB held ~13k REGISTERs)


class LabRegistrar:
    def __init__(self, spec: RegistrarSpec) -> None:
        self.spec = spec
        self._subscribers = dict(spec.subscribers)
        self._regs: dict[str, Registration] = {}
        self._nonces: dict[str, float] = {}
        self._collectors: dict[tuple[str, int], _CatalogCollector] = {}
        self._answers: dict[tuple[str, int], asyncio.Future[dict[str, str]]] = {}
        self._sn = itertools.count(1)
        self._tag = new_tag()
        self._fault: str | None = None
        self._endpoint: SipEndpoint | None = None
        self._rpc: object | None = None  # RpcServer, imported lazily (aiohttp is heavy)
        self.up_again = asyncio.Event()
        self.up_again.set()

    @classmethod
    async def start(cls, spec: RegistrarSpec) -> LabRegistrar:
        registrar = cls(spec)
        try:
            registrar._endpoint = await SipEndpoint.bind(spec.host, spec.port, registrar._handle,
                                                         receive_buffer=RECEIVE_BUFFER)
        except OSError as e:
            raise LabError(f"{spec.name}: cannot bind SIP {spec.host}:{spec.port}: {e}") from e
        if spec.rpc_port is not None:
            from safecity.lab.sip.rpc import RpcServer

            try:
                registrar._rpc = await RpcServer.start(registrar, spec.host, spec.rpc_port)
            except OSError as e:
                await registrar._endpoint.close()
                raise LabError(
                    f"{spec.name}: cannot bind JSON-RPC {spec.host}:{spec.rpc_port}: {e}") from e
        log.info("lab registrar %s on %s:%d", spec.name, spec.host, spec.port)
        return registrar

    @property
    def address(self) -> Addr:
        assert self._endpoint is not None
        return self._endpoint.local_addr

    # admin -----------------------------------------------------------------------------------
    def add_subscriber(self, device_id: str, password: str) -> None:
        self._subscribers[device_id] = password

    def remove_subscriber(self, device_id: str) -> None:
        self._subscribers.pop(device_id, None)
        self._regs.pop(device_id, None)

    def set_fault(self, fault: Literal["down"] | None) -> None:
        """``"down"``: stop answering SIP and JSON-RPC (as a crashed platform); None: recover."""
        if fault not in ("down", None):
            raise LabError(f"{self.spec.name}: unknown fault {fault!r}")
        self._fault = fault
        if self._endpoint is not None:
            self._endpoint.muted = fault == "down"
        if fault is None:
            self.up_again.set()
        else:
            self.up_again.clear()

    @property
    def fault(self) -> str | None:
        return self._fault

    def registrations(self) -> list[Registration]:
        self._purge_expired()
        return sorted(self._regs.values(), key=lambda r: r.device_id)

    def registration(self, device_id: str) -> Registration | None:
        # One lookup, not a purge of the whole table: every keepalive asks this, and a county
        # platform holds thousands of registrations.
        reg = self._regs.get(device_id)
        if reg is not None and reg.expires_at <= time.time():
            del self._regs[device_id]
            return None
        return reg

    async def close(self) -> None:
        self.up_again.set()  # release any JSON-RPC request parked by the "down" fault
        if self._rpc is not None:
            from safecity.lab.sip.rpc import RpcServer

            assert isinstance(self._rpc, RpcServer)
            await self._rpc.close()
            self._rpc = None
        if self._endpoint is not None:
            await self._endpoint.close()
            self._endpoint = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # catalog -----------------------------------------------------------------------------------
    async def query_catalog(self, device_id: str, timeout: float = 5.0) -> list[CatalogItem]:
        """Send Query/Catalog to the registered device, collect pages until SumNum items."""
        sn = next(self._sn)
        collector = _CatalogCollector()
        self._collectors[(device_id, sn)] = collector
        deadline = time.monotonic() + timeout
        try:
            await self._send_query("Catalog", device_id, sn, timeout)
            try:
                await asyncio.wait_for(collector.done.wait(),
                                       max(0.0, deadline - time.monotonic()))
            except TimeoutError as e:
                raise LabError(
                    f"{self.spec.name}: {device_id}: catalog incomplete: "
                    f"{len(collector.items)} of {collector.sum_num} items") from e
            return list(collector.items.values())
        finally:
            self._collectors.pop((device_id, sn), None)

    async def query_device(self, device_id: str, cmd_type: str = "DeviceStatus",
                           timeout: float = 5.0) -> dict[str, str]:
        """Query/DeviceStatus or Query/DeviceInfo; the flat Response fields (e.g. DeviceTime,
        the device's own clock, to check time sync)."""
        sn = next(self._sn)
        answer: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._answers[(device_id, sn)] = answer
        deadline = time.monotonic() + timeout
        try:
            await self._send_query(cmd_type, device_id, sn, timeout)
            try:
                return await asyncio.wait_for(answer, max(0.0, deadline - time.monotonic()))
            except TimeoutError as e:
                raise LabError(f"{self.spec.name}: {device_id}: no {cmd_type} response") from e
        finally:
            self._answers.pop((device_id, sn), None)

    async def _send_query(self, cmd_type: str, device_id: str, sn: int, timeout: float) -> None:
        reg = self.registration(device_id)
        if reg is None:
            raise LabError(f"{self.spec.name}: {device_id} is not registered")
        dest = uri_hostport(reg.contact) or reg.source
        assert self._endpoint is not None
        headers = SipHeaders()
        headers.add("Via", f"SIP/2.0/UDP {self.spec.host}:{self.address[1]};rport;"
                           f"branch={new_branch()}")
        headers.add("From", f"<sip:{self.spec.server_id}@{self.spec.domain}>;tag={new_tag()}")
        headers.add("To", f"<sip:{device_id}@{self.spec.domain}>")
        headers.add("Call-ID", f"{new_tag()}@{self.spec.host}")
        headers.add("CSeq", f"{sn} MESSAGE")
        headers.add("Max-Forwards", "70")
        headers.add("User-Agent", USER_AGENT)
        headers.add("Content-Type", CONTENT_TYPE)
        request = SipRequest("MESSAGE", f"sip:{device_id}@{dest[0]}:{dest[1]}", headers,
                             build_query(cmd_type, device_id, sn))
        try:
            answer = await self._endpoint.request(request, dest, timeout)
        except TimeoutError as e:
            raise LabError(f"{self.spec.name}: {device_id}: {cmd_type} query unanswered") from e
        if answer.status != 200:
            raise LabError(f"{self.spec.name}: {device_id}: {cmd_type} query refused: "
                           f"{answer.status} {answer.reason}")

    # SIP ---------------------------------------------------------------------------------------
    def _purge_expired(self) -> None:
        now = time.time()
        for device_id in [d for d, r in self._regs.items() if r.expires_at <= now]:
            del self._regs[device_id]

    def _response(self, request: SipRequest, status: int, reason: str | None = None
                  ) -> SipResponse:
        response = make_response(request, status, reason, to_tag=self._tag)
        response.headers.add("User-Agent", USER_AGENT)
        return response

    async def _handle(self, request: SipRequest, source: Addr) -> SipResponse | None:
        if self._fault == "down":
            return None
        if request.method == "REGISTER":
            return self._on_register(request, source)
        if request.method == "MESSAGE":
            return self._on_message(request)
        if request.method == "OPTIONS":
            return self._response(request, 200)
        if request.method == "ACK":
            return None
        response = self._response(request, 405)
        response.headers.add("Allow", "REGISTER, MESSAGE, OPTIONS")
        return response

    def _challenge(self, request: SipRequest, stale: bool = False) -> SipResponse:
        now = time.monotonic()
        # Nonces are issued in time order (dicts keep insertion order): expire from the front,
        # so a region-wide registration storm costs O(1) per challenge, not O(outstanding).
        while self._nonces:
            oldest = next(iter(self._nonces))
            if now - self._nonces[oldest] <= self.spec.nonce_ttl:
                break
            del self._nonces[oldest]
        nonce = new_nonce()
        self._nonces[nonce] = now
        response = self._response(request, 401)
        response.headers.add("WWW-Authenticate",
                             build_challenge(self.spec.domain, nonce, self.spec.qop, stale))
        return response

    def _on_register(self, request: SipRequest, source: Addr) -> SipResponse:
        to_value = request.headers.get("To") or ""
        device_id = uri_user(to_value)
        if not device_id:
            return self._response(request, 400, "Bad Request (no user in To)")
        authorization = request.headers.get("Authorization")
        params = parse_digest(authorization) if authorization else {}
        if not params:
            return self._challenge(request)
        issued = self._nonces.get(params.get("nonce", ""))
        if issued is None or time.monotonic() - issued > self.spec.nonce_ttl:
            return self._challenge(request, stale=True)
        if params.get("username") != device_id or params.get("realm") != self.spec.domain:
            return self._response(request, 403, "Forbidden (user or realm mismatch)")
        password = self._subscribers.get(device_id)
        if password is None:
            if self.spec.require_known:
                return self._response(request, 403, "Forbidden (unknown device)")
        elif not check_authorization(params, password=password, method="REGISTER"):
            return self._response(request, 403)

        contact_value = request.headers.get("Contact") or ""
        expires = self._requested_expires(request, contact_value)
        if expires is None:
            return self._response(request, 400, "Bad Request (bad Expires)")
        now = time.time()
        response = self._response(request, 200)
        if expires == 0 or contact_value.strip() == "*":
            self._regs.pop(device_id, None)
            response.headers.add("Date", gb_date(now))
            return response
        if expires < self.spec.min_expires:
            response = self._response(request, 423)
            response.headers.add("Min-Expires", str(self.spec.min_expires))
            return response
        expires = min(expires, self.spec.max_expires)
        contact_uri = contact_value
        if "<" in contact_value:
            contact_uri = contact_value.split("<", 1)[1].split(">", 1)[0]
        previous = self._regs.get(device_id)
        cseq = request.cseq[0]
        self._regs[device_id] = Registration(
            device_id=device_id, contact=contact_uri.strip(), registered_at=now,
            expires_at=now + expires,
            last_keepalive=previous.last_keepalive if previous else None,
            source=source, user_agent=request.headers.get("User-Agent") or "",
            call_id=request.call_id, cseq=cseq,
            register_count=(previous.register_count + 1) if previous else 1)
        response.headers.add("Contact", f"<{contact_uri.strip()}>;expires={expires}")
        response.headers.add("Expires", str(expires))
        response.headers.add("Date", gb_date(now))
        return response

    @staticmethod
    def _requested_expires(request: SipRequest, contact_value: str) -> int | None:
        text = header_param(contact_value, "expires") or request.headers.get("Expires")
        if text is None:
            return 3600
        text = text.strip()
        return int(text) if text.isdigit() and len(text) < 10 else None

    def _on_message(self, request: SipRequest) -> SipResponse:
        content_type = (request.headers.get("Content-Type") or "").lower()
        if "manscdp+xml" not in content_type:
            return self._response(request, 415)
        try:
            doc = parse_manscdp(request.body)
        except ManscdpError as e:
            return self._response(request, 400, f"Bad Request ({e})")
        sender = uri_user(request.headers.get("From") or "")
        if doc.kind == "Notify" and doc.cmd_type == "Keepalive":
            reg = self.registration(sender)
            if reg is None:
                # Tells the device to register again (what WVP-style platforms do).
                return self._response(request, 404, "Not Found (not registered)")
            reg.last_keepalive = time.time()
            return self._response(request, 200)
        if doc.kind == "Response" and doc.cmd_type == "Catalog":
            collector = self._collectors.get((doc.device_id, doc.sn))
            if collector is not None:
                self._collect(collector, doc.fields.get("SumNum", ""), doc.items)
            return self._response(request, 200)
        if doc.kind == "Response":
            pending = self._answers.get((doc.device_id, doc.sn))
            if pending is not None and not pending.done():
                pending.set_result(dict(doc.fields))
        return self._response(request, 200)

    @staticmethod
    def _collect(collector: _CatalogCollector, sum_num: str,
                 items: list[dict[str, str]]) -> None:
        if sum_num.isdigit():
            collector.sum_num = int(sum_num)
        for raw in items:
            fields = dict(raw)
            device_id = fields.pop("DeviceID", "")
            if not device_id:
                continue
            collector.items[device_id] = CatalogItem(
                device_id=device_id, name=fields.pop("Name", ""),
                civil_code=fields.pop("CivilCode", ""), parent_id=fields.pop("ParentID", ""),
                status=fields.pop("Status", ""), extra=fields)
        if collector.sum_num is not None and len(collector.items) >= collector.sum_num:
            collector.done.set()
