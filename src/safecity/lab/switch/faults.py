"""Faults an operator or a test injects into one simulated switch (``SwitchLab.set_fault``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from safecity.errors import LabError

FAULT_NAMES = ("offline", "slow", "drop", "wrong_credentials", "reject", "legacy_ssh", "link_down")
# One-shot actions rather than lasting faults (``SwitchLab.set_fault`` performs them):
# ``reboot`` (sessions cut, running config back to saved, uptime from zero) and
# ``uptime <seconds>`` (the switch reports it has been up that long: history for reboot checks).
ACTIONS = ("reboot", "uptime")


@dataclass
class Faults:
    offline: bool = False  # not listening; open sessions are cut
    slow: float = 0.0  # seconds before the login banner and before each prompt
    drop_after: int | None = None  # close the session after this many config commands
    wrong_credentials: bool = False  # the password was changed on the device
    reject: str | None = None  # config lines containing this substring are refused
    legacy_ssh: bool = False  # only SHA-1 key exchange and ssh-rsa host keys
    links_down: tuple[str, ...] = ()  # ports whose link is down (cable pulled, fibre cut)

    def set(self, switch: str, fault: str, value: str | None) -> None:
        """Apply one fault; the message names the switch and the bad value."""
        def bad(why: str) -> LabError:
            return LabError(f"{switch}: set_fault {fault}: {why}")

        if fault in ("offline", "wrong_credentials", "legacy_ssh"):
            setattr(self, fault, True)
        elif fault == "slow":
            try:
                seconds = float(value or "")
            except ValueError as e:
                raise bad(f"value must be seconds, got {value!r}") from e
            if not 0 <= seconds <= 600:
                raise bad(f"value must be 0..600 seconds, got {value!r}")
            self.slow = seconds
        elif fault == "drop":
            if value is None or not value.isdigit() or int(value) < 1:
                raise bad(f"value must be a command count >= 1, got {value!r}")
            self.drop_after = int(value)
        elif fault == "link_down":
            if not value:
                raise bad("value must be the port whose link goes down")
            if value not in self.links_down:
                self.links_down = (*self.links_down, value)
        elif fault == "reject":
            if not value:
                raise bad("value must be the substring to reject")
            self.reject = value
        else:
            raise bad(f"unknown fault (known: {', '.join(FAULT_NAMES + ACTIONS)})")

    def active(self) -> dict[str, object]:
        """The faults that differ from a healthy switch, for ``status()``."""
        healthy = asdict(Faults())
        return {k: v for k, v in asdict(self).items() if v != healthy[k]}
