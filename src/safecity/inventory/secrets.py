"""Secrets derived from the vault master key, never stored per device.

Each GB/T 28181 device gets its own SIP password, derived deterministically from one
master key and the device's 20-digit ID, so the inventory holds no per-device secret and
a leaked camera password says nothing about its neighbours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# 20 urlsafe-base64 characters carry 120 bits: strong, and short enough for device web UIs
# that cap the SIP password field (common limit: 32 characters).
DEVICE_SIP_PASSWORD_LENGTH = 20


def derive_device_sip_password(master_key: str, device_id: str) -> str:
    """First 20 chars of urlsafe-base64(HMAC-SHA256(master_key, device_id))."""
    if not master_key:
        raise ValueError("master key is empty")
    if not device_id:
        raise ValueError("device id is empty")
    digest = hmac.new(master_key.encode("utf-8"), device_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:DEVICE_SIP_PASSWORD_LENGTH]

