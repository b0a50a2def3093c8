"""The one place onvif-zeep-async is imported, with its import-time side effects undone.

``onvif.client`` runs ``logging.basicConfig(level=INFO)`` (a handler on the root logger and the
root level changed) and silences ``zeep.client`` at import. A library must not configure the
application's logging, so the root logger and the zeep logger are put back exactly as they were.
If something imported ``onvif`` before us the damage is already done and cannot be told apart
from the application's own configuration; nothing is touched then.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def _import_quietly() -> None:
    if "onvif.client" in sys.modules:
        return
    root = logging.getLogger()
    zeep_client = logging.getLogger("zeep.client")
    saved = (list(root.handlers), root.level, zeep_client.level)
    try:
        import onvif.client  # noqa: F401 - imported for its side effects, undone below
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        zeep_client.setLevel(saved[2])


_import_quietly()

import onvif
from onvif.client import UsernameDigestTokenDtDiff
from onvif.settings import DEFAULT_SETTINGS
from onvif.transport import ASYNC_TRANSPORT
from onvif.zeep_aiohttp import AIOHTTPTransport

BUNDLED_WSDL_DIR = Path(onvif.__file__).parent / "wsdl"

__all__ = [
    "ASYNC_TRANSPORT",
    "BUNDLED_WSDL_DIR",
    "DEFAULT_SETTINGS",
    "AIOHTTPTransport",
    "UsernameDigestTokenDtDiff",
]
