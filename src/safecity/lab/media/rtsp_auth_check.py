"""Server-side RTSP authentication for the lab: issue challenges, verify answers.

The lab's own implementation (RFC 2617 digest, MD5; basic), deliberately independent of the
client in safecity.drivers.rtsp so that a shared bug cannot make both sides agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

NONCE_LIFETIME_S = 300.0
_SECRET = os.urandom(16)
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def make_nonce(now: float | None = None) -> str:
    """Stateless nonce: timestamp + HMAC, so any connection can verify any nonce."""
    stamp = f"{int((now if now is not None else time.time()) * 1000):x}"
    mac = hmac.new(_SECRET, stamp.encode(), hashlib.sha256).hexdigest()[:20]
    return stamp + mac


def nonce_state(nonce: str, now: float | None = None) -> str:
    """'ok', 'stale' (genuine but expired) or 'bad'."""
    stamp, mac = nonce[:-20], nonce[-20:]
    good = hmac.new(_SECRET, stamp.encode(), hashlib.sha256).hexdigest()[:20]
    if not stamp or not hmac.compare_digest(mac, good):
        return "bad"
    try:
        issued = int(stamp, 16) / 1000.0
    except ValueError:
        return "bad"
    age = (now if now is not None else time.time()) - issued
    return "ok" if 0 <= age <= NONCE_LIFETIME_S else "stale"


def challenge(scheme: str, realm: str, qop: bool, stale: bool = False) -> str:
    if scheme == "basic":
        return f'Basic realm="{realm}"'
    parts = [f'Digest realm="{realm}"', f'nonce="{make_nonce()}"', 'algorithm="MD5"']
    if qop:
        parts.append('qop="auth"')
    if stale:
        parts.append("stale=TRUE")
    return ", ".join(parts)


def parse_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if not match or match.end() == pos:
            break
        key = match.group(1).lower()
        quoted = match.group(2)
        params[key] = quoted.replace('\\"', '"') if quoted is not None else match.group(3)
        pos = match.end()
    return params


def verify(header: str | None, *, method: str, request_path: str, scheme: str, realm: str,
           username: str, password: str, qop: bool) -> str:
    """'ok', 'stale' (right password, expired nonce) or 'fail'."""
    if not header:
        return "fail"
    kind, _, rest = header.strip().partition(" ")
    if scheme == "basic":
        if kind.lower() != "basic":
            return "fail"
        try:
            user, _, pw = base64.b64decode(rest.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "fail"
        ok = hmac.compare_digest(user, username) and hmac.compare_digest(pw, password)
        return "ok" if ok else "fail"
    if kind.lower() != "digest":
        return "fail"
    p = parse_params(rest)
    required = ("username", "realm", "nonce", "uri", "response")
    if any(k not in p for k in required) or p["username"] != username or p["realm"] != realm:
        return "fail"
    # The digest covers the uri the client claims; it must name the resource requested.
    claimed = re.sub(r"^rtsp://[^/]*", "", p["uri"]).rstrip("/")
    if claimed != request_path.rstrip("/"):
        return "fail"
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{p['uri']}")
    if qop:
        if p.get("qop") != "auth" or "nc" not in p or "cnonce" not in p:
            return "fail"
        expected = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    else:
        expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
    if not hmac.compare_digest(expected, p["response"].lower()):
        return "fail"
    state = nonce_state(p["nonce"])
    return {"ok": "ok", "stale": "stale"}.get(state, "fail")
