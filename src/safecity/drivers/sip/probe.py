"""One digest-authenticated REGISTER against a registrar, to test it (Kamailio or the lab)."""

from __future__ import annotations

import re

from safecity.drivers.sip.digest import authorization_header, challenge_params
from safecity.drivers.sip.models import RegisterProbeResult
from safecity.drivers.sip.transport import UdpUserAgent
from safecity.drivers.sip.wire import Packet, branch_id, random_token, write_request
from safecity.errors import DeviceRejected, DeviceUnreachable


def _granted(reply: Packet) -> int | None:
    contact = reply.first("contact") or ""
    found = re.search(r";\s*expires=(\d+)", contact, re.IGNORECASE)
    text = found.group(1) if found else (reply.first("expires") or "").strip()
    return int(text) if text.isdigit() else None


async def register_probe(registrar_host: str, registrar_port: int, device_id: str,
                         password: str, server_id: str, domain: str, *, expires: int = 60,
                         timeout: float = 5.0, local_host: str = "127.0.0.1",
                         unregister: bool = True) -> RegisterProbeResult:
    """REGISTER ``device_id`` (401 -> Authorization, same Call-ID, CSeq+1) and report the
    final status and ``Date``. Refusals are results, not errors; only silence raises
    (DeviceUnreachable). With ``unregister`` a successful binding is removed again
    (Expires: 0) so the probe leaves nothing behind. Use a test ID, not a live device's:
    a GB platform keys devices by ID, so the probe would displace the real one.
    """
    uri = f"sip:{server_id}@{domain}"
    call_id = f"{random_token()}@{local_host}"
    from_tag = random_token(5)
    cseq = 0
    timeout_each = timeout

    async with UdpUserAgent(local_host) as ua:
        contact = f"<sip:{device_id}@{ua.via_host}>"

        async def send(exp: int, authorization: str | None) -> Packet:
            nonlocal cseq
            cseq += 1
            branch = branch_id()
            headers = [
                ("Via", f"SIP/2.0/UDP {ua.via_host};rport;branch={branch}"),
                ("From", f"<sip:{device_id}@{domain}>;tag={from_tag}"),
                ("To", f"<sip:{device_id}@{domain}>"),
                ("Call-ID", call_id), ("CSeq", f"{cseq} REGISTER"),
                ("Contact", contact), ("Max-Forwards", "70"), ("User-Agent", "safecity-probe"),
                ("Expires", str(exp)),
            ]
            if authorization:
                headers.append(("Authorization", authorization))
            try:
                return await ua.transact(write_request("REGISTER", uri, headers), branch,
                                         "REGISTER", (registrar_host, registrar_port),
                                         timeout_each)
            except TimeoutError as e:
                raise DeviceUnreachable(server_id, "register", f"no answer from "
                                        f"{registrar_host}:{registrar_port}") from e

        async def register(exp: int) -> tuple[Packet, bool]:
            reply = await send(exp, None)
            if reply.status not in (401, 407):
                return reply, False
            header = reply.first("www-authenticate" if reply.status == 401
                                 else "proxy-authenticate") or ""
            challenge = challenge_params(header)
            if not challenge:
                raise DeviceRejected(server_id, "register", "challenge is not Digest")
            try:
                answer = authorization_header(challenge, user=device_id, password=password,
                                              method="REGISTER", uri=uri)
            except ValueError as e:
                raise DeviceRejected(server_id, "register", str(e)) from e
            return await send(exp, answer), True

        final, challenged = await register(expires)
        result = RegisterProbeResult(
            status=final.status or 0, reason=final.reason, date=final.first("date"),
            expires=_granted(final) if final.status == 200 else None, challenged=challenged)
        if unregister and final.status == 200:
            await register(0)
        return result
