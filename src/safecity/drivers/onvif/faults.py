"""Map what aiohttp, zeep and asyncio raise to safecity's device errors.

Every message is ``<device>: <operation>: <reason>``; nothing above the driver sees a zeep or
aiohttp type. Secrets never reach a message: faults quote the device's reason text only.
"""

from __future__ import annotations

import asyncio

import aiohttp
import zeep.exceptions
from lxml import etree

from safecity.errors import (
    AuthFailed,
    DeviceError,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
)

_AUTH_SUBCODES = {"NotAuthorized", "AuthorizationFailed", "SenderNotAuthorized"}


def fault_subcodes(fault: zeep.exceptions.Fault) -> list[str]:
    out = []
    for q in getattr(fault, "subcodes", None) or []:
        try:
            out.append(etree.QName(q).localname)
        except (ValueError, TypeError):
            out.append(str(q).rsplit(":", 1)[-1])
    return out


def map_error(device: str, operation: str, exc: BaseException, timeout: float) -> DeviceError:
    """The safecity error for ``exc`` raised while running ``operation`` on ``device``."""
    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | aiohttp.ServerTimeoutError):
        return DeviceTimeout(device, operation, f"no answer within {timeout:g} s")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror if exc.os_error and exc.os_error.strerror else str(exc)
        return DeviceUnreachable(device, operation, f"cannot connect to {exc.host}:{exc.port}"
                                 f" ({reason})")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError
                  | aiohttp.ClientOSError | ConnectionError):
        return DeviceUnreachable(device, operation, f"connection dropped ({type(exc).__name__})")
    if isinstance(exc, aiohttp.ClientResponseError) and exc.status == 401:
        return AuthFailed(device, operation, "credentials refused (HTTP 401)")
    if isinstance(exc, zeep.exceptions.Fault):
        subcodes = fault_subcodes(exc)
        reason = (exc.message or "").strip() or "fault"
        if _AUTH_SUBCODES & set(subcodes):
            return AuthFailed(device, operation, f"credentials refused ({reason})")
        detail = "/".join(subcodes)
        return DeviceRejected(device, operation, f"{reason} [{detail}]" if detail else reason)
    if isinstance(exc, zeep.exceptions.TransportError):
        if exc.status_code == 401:
            return AuthFailed(device, operation, "credentials refused (HTTP 401)")
        return DeviceRejected(device, operation, f"HTTP {exc.status_code}")
    if isinstance(exc, zeep.exceptions.XMLSyntaxError | zeep.exceptions.XMLParseError
                  | etree.XMLSyntaxError):
        return DeviceError(device, operation, "unreadable reply (not well-formed XML)")
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.ClientError):
        return DeviceUnreachable(device, operation, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return DeviceUnreachable(device, operation, exc.strerror or type(exc).__name__)
    return DeviceError(device, operation, f"unexpected {type(exc).__name__}: {exc}")
