"""Validation rules a device applies to settings it is given (password strength, encoder ranges)."""

from __future__ import annotations

import ipaddress
import re
import string

from safecity.inventory.profiles import DeviceProfile
from safecity.lab.onvif.spec import EncoderSettings

_HOSTNAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")


def password_problem(profile: DeviceProfile, password: str) -> str | None:
    """Why the vendor's policy rejects ``password``, or None when it is acceptable."""
    b = profile.behaviour
    if b is None:
        return None if password else "empty password"
    policy = b.password_policy
    if len(password) < policy.min_length:
        return f"password shorter than {policy.min_length} characters"
    if len(password) > 64:
        return "password longer than 64 characters"
    classes = sum(any(ch in group for ch in password) for group in (
        string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation))
    if classes < policy.min_classes:
        return f"password must mix at least {policy.min_classes} character classes"
    return None


def encoder_problem(profile: DeviceProfile, enc: EncoderSettings) -> str | None:
    """Why the model's encoder cannot run ``enc``, or None when it is within its options."""
    opts = profile.encoder_options
    if opts is None:
        return None
    if enc.codec not in opts.codecs:
        return f"codec {enc.codec} not supported (supported: {', '.join(opts.codecs)})"
    if f"{enc.width}x{enc.height}" not in opts.resolutions:
        return f"resolution {enc.width}x{enc.height} not supported"
    for label, value, (lo, hi) in (("frame rate", enc.fps, opts.fps),
                                   ("bitrate", enc.bitrate_kbps, opts.bitrate_kbps),
                                   ("GOP length", enc.gop, opts.gop)):
        if not lo <= value <= hi:
            return f"{label} {value} outside {lo}..{hi}"
    return None


def valid_hostname(name: str) -> bool:
    return bool(_HOSTNAME.match(name))


def valid_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True
