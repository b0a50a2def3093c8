"""Server-side authentication: WS-Security UsernameToken (ONVIF) and HTTP digest/basic.

Both check against a device's account list; the caller picks the list (device users or the
separate ONVIF users). Passwords are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from safecity.lab.onvif.soap import WSSE, WSU, not_authorized
from safecity.lab.onvif.state import Account

PASSWORD_DIGEST = "#PasswordDigest"
PASSWORD_TEXT = "#PasswordText"
MAX_CLOCK_DIFF_S = 300.0  # WS-Security Created must be within ±5 min of the device clock
NONCE_TTL_S = 2 * MAX_CLOCK_DIFF_S


class NonceCache:
    """Nonces seen recently by one device; a replayed nonce is refused.

    Entries older than the staleness window are dropped, since a replay that old fails the
    Created check anyway; that bounds memory by the request rate, not by uptime.
    """

    __slots__ = ("_next_purge", "_seen")

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._next_purge = 0.0

    def check_and_add(self, nonce: str, now: float) -> bool:
        if now >= self._next_purge:
            self._seen = {n: t for n, t in self._seen.items() if now - t < NONCE_TTL_S}
            self._next_purge = now + 30.0
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


def _parse_created(value: str) -> float | None:
    try:
        ts = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def _find(accounts: Sequence[Account], username: str) -> Account | None:
    for a in accounts:
        if a.username == username:
            return a
    return None


def verify_username_token(security: etree._Element, accounts: Sequence[Account],
                          device_now: float, nonces: NonceCache, *, allow_text: bool,
                          require_zulu: bool, password_override: str | None = None,
                          broken_passwords: bool = False, extra_password: str | None = None) -> Account:
    """Return the authenticated account or raise ``ter:NotAuthorized``.

    ``broken_passwords`` models a device whose passwords someone else changed: every stored
    password is wrong; ``password_override`` (if given) is the one that works instead.
    ``extra_password`` models firmware that accepts a second password (the factory one kept
    as a back door) for every user besides the stored one.
    """
    token = security.find(f"{{{WSSE}}}UsernameToken")
    if token is None:
        raise not_authorized()
    username = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
    pw_el = token.find(f"{{{WSSE}}}Password")
    if pw_el is None:
        raise not_authorized()
    pw_type = pw_el.get("Type", PASSWORD_TEXT)
    supplied = pw_el.text or ""
    account = _find(accounts, username)
    secret = account.password if account is not None else None
    if broken_passwords:
        secret = password_override
    if pw_type.endswith(PASSWORD_DIGEST):
        nonce_b64 = (token.findtext(f"{{{WSSE}}}Nonce") or "").strip()
        created = (token.findtext(f"{{{WSU}}}Created") or "").strip()
        if not nonce_b64 or not created:
            raise not_authorized()
        if require_zulu and not created.endswith("Z"):
            raise not_authorized("Created must be a UTC 'Z' timestamp")
        created_ts = _parse_created(created)
        if created_ts is None or abs(created_ts - device_now) > MAX_CLOCK_DIFF_S:
            raise not_authorized("message timestamp is stale or in the future")
        try:
            nonce = base64.b64decode(nonce_b64, validate=True)
        except (binascii.Error, ValueError):
            raise not_authorized() from None
        if account is None or secret is None:
            raise not_authorized()
        if not any(hmac.compare_digest(base64.b64encode(hashlib.sha1(
                nonce + created.encode() + candidate.encode()).digest()).decode(), supplied.strip())
                   for candidate in _candidates(secret, extra_password)):
            raise not_authorized()
        # Only a valid token consumes its nonce, so a forged one cannot block a real client.
        if not nonces.check_and_add(nonce_b64, device_now):
            raise not_authorized("nonce replayed")
        return account
    if pw_type.endswith(PASSWORD_TEXT):
        if not allow_text:
            raise not_authorized("PasswordText not accepted")
        if account is None or secret is None or not any(
                hmac.compare_digest(c.encode(), supplied.encode()) for c in _candidates(secret, extra_password)):
            raise not_authorized()
        return account
    raise not_authorized()


def _candidates(secret: str, extra: str | None) -> tuple[str, ...]:
    return (secret,) if extra is None or extra == secret else (secret, extra)


# ---- HTTP digest (RFC 7616, MD5 with qop=auth) and basic -----------------------------------

_NONCE_KEY = secrets.token_bytes(32)  # per process: lab restarts invalidate outstanding nonces
DIGEST_NONCE_TTL_S = 300


def _nonce_mac(stamp: str, realm: str) -> str:
    return hmac.new(_NONCE_KEY, f"{stamp}:{realm}".encode(), hashlib.sha256).hexdigest()[:32]


def digest_challenge(realm: str, stale: bool = False) -> str:
    """A stateless nonce (timestamp + MAC): no per-client memory on a thousand-device lab."""
    stamp = str(int(time.time()))
    nonce = base64.b64encode(f"{stamp}:{_nonce_mac(stamp, realm)}".encode()).decode()
    opaque = secrets.token_hex(8)
    return (f'Digest realm="{realm}", qop="auth", nonce="{nonce}", opaque="{opaque}", '
            f'algorithm=MD5, stale={"TRUE" if stale else "FALSE"}')


def _parse_digest(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    rest = header[len("Digest"):].strip()
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            end = rest.find('"', i + 1)
            if end < 0:
                break
            out[key] = rest[i + 1:end]
            i = end + 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            out[key] = rest[i:end].strip()
            i = end
        comma = rest.find(",", i)
        i = len(rest) if comma < 0 else comma + 1
    return out


def _md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


class HttpAuthResult:
    __slots__ = ("account", "stale")

    def __init__(self, account: Account | None, stale: bool = False) -> None:
        self.account, self.stale = account, stale


def verify_http_auth(header: str | None, method: str, path_qs: str, realm: str,
                     accounts: Sequence[Account], *, allow_basic: bool, allow_digest: bool,
                     password_override: str | None = None,
                     broken_passwords: bool = False, extra_password: str | None = None) -> HttpAuthResult:
    """Check an Authorization header; ``account`` is None when it does not authenticate.
    ``password_override``, ``broken_passwords``, ``extra_password``: as for
    ``verify_username_token``."""
    if not header:
        return HttpAuthResult(None)

    def secret_of(a: Account | None) -> str | None:
        if broken_passwords:
            return password_override if a is not None else None
        return a.password if a is not None else None

    if header.startswith("Basic ") and allow_basic:
        try:
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return HttpAuthResult(None)
        account = _find(accounts, user)
        secret = secret_of(account)
        if secret is not None and any(hmac.compare_digest(c.encode(), pw.encode())
                                      for c in _candidates(secret, extra_password)):
            return HttpAuthResult(account)
        return HttpAuthResult(None)
    if header.startswith("Digest ") and allow_digest:
        p = _parse_digest(header)
        nonce = p.get("nonce", "")
        try:
            stamp, mac = base64.b64decode(nonce).decode().split(":", 1)
            issued = int(stamp)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return HttpAuthResult(None)
        if p.get("realm") != realm or not hmac.compare_digest(mac, _nonce_mac(stamp, realm)):
            return HttpAuthResult(None)
        if p.get("uri") not in (path_qs, path_qs.split("?", 1)[0]):
            return HttpAuthResult(None)
        account = _find(accounts, p.get("username", ""))
        secret = secret_of(account)
        if secret is None:
            return HttpAuthResult(None)
        ha2 = _md5(f"{method}:{p['uri']}")

        def answers(candidate: str) -> bool:
            ha1 = _md5(f"{account.username}:{realm}:{candidate}") if account else ""
            if p.get("qop") == "auth":
                expected = _md5(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}")
            else:
                expected = _md5(f"{ha1}:{nonce}:{ha2}")
            return hmac.compare_digest(expected, p.get("response", ""))

        if not any(answers(c) for c in _candidates(secret, extra_password)):
            return HttpAuthResult(None)
        if time.time() - issued > DIGEST_NONCE_TTL_S:
            return HttpAuthResult(None, stale=True)
        return HttpAuthResult(account)
    return HttpAuthResult(None)
