"""``AlarmLab``: many simulated alarm hosts behind one aiohttp application.

Each host listens on its own loopback address (the request's local address picks the device),
so a thousand hosts cost one application and one listening socket each, plus the SIP socket of
its GB/T 28181 agent while the access settings are complete.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from safecity.errors import LabError
from safecity.lab.addressing import require_loopback
from safecity.lab.alarm.api import ApiError, device_info, merge_settings, settings_json
from safecity.lab.alarm.spec import AlarmHostSpec
from safecity.lab.alarm.state import AlarmState, load_state, save_state
from safecity.lab.onvif.auth import digest_challenge, verify_http_auth
from safecity.lab.onvif.gb_bridge import GbAgents
from safecity.lab.onvif.state import Account

log = logging.getLogger(__name__)

AddressMap = Callable[[str], str]
FAULTS = ("offline", "slow", "wrong_credentials")
MAX_BODY = 64 * 1024
_JSON = "application/json"


class AlarmHost:
    """One alarm host at run time."""

    def __init__(self, spec: AlarmHostSpec, state: AlarmState, path: Path) -> None:
        self.spec, self.state, self.path = spec, state, path
        self.faults: dict[str, str | None] = {}
        self.up = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def realm(self) -> str:
        return f"alarm-{self.spec.serial}"

    def persist(self) -> None:
        save_state(self.path, self.state)

    def gb_config(self, address_map: AddressMap) -> Any | None:
        """The user agent's config, or None when the host is down or its settings incomplete."""
        from safecity.lab.sip.device import GbAccessConfig

        g = self.state.gb28181
        if not self.up or not g.complete:
            return None
        device_id = g.device_id or g.auth_id
        host = self.spec.hostname
        items = [(cid, f"{host} alarm in {i}") for i, cid in enumerate(g.alarm_in_ids, 1)]
        items += [(cid, f"{host} alarm out {i}") for i, cid in enumerate(g.alarm_out_ids, 1)]
        return GbAccessConfig(
            enabled=True, server_id=g.server_id, server_domain=g.server_domain,
            server_host=address_map(g.registrar), server_port=g.registrar_port,
            device_id=device_id, password=g.password, local_host=self.spec.host,
            local_port=g.local_port, expires=g.expires, heartbeat_interval=float(g.heartbeat_time),
            heartbeat_count=g.heartbeat_count, channels=items, civil_code=device_id[:6],
            manufacturer=self.spec.profile.vendor, model=self.spec.profile.model)

    def clock_offset(self) -> float:
        return self.spec.clock_offset_s


class AlarmLab:
    def __init__(self, state_dir: Path, address_map: AddressMap) -> None:
        self.state_dir = state_dir
        self.address_map = address_map
        self.hosts: dict[str, AlarmHost] = {}
        self._by_addr: dict[tuple[str, int], AlarmHost] = {}
        self._sites: dict[str, web.TCPSite] = {}
        self._runner: web.AppRunner | None = None
        self._gb = GbAgents(address_map)
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, specs: Sequence[AlarmHostSpec], state_dir: Path,
                    address_map: AddressMap) -> AlarmLab:
        lab = cls(Path(state_dir), address_map)
        lab.state_dir.mkdir(parents=True, exist_ok=True)
        if len({s.name for s in specs}) != len(specs):
            raise LabError("duplicate alarm host names in the lab")
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", lab._handle)
        lab._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                    shutdown_timeout=1.0)
        await lab._runner.setup()
        try:
            for spec in specs:
                require_loopback(spec.host, spec.name)
                path = lab.state_dir / f"{spec.name}.json"
                host = AlarmHost(spec, load_state(path, spec), path)
                host.persist()
                lab.hosts[spec.name] = host
            await asyncio.gather(*(lab._bring_up(h) for h in lab.hosts.values()))
        except BaseException:
            await lab.close()
            raise
        return lab

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._gb.stop_all()
        self._by_addr.clear()
        self._sites.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def settle(self) -> None:
        """Wait until scheduled re-registrations have finished (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- up and down -------------------------------------------------------------------------
    async def _bring_up(self, h: AlarmHost) -> None:
        assert self._runner is not None
        key = (h.spec.host, h.spec.http_port)
        site = web.TCPSite(self._runner, h.spec.host, h.spec.http_port, reuse_address=True,
                           backlog=64)
        try:
            await site.start()
        except OSError as e:
            raise LabError(f"{h.name}: cannot listen on {key[0]}:{key[1]}: {e}") from e
        self._sites[h.name] = site
        self._by_addr[key] = h
        h.up = True
        await self._sync(h)

    async def _bring_down(self, h: AlarmHost) -> None:
        h.up = False
        site = self._sites.pop(h.name, None)
        if site is not None:
            self._by_addr.pop((h.spec.host, h.spec.http_port), None)
            await site.stop()
        await self._gb.stop_agent(h.name)

    async def _sync(self, h: AlarmHost) -> None:
        await self._gb.sync_config(h.name, lambda: h.gb_config(self.address_map), h.clock_offset)

    def _spawn(self, aw: Awaitable[None]) -> None:
        async def run() -> None:
            await aw

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- HTTP --------------------------------------------------------------------------------
    @staticmethod
    def _json(status: int, doc: dict[str, Any], headers: dict[str, str] | None = None
              ) -> web.Response:
        return web.Response(status=status, text=json.dumps(doc), content_type=_JSON,
                            headers=headers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        h = self._by_addr.get((sock[0], sock[1])) if sock else None
        if h is None or not h.up or "offline" in h.faults:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=499)
        slow = h.faults.get("slow")
        if slow:
            await asyncio.sleep(float(slow))
        broken = "wrong_credentials" in h.faults
        result = verify_http_auth(
            request.headers.get("Authorization"), request.method, request.raw_path, h.realm,
            [Account(h.spec.username, h.spec.password, "Administrator")], allow_basic=False,
            allow_digest=True, password_override=h.faults.get("wrong_credentials"),
            broken_passwords=broken)
        if result.account is None:
            return self._json(401, {"error": "unauthorized"}, {
                "WWW-Authenticate": digest_challenge(h.realm, result.stale)})
        route = (request.method, request.path)
        if route == ("GET", "/api/device"):
            return self._json(200, device_info(h.spec, h.spec.hostname))
        if route == ("GET", "/api/gb28181"):
            return self._json(200, settings_json(h.state.gb28181))
        if route == ("PUT", "/api/gb28181"):
            return await self._put_gb(request, h)
        if request.path in ("/api/device", "/api/gb28181"):
            return self._json(405, {"error": f"{request.method} not allowed"})
        return self._json(404, {"error": "not found"})

    async def _put_gb(self, request: web.Request, h: AlarmHost) -> web.Response:
        try:
            body = json.loads(await request.read() or b"null")
        except (ValueError, web.HTTPRequestEntityTooLarge):
            return self._json(400, {"error": "body: not a JSON object"})
        if not isinstance(body, dict):
            return self._json(400, {"error": "body: not a JSON object"})
        try:
            h.state.gb28181 = merge_settings(h.spec, h.state.gb28181, body)
        except ApiError as e:
            return self._json(400, {"error": str(e)})
        h.persist()
        self._spawn(self._sync(h))  # after the reply: a saved page re-registers
        return self._json(200, {"status": "ok"})

    # ---- faults ------------------------------------------------------------------------------
    def _host(self, name: str) -> AlarmHost:
        try:
            return self.hosts[name]
        except KeyError:
            raise LabError(f"no lab alarm host named {name!r}") from None

    def set_fault(self, name: str, fault: str, value: str | None = None) -> None:
        h = self._host(name)
        if fault not in FAULTS:
            raise LabError(f"{name}: unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        if fault == "slow":
            try:
                float(value or "")
            except ValueError:
                raise LabError(f"{name}: fault slow needs a number of seconds") from None
        h.faults[fault] = value
        if fault == "offline" and h.up:
            self._spawn(self._bring_down(h))

    def clear_faults(self, name: str) -> None:
        h = self._host(name)
        h.faults.clear()
        if not h.up:
            self._spawn(self._bring_up(h))

    # ---- read-only views ---------------------------------------------------------------------
    def _agent(self, h: AlarmHost) -> str:
        running = self._gb.agent_state(h.name)
        if running is not None:
            return running
        g = h.state.gb28181
        return "disabled" if not g.enabled else "incomplete" if not g.complete else "stopped"

    def device_state(self, name: str) -> dict[str, object]:
        h = self._host(name)
        gb = asdict(h.state.gb28181)
        gb["password_set"] = bool(gb.pop("password"))
        return {"name": h.name, "up": h.up, "host": h.spec.host, "http_port": h.spec.http_port,
                "gb28181": gb, "gb28181_agent": self._agent(h), "faults": dict(h.faults)}

    def status(self) -> list[dict[str, object]]:
        return [{"name": h.name, "model": h.spec.profile.key, "host": h.spec.host,
                 "http_port": h.spec.http_port, "phase": "up" if h.up else "down",
                 "faults": sorted(h.faults), "gb28181": self._agent(h)}
                for h in self.hosts.values()]
