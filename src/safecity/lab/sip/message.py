"""The lab's own SIP message codec (RFC 3261 subset: what GB/T 28181 needs over UDP).

Written independently of ``safecity.drivers.sip`` on purpose: the lab must not share protocol
code with the driver it tests, so an encoding bug cannot cancel itself out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

SIP_VERSION = "SIP/2.0"
# A GB/T 28181 catalog page of 4 items is ~2 KB; anything far larger over UDP is abuse.
MAX_DATAGRAM = 16 * 1024

# RFC 3261 §7.3.3 compact header names.
_COMPACT = {
    "v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
    "l": "content-length", "c": "content-type", "k": "supported", "s": "subject",
}
# Headers whose values may be comma-joined lists on one line (Via is the one we route on).
_LIST_HEADERS = {"via"}

REASONS = {
    100: "Trying", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Request Entity Too Large", 415: "Unsupported Media Type", 423: "Interval Too Brief",
    481: "Call/Transaction Does Not Exist", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable",
}


class SipSyntaxError(ValueError):
    """A datagram is not a SIP message the lab can handle."""


@dataclass
class SipHeaders:
    """Ordered, case-insensitive, multi-valued headers (names kept as first written)."""

    items: list[tuple[str, str]] = field(default_factory=list)

    @staticmethod
    def _key(name: str) -> str:
        low = name.strip().lower()
        return _COMPACT.get(low, low)

    def get(self, name: str) -> str | None:
        key = self._key(name)
        for k, v in self.items:
            if self._key(k) == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        key = self._key(name)
        return [v for k, v in self.items if self._key(k) == key]

    def add(self, name: str, value: str) -> None:
        self.items.append((name, value))

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.add(name, value)

    def remove(self, name: str) -> None:
        key = self._key(name)
        self.items = [(k, v) for k, v in self.items if self._key(k) != key]


@dataclass
class SipRequest:
    method: str
    uri: str
    headers: SipHeaders
    body: bytes = b""

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("CSeq") or "")

    @property
    def branch(self) -> str:
        vias = self.headers.get_all("Via")
        return via_param(vias[0], "branch") or "" if vias else ""


@dataclass
class SipResponse:
    status: int
    reason: str
    headers: SipHeaders
    body: bytes = b""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("CSeq") or "")

    @property
    def branch(self) -> str:
        vias = self.headers.get_all("Via")
        return via_param(vias[0], "branch") or "" if vias else ""


SipMessage = SipRequest | SipResponse


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit():
        raise SipSyntaxError(f"bad CSeq {value!r}")
    return int(parts[0]), parts[1].upper()


def via_param(via: str, name: str) -> str | None:
    """A parameter of one Via value (``branch``, ``rport``...); '' for a flag without value."""
    for piece in via.split(";")[1:]:
        key, _, val = piece.partition("=")
        if key.strip().lower() == name:
            return val.strip()
    return None


def _split_list_header(value: str) -> list[str]:
    """Split a comma-joined header value, ignoring commas inside quotes or <...>."""
    out: list[str] = []
    buf: list[str] = []
    quoted = angle = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch == "," and not quoted and not angle:
            out.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf).strip())
    return [v for v in out if v]


def parse_message(data: bytes) -> SipMessage:
    """Parse one UDP datagram. Raises SipSyntaxError on anything malformed."""
    if len(data) > MAX_DATAGRAM:
        raise SipSyntaxError("datagram too large")
    sep = data.find(b"\r\n\r\n")
    sep_len = 4
    if sep < 0:
        sep, sep_len = data.find(b"\n\n"), 2
    if sep < 0:
        raise SipSyntaxError("no end of headers")
    try:
        head = data[:sep].decode("utf-8")
    except UnicodeDecodeError as e:
        raise SipSyntaxError("headers are not UTF-8") from e
    body = data[sep + sep_len:]
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    headers = SipHeaders()
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers.items:  # folded continuation line
            name, value = headers.items[-1]
            headers.items[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            raise SipSyntaxError(f"bad header line {line[:40]!r}")
        if SipHeaders._key(name) in _LIST_HEADERS:
            for part in _split_list_header(value):
                headers.add(name.strip(), part)
        else:
            headers.add(name.strip(), value.strip())

    length_text = headers.get("Content-Length")
    if length_text is not None:
        if not length_text.isdigit():
            raise SipSyntaxError("bad Content-Length")
        length = int(length_text)
        if length > len(body):
            raise SipSyntaxError("body shorter than Content-Length")
        body = body[:length]

    message: SipMessage
    if start.startswith(SIP_VERSION + " "):
        _, code, reason = (start.split(" ", 2) + [""])[:3]
        if not (code.isdigit() and len(code) == 3):
            raise SipSyntaxError(f"bad status line {start[:40]!r}")
        message = SipResponse(int(code), reason, headers, body)
    else:
        parts = start.split(" ")
        if len(parts) != 3 or parts[2] != SIP_VERSION or not parts[0].isalpha():
            raise SipSyntaxError(f"bad request line {start[:40]!r}")
        message = SipRequest(parts[0].upper(), parts[1], headers, body)
    for required in ("Via", "From", "To", "Call-ID", "CSeq"):
        if headers.get(required) is None:
            raise SipSyntaxError(f"missing {required}")
    parse_cseq(headers.get("CSeq") or "")  # raises on a malformed CSeq
    return message


def encode_message(message: SipMessage) -> bytes:
    """Serialise with a correct Content-Length (any given one is replaced)."""
    if isinstance(message, SipRequest):
        start = f"{message.method} {message.uri} {SIP_VERSION}"
    else:
        start = f"{SIP_VERSION} {message.status} {message.reason}"
    lines = [start]
    lines += [f"{k}: {v}" for k, v in message.headers.items
              if SipHeaders._key(k) != "content-length"]
    lines.append(f"Content-Length: {len(message.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + message.body


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def uri_user(value: str) -> str:
    """The user part of a name-addr / addr-spec (``<sip:user@host>;tag=x`` -> ``user``)."""
    start = value.find("sip:")
    if start < 0:
        return ""
    rest = value[start + 4:]
    user, at, _ = rest.partition("@")
    return user if at else ""


def uri_hostport(value: str, default_port: int = 5060) -> tuple[str, int] | None:
    """Host and port of the first SIP URI in a header value or URI."""
    start = value.find("sip:")
    if start < 0:
        return None
    rest = value[start + 4:]
    for stop in (">", ";", "?", " "):
        rest = rest.split(stop, 1)[0]
    hostport = rest.rpartition("@")[2]
    host, colon, port = hostport.partition(":")
    if colon:
        if not port.isdigit():
            return None
        return host, int(port)
    return host, default_port


def header_param(value: str, name: str) -> str | None:
    """A parameter outside the <...> of a name-addr header value (``tag``, ``expires``)."""
    tail = value.rsplit(">", 1)[-1] if ">" in value else value
    for piece in tail.split(";")[1:]:
        key, _, val = piece.partition("=")
        if key.strip().lower() == name:
            return val.strip()
    return None


def make_response(request: SipRequest, status: int, reason: str | None = None,
                  to_tag: str | None = None) -> SipResponse:
    """Response skeleton per RFC 3261 §8.2.6: Vias, From, To(+tag), Call-ID, CSeq copied."""
    headers = SipHeaders()
    for via in request.headers.get_all("Via"):
        headers.add("Via", via)
    headers.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    if to_tag and header_param(to, "tag") is None and status > 100:
        to = f"{to};tag={to_tag}"
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", request.headers.get("CSeq") or "")
    return SipResponse(status, reason or REASONS.get(status, "Unknown"), headers)
