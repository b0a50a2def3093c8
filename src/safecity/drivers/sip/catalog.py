"""GB/T 28181 Catalog query from safecity's own loopback UA (verification, not a platform)."""

from __future__ import annotations

import asyncio
import itertools
import time

from safecity.drivers.sip.manscdp import CONTENT_TYPE, catalog_query, read_catalog_page
from safecity.drivers.sip.models import CatalogItem
from safecity.drivers.sip.transport import UdpUserAgent
from safecity.drivers.sip.wire import branch_id, random_token, write_request
from safecity.errors import AuthFailed, DeviceRejected, DeviceTimeout, DeviceUnreachable

_sn = itertools.count(int(time.time()) % 100000)


def _item(fields: dict[str, str]) -> CatalogItem:
    return CatalogItem(
        device_id=fields.get("DeviceID", ""), name=fields.get("Name", ""),
        civil_code=fields.get("CivilCode", ""), parent_id=fields.get("ParentID", ""),
        status=fields.get("Status", ""), manufacturer=fields.get("Manufacturer", ""),
        model=fields.get("Model", ""), address=fields.get("Address", ""))


async def query_catalog(device_contact_host: str, port: int, device_id: str, server_id: str,
                        domain: str, timeout: float, *, local_host: str = "127.0.0.1"
                        ) -> list[CatalogItem]:
    """Ask a device for its catalog, posing as platform ``server_id``; collect every page.

    The device answers 200 to the query, then sends Response MESSAGEs back to our socket
    until ``SumNum`` items have arrived. Raises DeviceUnreachable (no answer), AuthFailed
    (403: the device does not accept us as its platform), DeviceRejected (other refusal),
    DeviceTimeout (pages stopped before SumNum items).
    """
    deadline = time.monotonic() + timeout
    sn = next(_sn)
    async with UdpUserAgent(local_host) as ua:
        branch = branch_id()
        request = write_request("MESSAGE", f"sip:{device_id}@{device_contact_host}:{port}", [
            ("Via", f"SIP/2.0/UDP {ua.via_host};rport;branch={branch}"),
            ("From", f"<sip:{server_id}@{domain}>;tag={random_token(5)}"),
            ("To", f"<sip:{device_id}@{domain}>"),
            ("Call-ID", f"{random_token()}@{local_host}"),
            ("CSeq", "1 MESSAGE"),
            ("Max-Forwards", "70"),
            ("User-Agent", "safecity"),
            ("Content-Type", CONTENT_TYPE),
        ], catalog_query(device_id, sn))
        try:
            reply = await ua.transact(request, branch, "MESSAGE",
                                      (device_contact_host, port), timeout)
        except TimeoutError as e:
            raise DeviceUnreachable(device_id, "catalog", f"no answer from "
                                    f"{device_contact_host}:{port} in {timeout:g}s") from e
        if reply.status in (401, 403, 407):
            raise AuthFailed(device_id, "catalog", f"{reply.status} {reply.reason}")
        if reply.status != 200:
            raise DeviceRejected(device_id, "catalog", f"{reply.status} {reply.reason}")

        found: dict[str, CatalogItem] = {}
        expected: int | None = None
        while expected is None or len(found) < expected:
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(ua.messages.get(), max(remaining, 0.0))
            except TimeoutError as e:
                raise DeviceTimeout(device_id, "catalog", f"got {len(found)} of "
                                    f"{expected if expected is not None else '?'} items "
                                    f"in {timeout:g}s") from e
            try:
                page = read_catalog_page(message.body)
            except ValueError as e:
                raise DeviceRejected(device_id, "catalog", str(e)) from e
            if page is None or page.sn != sn:
                continue  # some other notification (keepalive, alarm) or an old query
            expected = page.sum_num
            for fields in page.items:
                if fields.get("DeviceID"):
                    found[fields["DeviceID"]] = _item(fields)
        return list(found.values())
