"""Kamailio-compatible JSON-RPC over HTTP (``POST /RPC``) for the lab registrar.

``ul.dump`` mirrors the shape of Kamailio 5.6 usrloc's RPC dump as jsonrpcs serialises it:
``{"Domains": [{"Domain": {"Domain": "location", "Size": N, "AoRs": [{"Info": {"AoR": ...,
"HashID": ..., "Contacts": [{"Contact": {"Address": ..., "Expires": ..., ...}}]}}],
"Stats": {...}}}]}``. One lab extra per contact, ``GB-Last-Keepalive`` (epoch seconds, float),
carries the last MANSCDP keepalive MESSAGE; Kamailio has no such field, so readers must treat
it as optional.
"""

from __future__ import annotations

import json
import time
import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from safecity.lab.sip.registrar import LabRegistrar, Registration

_TABLE = "location"
_TABLE_SIZE = 1024
_ALL_METHODS = 0xFFFFFFFF  # what Kamailio stores when the REGISTER carried no Allow header


def _contact_struct(reg: Registration, socket: str, now: float) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "Address": reg.contact,
        "Expires": max(0, int(reg.expires_at - now)),
        "Q": -1,
        "Call-ID": reg.call_id,
        "CSeq": reg.cseq,
        "User-Agent": reg.user_agent or "[not set]",
        "Received": "[not set]",  # Kamailio fills it only with fix_nated_register
        "Path": "[not set]",
        "State": "CS_NEW",
        "Flags": 0,
        "CFlags": 0,
        "Socket": socket,
        "Methods": _ALL_METHODS,
        "Ruid": f"uloc-lab-{zlib.crc32(reg.call_id.encode()):08x}-{reg.register_count}",
        "Instance": "[not set]",
        "Reg-Id": 0,
        "Server-Id": 0,
        "Tcpconn-Id": -1,
        "Keepalive": 0,
        # Kamailio refreshes Last-Keepalive on REGISTER; epoch seconds as an int.
        "Last-Keepalive": int(reg.registered_at),
        "Last-Modified": int(reg.registered_at),
    }
    if reg.last_keepalive is not None:
        contact["GB-Last-Keepalive"] = round(reg.last_keepalive, 3)
    return {"Contact": contact}


def ul_dump(registrations: list[Registration], socket: str, brief: bool = False
            ) -> dict[str, Any]:
    now = time.time()
    aors: list[dict[str, Any]] = []
    for reg in registrations:
        if brief:
            aors.append({"AoR": reg.device_id})
            continue
        aors.append({"Info": {
            "AoR": reg.device_id,
            "HashID": zlib.crc32(reg.device_id.encode()),
            "Contacts": [_contact_struct(reg, socket, now)],
        }})
    domain = {"Domain": _TABLE, "Size": _TABLE_SIZE, "AoRs": aors,
              "Stats": {"Records": len(registrations), "Max-Slots": 1 if registrations else 0}}
    return {"Domains": [{"Domain": domain}]}


class RpcServer:
    def __init__(self, registrar: LabRegistrar) -> None:
        self._registrar = registrar
        self._runner: web.AppRunner | None = None

    @classmethod
    async def start(cls, registrar: LabRegistrar, host: str, port: int) -> RpcServer:
        server = cls(registrar)
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/RPC", server._handle)
        app.router.add_post("/jsonrpc", server._handle)
        server._runner = web.AppRunner(app, access_log=None)
        await server._runner.setup()
        try:
            await web.TCPSite(server._runner, host, port).start()
        except OSError:
            await server._runner.cleanup()
            raise
        return server

    async def _handle(self, request: web.Request) -> web.Response:
        # "down" fault: a dead platform does not answer; park until recovery or close.
        await self._registrar.up_again.wait()
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return self._error(None, -32700, "Parse Error")
        if not isinstance(payload, dict) or not isinstance(payload.get("method"), str):
            return self._error(None, -32600, "Invalid Request")
        rpc_id = payload.get("id")
        params = payload.get("params") or []
        if payload["method"] != "ul.dump":
            return self._error(rpc_id, 500, "Method Not Found")
        brief = isinstance(params, list) and params[:1] == ["brief"]
        spec = self._registrar.spec
        socket = f"udp:{spec.host}:{self._registrar.address[1]}"
        result = ul_dump(self._registrar.registrations(), socket, brief)
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": rpc_id})

    @staticmethod
    def _error(rpc_id: object, code: int, message: str) -> web.Response:
        return web.json_response(
            {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": rpc_id})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
