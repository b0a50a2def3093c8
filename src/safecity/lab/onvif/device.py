"""One simulated device at run time: its state, clock, faults and what its protocols share.

Kept deliberately small (a few hundred bytes plus its state) because one lab process holds
thousands. Listening sockets are owned by the lab, which moves and restarts them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from safecity.errors import LabError
from safecity.lab.onvif.auth import NonceCache
from safecity.lab.onvif.spec import OnvifDeviceSpec
from safecity.lab.onvif.state import Account, DeviceState, save_state

FAULTS = ("offline", "slow", "drop", "wrong_credentials", "also_accepts", "clock_skew",
          "stuck_after_reboot", "reject", "network_change_lost")
# One-shot actions rather than lasting faults (``OnvifLab.set_fault`` performs them), as the
# switches have: ``reboot`` (as SystemReboot: offline for the reboot time, uptime from zero) and
# ``uptime <seconds>`` (the device reports having been up that long: history for reboot checks).
ACTIONS = ("reboot", "uptime")
LEVEL_RANK = {"Anonymous": 0, "User": 1, "Operator": 2, "Administrator": 3}

Phase = Literal["up", "down", "rebooting", "moving", "lost", "unplugged"]


@dataclass(frozen=True)
class After:
    """Something the lab does once the reply is on the wire (reboot, re-address, re-register)."""

    action: Literal["reboot", "network", "gb"]


class SimDevice:
    __slots__ = (
        "boot_time",
        "faults",
        "nonces",
        "path",
        "pending_network",
        "phase",
        "requests",
        "revision",
        "spec",
        "state",
    )

    def __init__(self, spec: OnvifDeviceSpec, state: DeviceState, path: Path) -> None:
        self.spec = spec
        self.state = state
        self.path = path
        self.faults: dict[str, str | None] = {}
        self.nonces = NonceCache()
        self.requests = 0  # counted for the "drop" fault
        self.phase: Phase = "down"
        # Set by SetNetworkInterfaces when the profile needs a reboot to apply it.
        self.pending_network = False
        self.boot_time = time.time()  # reset by a reboot only (not by offline/online or a move)
        self.revision = 0  # bumped by every persisted change (the worker's RTSP sync reads it)

    # ---- identity / behaviour --------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def vendor(self) -> str:
        return self.spec.profile.vendor

    @property
    def http_auth(self) -> str:
        b = self.spec.profile.behaviour
        return b.onvif.http_auth if b is not None else "none"

    @property
    def realm(self) -> str:
        # Hikvision-like devices use a fixed realm per device family; a per-device realm keeps
        # digest credentials from one lab device valid only there.
        return f"{self.vendor}-{self.spec.serial}"

    def base_url(self) -> str:
        return f"http://{self.state.listen_host}:{self.spec.http_port}"

    # ---- clock ------------------------------------------------------------------------------
    def clock_offset(self) -> float:
        """Device clock minus true time, in seconds (configured offset plus a clock_skew fault)."""
        skew = self.faults.get("clock_skew")
        return self.state.clock_offset_s + (float(skew) if skew else 0.0)

    def now(self) -> float:
        return time.time() + self.clock_offset()

    # ---- accounts ---------------------------------------------------------------------------
    def onvif_accounts(self) -> list[Account]:
        return self.state.onvif_accounts(self.spec.separate_onvif_users)

    @property
    def credentials_broken(self) -> bool:
        return "wrong_credentials" in self.faults

    @property
    def credentials_override(self) -> str | None:
        return self.faults.get("wrong_credentials")

    @property
    def credentials_extra(self) -> str | None:
        return self.faults.get("also_accepts")

    # ---- faults -----------------------------------------------------------------------------
    def set_fault(self, fault: str, value: str | None) -> None:
        if fault not in FAULTS:
            raise LabError(f"{self.name}: unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        if fault in ("slow", "clock_skew"):
            try:
                float(value or "")
            except ValueError:
                raise LabError(f"{self.name}: fault {fault} needs a number of seconds") from None
        if fault == "also_accepts" and not value:
            raise LabError(f"{self.name}: fault also_accepts needs the second password it accepts")
        if fault == "drop":
            self.requests = 0
        self.faults[fault] = value

    def persist(self) -> None:
        save_state(self.path, self.state)
        self.revision += 1
