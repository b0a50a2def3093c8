"""Outside-in probes for the platform lab, run inside the lab namespace (`ip netns exec`).

Each subcommand prints one JSON object and exits 0 when it got an answer (even a negative
one); the verify playbook asserts on the fields. Stdlib only: it runs with any python3.

  ntp    --server IP --source IP        SNTP query: stratum, reference id, offset
  tcp    --server IP --port N --source IP   open / refused / timeout (a drop)
  rpc    --server IP --port N --source IP --method M   Kamailio JSON-RPC over HTTP
  syslog --server IP --source IP --message TEXT        one RFC 3164 datagram
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import socket
import struct
import sys
import time
from typing import Any

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def _ntp_to_unix(seconds: int, fraction: int) -> float:
    return seconds - NTP_EPOCH_OFFSET + fraction / 2**32


def probe_ntp(server: str, source: str, timeout: float) -> dict[str, Any]:
    # Client request: LI=0, VN=4, mode=3; transmit timestamp echoed back as "originate".
    sent = time.time()
    secs = int(sent) + NTP_EPOCH_OFFSET
    frac = int((sent % 1) * 2**32)
    packet = struct.pack("!B B B b 11I", 0x23, 0, 0, 0, *([0] * 9), secs, frac)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.sendto(packet, (server, 123))
        try:
            data, _ = sock.recvfrom(512)
        except TimeoutError:
            return {"answered": False}
    received = time.time()
    fields = struct.unpack("!B B b b I I 4s 8I", data[:48])
    stratum, refid_raw = fields[1], fields[6]
    orig = _ntp_to_unix(fields[9], fields[10])
    recv = _ntp_to_unix(fields[11], fields[12])
    xmit = _ntp_to_unix(fields[13], fields[14])
    if stratum == 1 or stratum == 0:
        refid = refid_raw.rstrip(b"\0").decode("ascii", "replace")
    else:
        refid = str(ipaddress.IPv4Address(refid_raw))
    return {
        "answered": True,
        "mode": fields[0] & 0x7,
        "stratum": stratum,
        "refid": refid,
        "origin_matches": abs(orig - sent) < 1e-3,
        "offset": ((recv - sent) + (xmit - received)) / 2,
    }


def probe_tcp(server: str, port: int, source: str, timeout: float) -> dict[str, Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        try:
            sock.connect((server, port))
        except ConnectionRefusedError:
            return {"state": "refused"}
        except TimeoutError:
            return {"state": "timeout"}
    return {"state": "open"}


def probe_rpc(server: str, port: int, source: str, method: str, params: list[str], timeout: float) -> dict[str, Any]:
    conn = http.client.HTTPConnection(server, port, timeout=timeout, source_address=(source, 0))
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    try:
        conn.request("POST", "/RPC", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
    except TimeoutError:
        return {"answered": False}
    finally:
        conn.close()
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = text
    return {"answered": True, "status": response.status, "body": payload}


def probe_syslog(server: str, source: str, message: str) -> dict[str, Any]:
    stamp = time.strftime("%b %d %H:%M:%S")
    datagram = f"<134>{stamp} lab-ipc probe: {message}".encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.sendto(datagram, (server, 514))
    return {"sent": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["ntp", "tcp", "rpc", "syslog"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--method", default="ul.dump")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--message", default="")
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    if args.kind == "ntp":
        result = probe_ntp(args.server, args.source, args.timeout)
    elif args.kind == "tcp":
        result = probe_tcp(args.server, args.port, args.source, args.timeout)
    elif args.kind == "rpc":
        result = probe_rpc(args.server, args.port, args.source, args.method, args.param, args.timeout)
    else:
        result = probe_syslog(args.server, args.source, args.message)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
