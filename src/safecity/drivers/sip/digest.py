"""Client side of SIP digest authentication (RFC 2617 MD5, qop=auth when offered)."""

from __future__ import annotations

import hashlib
import re
import secrets

_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def challenge_params(header: str) -> dict[str, str]:
    """Parameters of a ``WWW-Authenticate: Digest ...`` header ({} if not Digest)."""
    if not header.lstrip().lower().startswith("digest"):
        return {}
    body = header.lstrip()[len("digest"):]
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _PARAM.finditer(body)}


def _h(value: str) -> str:
    return hashlib.md5(value.encode("utf-8")).hexdigest()  # SIP digest is MD5 by definition


def authorization_header(challenge: dict[str, str], *, user: str, password: str,
                         method: str, uri: str) -> str:
    """The ``Authorization`` value answering ``challenge``; raises ValueError if unsupported."""
    algorithm = challenge.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise ValueError(f"unsupported digest algorithm {algorithm}")
    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    qops = {q.strip().lower() for q in challenge.get("qop", "").split(",")}
    a1 = _h(f"{user}:{realm}:{password}")
    a2 = _h(f"{method}:{uri}")
    fields = [("username", f'"{user}"'), ("realm", f'"{realm}"'), ("nonce", f'"{nonce}"'),
              ("uri", f'"{uri}"')]
    if "auth" in qops:
        cnonce, count = secrets.token_hex(6), "00000001"
        digest = _h(f"{a1}:{nonce}:{count}:{cnonce}:auth:{a2}")
        fields += [("response", f'"{digest}"'), ("algorithm", "MD5"), ("qop", "auth"),
                   ("nc", count), ("cnonce", f'"{cnonce}"')]
    else:
        fields += [("response", f'"{_h(f"{a1}:{nonce}:{a2}")}"'), ("algorithm", "MD5")]
    if "opaque" in challenge:
        fields.append(("opaque", f'"{challenge["opaque"]}"'))
    return "Digest " + ",".join(f"{k}={v}" for k, v in fields)
