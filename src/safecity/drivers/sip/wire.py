"""SIP text on the wire, as the safecity driver writes and reads it.

Independent of the lab's codec (``safecity.lab.sip``) by design: the driver is tested against
the lab, so the two must not share an encoding bug.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# Long names for RFC 3261 compact forms, so lookups work whichever form a peer sends.
_LONG_NAMES = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type"}
_STATUS_LINE = re.compile(r"^SIP/2\.0 (\d{3}) ?(.*)$")
_REQUEST_LINE = re.compile(r"^([A-Z]+) (\S+) SIP/2\.0$")
_HEADER_LINE = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$")  # token chars, then ':'
_MAX_PACKET = 65535


class WireError(ValueError):
    """Bytes that are not a SIP message."""


@dataclass(frozen=True)
class Packet:
    """A received SIP message: a request (``method`` set) or a response (``status`` set)."""

    method: str | None
    uri: str | None
    status: int | None
    reason: str
    headers: tuple[tuple[str, str], ...]  # (lower-case long name, value), in order
    body: bytes

    def first(self, name: str) -> str | None:
        wanted = _canonical(name)
        return next((v for k, v in self.headers if k == wanted), None)

    def every(self, name: str) -> list[str]:
        wanted = _canonical(name)
        return [v for k, v in self.headers if k == wanted]

    @property
    def cseq_method(self) -> str:
        return (self.first("cseq") or " ").split()[-1].upper()

    @property
    def top_branch(self) -> str:
        via = (self.every("via") or [""])[0]
        found = re.search(r";\s*branch=([^;,\s]+)", via, re.IGNORECASE)
        return found.group(1) if found else ""


def _canonical(name: str) -> str:
    low = name.lower()
    return _LONG_NAMES.get(low, low)


def read_packet(data: bytes) -> Packet:
    if len(data) > _MAX_PACKET:
        raise WireError("packet too large")
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        raise WireError("headers never end")
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError as e:
        raise WireError("non UTF-8 header") from e
    unfolded: list[str] = []
    for line in lines[1:]:
        if line.startswith((" ", "\t")) and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    headers: list[tuple[str, str]] = []
    for line in unfolded:
        match = _HEADER_LINE.match(line)
        if match is None:
            raise WireError(f"bad header {line[:40]!r}")
        name = _canonical(match.group(1))
        value = match.group(2).strip()
        # Via may be comma-joined; nothing in a Via value legitimately holds a comma otherwise.
        values = [v.strip() for v in value.split(",")] if name == "via" else [value]
        headers += [(name, v) for v in values if v]
    length = next((v for k, v in headers if k == "content-length"), None)
    if length is not None:
        if not length.isdigit() or int(length) > len(body):
            raise WireError("Content-Length does not match the body")
        body = body[:int(length)]
    status_match = _STATUS_LINE.match(lines[0])
    if status_match:
        return Packet(None, None, int(status_match.group(1)), status_match.group(2),
                      tuple(headers), body)
    request_match = _REQUEST_LINE.match(lines[0])
    if request_match:
        return Packet(request_match.group(1), request_match.group(2), None, "",
                      tuple(headers), body)
    raise WireError(f"bad start line {lines[0][:40]!r}")


def write_request(method: str, uri: str, headers: list[tuple[str, str]],
                  body: bytes = b"") -> bytes:
    text = f"{method} {uri} SIP/2.0\r\n"
    text += "".join(f"{name}: {value}\r\n" for name, value in headers)
    text += f"Content-Length: {len(body)}\r\n\r\n"
    return text.encode("utf-8") + body


def write_reply(request: Packet, status: int, reason: str) -> bytes:
    """A stateless reply to ``request`` (Via/From/To/Call-ID/CSeq echoed, To tagged)."""
    out = [f"SIP/2.0 {status} {reason}"]
    out += [f"Via: {via}" for via in request.every("via")]
    out.append(f"From: {request.first('from') or ''}")
    to = request.first("to") or ""
    if ";tag=" not in to.replace(" ", "").lower():
        to += f";tag={random_token(4)}"
    out.append(f"To: {to}")
    out.append(f"Call-ID: {request.first('call-id') or ''}")
    out.append(f"CSeq: {request.first('cseq') or ''}")
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8")


def random_token(nbytes: int = 8) -> str:
    return secrets.token_hex(nbytes)


def branch_id() -> str:
    return "z9hG4bK-sc" + secrets.token_hex(8)


def user_of(header_value: str) -> str:
    found = re.search(r"sips?:([^@;>\s]+)@", header_value)
    return found.group(1) if found else ""
