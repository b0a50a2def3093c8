"""Client side of RTSP authentication: read a WWW-Authenticate challenge, build the
Authorization header (RFC 2617 digest with MD5 / MD5-sess, with or without qop=auth; basic)."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "digest" or "basic"
    params: dict[str, str]

    @property
    def stale(self) -> bool:
        return self.params.get("stale", "").lower() == "true"


def _split_params(text: str) -> dict[str, str]:
    """key=value / key="quoted, value" pairs separated by commas."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < n and text[i] == '"':
            value_chars: list[str] = []
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value_chars.append(text[i])
                i += 1
            i += 1
            value = "".join(value_chars)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            value = text[i:end].strip()
            i = end
        params[key] = value
    return params


def pick_challenge(headers: list[str]) -> Challenge | None:
    """Prefer digest over basic when the camera offers both (basic sends the password)."""
    found: dict[str, Challenge] = {}
    for header in headers:
        scheme, _, rest = header.strip().partition(" ")
        key = scheme.lower()
        if key in ("digest", "basic") and key not in found:
            found[key] = Challenge(key, _split_params(rest))
    return found.get("digest") or found.get("basic")


def _h(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class Authenticator:
    """Produces Authorization headers for one challenge; counts nonce uses for qop."""

    def __init__(self, challenge: Challenge, username: str, password: str) -> None:
        self.challenge = challenge
        self._username = username
        self._password = password
        self._nc = 0

    def header(self, method: str, uri: str) -> str:
        if self.challenge.scheme == "basic":
            token = base64.b64encode(f"{self._username}:{self._password}".encode()).decode()
            return f"Basic {token}"
        p = self.challenge.params
        realm, nonce = p.get("realm", ""), p.get("nonce", "")
        algorithm = p.get("algorithm", "MD5")
        qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
        cnonce = os.urandom(8).hex()
        ha1 = _h(f"{self._username}:{realm}:{self._password}")
        if algorithm.upper() == "MD5-SESS":
            ha1 = _h(f"{ha1}:{nonce}:{cnonce}")
        ha2 = _h(f"{method}:{uri}")
        fields = [f'username="{self._username}"', f'realm="{realm}"', f'nonce="{nonce}"',
                  f'uri="{uri}"']
        if "auth" in qops:
            self._nc += 1
            nc = f"{self._nc:08x}"
            response = _h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            fields += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            fields.append(f'response="{_h(f"{ha1}:{nonce}:{ha2}")}"')
        if "algorithm" in p:
            fields.append(f"algorithm={algorithm}")
        if "opaque" in p:
            fields.append(f'opaque="{p["opaque"]}"')
        return "Digest " + ", ".join(fields)
