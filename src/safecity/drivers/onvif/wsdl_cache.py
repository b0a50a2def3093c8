"""Parsed service descriptions, shared by every client in the process.

Parsing the ONVIF WSDLs costs ~0.4 s and ~10 MB; a parsed ``zeep`` Document is immutable once
built, so one per (service, wsdl directory) serves every device. Parsing runs in a thread so
the event loop keeps serving other devices while the first client waits.
"""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Literal

from zeep.wsdl import Document

from safecity.drivers.onvif.library import ASYNC_TRANSPORT, BUNDLED_WSDL_DIR, DEFAULT_SETTINGS

Service = Literal["devicemgmt", "media", "media2"]

_OWN_WSDL_DIR = Path(__file__).parent / "wsdl"
# service -> (namespace, binding local name, file in the WSDL directory)
SERVICES: dict[Service, tuple[str, str, str]] = {
    "devicemgmt": ("http://www.onvif.org/ver10/device/wsdl", "DeviceBinding", "devicemgmt.wsdl"),
    "media": ("http://www.onvif.org/ver10/media/wsdl", "MediaBinding", "media.wsdl"),
    "media2": ("http://www.onvif.org/ver20/media/wsdl", "Media2Binding", "media2.wsdl"),
}

_documents: dict[tuple[Service, Path], Document] = {}
# A thread lock, not an asyncio one: parsing runs in worker threads, and clients on different
# event loops (tests, several batch runners) share the cache.
_lock = threading.Lock()


def _parse(service: Service, wsdl_dir: Path) -> Document:
    if service == "media2" and not (wsdl_dir / "media2.wsdl").is_file():
        # onvif-zeep-async ships no ver20 media WSDL: use safecity's minimal one, pointed at
        # the ver10 schema of the chosen directory plus the ver20 types that schema lacks.
        text = (_OWN_WSDL_DIR / "media2.wsdl.in").read_text(encoding="utf-8")
        text = text.replace("@ONVIF_XSD@", str(wsdl_dir / "onvif.xsd")).replace(
            "@TT_MEDIA2_XSD@", str(_OWN_WSDL_DIR / "tt-media2.xsd"))
        return Document(io.BytesIO(text.encode()), ASYNC_TRANSPORT,
                        base=str(_OWN_WSDL_DIR) + "/", settings=DEFAULT_SETTINGS)
    return Document(str(wsdl_dir / SERVICES[service][2]), ASYNC_TRANSPORT,
                    settings=DEFAULT_SETTINGS)


def _get_or_parse(service: Service, wsdl_dir: Path) -> Document:
    with _lock:
        doc = _documents.get((service, wsdl_dir))
        if doc is None:
            doc = _parse(service, wsdl_dir)
            _documents[(service, wsdl_dir)] = doc
        return doc


async def shared_document(service: Service, wsdl_dir: Path | None = None) -> Document:
    """The process-wide parsed description of ``service`` (parsed once, on first use)."""
    key = (service, (wsdl_dir or BUNDLED_WSDL_DIR).resolve())
    doc = _documents.get(key)
    if doc is not None:
        return doc
    return await asyncio.to_thread(_get_or_parse, *key)


def binding_name(service: Service) -> str:
    namespace, binding, _ = SERVICES[service]
    return f"{{{namespace}}}{binding}"
