"""The HTTP side of an ONVIF client: one aiohttp session per device client.

Wraps onvif-zeep-async's gaps: bounded timeouts (its default is 90 s), TLS verified unless the
caller turns it off explicitly, HTTP digest answered when a device demands it, and message
bodies never logged (CreateUsers/SetUser carry passwords; the library logs bodies at DEBUG).
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

import aiohttp
from aiohttp import ClientResponse

from safecity.drivers.onvif.library import AIOHTTPTransport

HttpAuth = Literal["none", "digest", "basic"]


def make_session(timeout: float, *, verify_tls: bool = True) -> aiohttp.ClientSession:
    """A session whose every request is bounded by ``timeout`` (connect and read)."""
    ssl_arg: ssl.SSLContext | bool = bool(verify_tls)  # True: system CA store, hostname checked
    connector = aiohttp.TCPConnector(ssl=ssl_arg, limit=4, keepalive_timeout=4.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout, connect=timeout, sock_read=timeout),
        trust_env=False)  # no proxy from the environment: devices are reached directly


class DeviceTransport(AIOHTTPTransport):  # type: ignore[misc]  # untyped base
    """zeep transport over a device session; HTTP credentials are per request, replaceable."""

    def __init__(self, session: aiohttp.ClientSession, *, verify_tls: bool = True) -> None:
        super().__init__(session=session, verify_ssl=verify_tls)
        self.auth: aiohttp.BasicAuth | None = None
        self.middlewares: tuple[aiohttp.DigestAuthMiddleware, ...] = ()

    def set_credentials(self, mode: HttpAuth, username: str | None, password: str | None) -> None:
        """``digest``/``none``: answer a 401 digest challenge; ``basic``: send basic up front."""
        self.auth, self.middlewares = None, ()
        if not username or password is None:
            return
        if mode == "basic":
            self.auth = aiohttp.BasicAuth(username, password)
        else:
            # "none" arms the middleware too: it only acts when a device answers 401 with a
            # Digest challenge, which is exactly the fallback a WS-Security device needs.
            self.middlewares = (aiohttp.DigestAuthMiddleware(username, password),)

    async def _post_internal(self, address: str, message: str | bytes,
                             headers: dict[str, str]) -> tuple[ClientResponse, bytes]:
        headers = dict(headers or {})
        headers.setdefault("Content-Type", 'application/soap+xml; charset="utf-8"')
        data = message.encode("utf-8") if isinstance(message, str) else message
        kwargs: dict[str, Any] = {"data": data, "headers": headers,
                                  "timeout": self._client_timeout}
        if self.auth is not None:
            kwargs["auth"] = self.auth
        if self.middlewares:
            kwargs["middlewares"] = self.middlewares
        async with self.session.post(address, **kwargs) as response:
            content = await response.read()
        return response, content
