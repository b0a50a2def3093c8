"""Typed results of the SIP driver (what callers above the driver see)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogItem:
    """One channel (or alarm point) from a GB/T 28181 Catalog response."""

    device_id: str
    name: str
    civil_code: str = ""
    parent_id: str = ""
    status: str = ""        # ON / OFF as the device reports it
    manufacturer: str = ""
    model: str = ""
    address: str = ""


@dataclass(frozen=True)
class PlatformRegistration:
    """One registered contact as the platform (Kamailio usrloc or the lab) lists it."""

    device_id: str          # AoR user part: the 20-digit GB/T 28181 ID
    contact: str            # Contact URI the device registered
    expires: int | None     # seconds left; None for a permanent binding
    last_seen: float | None  # epoch seconds of the latest REGISTER/keepalive the platform saw
    user_agent: str = ""
    last_keepalive_message: float | None = None  # MANSCDP keepalive, if the platform reports it


@dataclass(frozen=True)
class RegisterProbeResult:
    """Outcome of one REGISTER (with digest) against a registrar."""

    status: int             # final status: 200, 403, 401 (credentials refused again), ...
    reason: str
    date: str | None        # the Date header of the final answer (GB/T 28181 time sync)
    expires: int | None     # granted expiry on 200
    challenged: bool        # whether the registrar asked for digest auth
