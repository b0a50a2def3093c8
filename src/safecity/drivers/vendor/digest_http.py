"""One device's vendor HTTP API over HTTP digest: bounded requests, errors mapped at the boundary.

Shared by the plug-ins whose replies are not ISAPI XML (``dahua_cgi``: key=value text,
``alarm_http``: JSON). A reply is returned as ``(status, body)`` for 2xx; 401 is ``AuthFailed``,
other 4xx/5xx ``DeviceRejected`` with the device's first reply line; transport errors are
mapped to ``DeviceUnreachable``/``DeviceTimeout``. Request URLs may carry secrets (Dahua's
setConfig takes the SIP password as a query value): they are never put into a message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

import aiohttp
from yarl import URL

from safecity.drivers.onvif.faults import map_error
from safecity.drivers.vendor.plugins import VendorEndpoint
from safecity.errors import AuthFailed, DeviceRejected

MAX_REPLY = 1 << 20  # a settings page is a few KB; anything near this is not a settings page


class DigestHttp:
    def __init__(self, endpoint: VendorEndpoint) -> None:
        self.endpoint = endpoint
        self._session: aiohttp.ClientSession | None = None
        self._digest: tuple[aiohttp.DigestAuthMiddleware, ...] = ()
        self.set_credentials(endpoint.username, endpoint.password)

    def set_credentials(self, username: str | None, password: str | None) -> None:
        self._digest = ((aiohttp.DigestAuthMiddleware(username, password),)
                        if username and password is not None else ())

    def url(self, path_and_query: str) -> URL:
        """``path_and_query`` must already be percent-encoded (the digest URI is what is sent)."""
        scheme = "https" if self.endpoint.tls else "http"
        return URL(f"{scheme}://{self.endpoint.host}:{self.endpoint.port}{path_and_query}",
                   encoded=True)

    async def request(self, method: str, path_and_query: str, *, operation: str,
                      json_body: object | None = None,
                      headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        name, timeout = self.endpoint.name, self.endpoint.timeout
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=bool(self.endpoint.verify_tls), limit=2),
                timeout=aiohttp.ClientTimeout(total=timeout, connect=timeout), trust_env=False)
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(
                        method, self.url(path_and_query), json=json_body, headers=headers,
                        middlewares=self._digest) as resp:
                    raw = await resp.content.read(MAX_REPLY)
                    status = resp.status
        except asyncio.CancelledError:
            raise
        except Exception as e:
            raise map_error(name, operation, e, timeout) from e
        if status == 401:
            raise AuthFailed(name, operation, "credentials refused (HTTP 401)")
        if status >= 400:
            # Dahua-style "Error\r\n<reason>" and one-line JSON errors both read as one line.
            text = raw.decode("utf-8", "replace")
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            detail = ": ".join(lines[:2])
            if text.lstrip().startswith("{"):
                try:
                    detail = str(json.loads(text).get("error") or detail)
                except (ValueError, AttributeError):
                    pass
            detail = detail[:200] or "refused"
            raise DeviceRejected(name, operation, f"HTTP {status}: {detail}")
        return status, raw

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
