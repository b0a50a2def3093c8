"""HTTP Digest (RFC 2617, MD5, optional qop=auth) as the lab's registrar and device use it."""

from __future__ import annotations

import hashlib
import secrets


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # SIP digest is MD5 by definition


def parse_digest(value: str) -> dict[str, str]:
    """``Digest a="b", c=d`` -> {"a": "b", "c": "d"} (keys lower-cased, quotes removed)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,\t":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            end = i + 1
            chars: list[str] = []
            while end < n and rest[end] != '"':
                if rest[end] == "\\" and end + 1 < n:
                    end += 1
                chars.append(rest[end])
                end += 1
            params[key] = "".join(chars)
            i = end + 1
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    return params


def digest_response(*, username: str, realm: str, password: str, method: str, uri: str,
                    nonce: str, qop: str | None = None, nc: str = "", cnonce: str = "") -> str:
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def new_nonce() -> str:
    return secrets.token_hex(16)


def build_challenge(realm: str, nonce: str, qop: bool, stale: bool = False) -> str:
    parts = [f'realm="{realm}"', f'nonce="{nonce}"']
    if qop:
        parts.append('qop="auth"')
    if stale:
        parts.append("stale=true")
    parts.append("algorithm=MD5")
    return "Digest " + ", ".join(parts)


def build_authorization(challenge: dict[str, str], *, username: str, password: str,
                        method: str, uri: str, nc: int = 1) -> str:
    """Answer a parsed WWW-Authenticate challenge (qop=auth when offered)."""
    realm = challenge.get("realm", "")
    nonce = challenge.get("nonce", "")
    offered = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else None
    nc_text = f"{nc:08x}"
    cnonce = secrets.token_hex(8) if qop else ""
    response = digest_response(username=username, realm=realm, password=password, method=method,
                               uri=uri, nonce=nonce, qop=qop, nc=nc_text, cnonce=cnonce)
    parts = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
             f'response="{response}"', "algorithm=MD5"]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


def check_authorization(params: dict[str, str], *, password: str, method: str) -> bool:
    """True if the Authorization params prove knowledge of ``password``."""
    qop = params.get("qop") or None
    if qop not in (None, "auth"):
        return False
    if params.get("algorithm", "MD5").upper() != "MD5":
        return False
    expected = digest_response(
        username=params.get("username", ""), realm=params.get("realm", ""), password=password,
        method=method, uri=params.get("uri", ""), nonce=params.get("nonce", ""), qop=qop,
        nc=params.get("nc", ""), cnonce=params.get("cnonce", ""))
    return secrets.compare_digest(expected, params.get("response", "").lower())
