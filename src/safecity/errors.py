"""The one error hierarchy. Drivers wrap third-party exceptions into these (``raise ... from e``)."""

from __future__ import annotations

from dataclasses import dataclass


class SafecityError(Exception):
    """Root of every error safecity raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One inventory problem, located: ``file:line: item: message``."""

    file: str
    line: int
    item: str
    message: str
    rule: str = "schema"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.item}: {self.message}" if self.item else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "item": self.item,
                "message": self.message, "rule": self.rule}


class InventoryError(SafecityError):
    """The inventory is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = str(problems[0]) if problems else "invalid inventory"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(head + more)


class PlanError(SafecityError):
    """An address or ID pool is exhausted, or a lock file is unreadable."""


class ImportError_(SafecityError):
    """A point list (CSV/XLSX) could not be imported; message names the row."""


class DeviceError(SafecityError):
    """A device-level failure; the message always starts with the device name."""

    def __init__(self, device: str, operation: str, reason: str) -> None:
        self.device, self.operation, self.reason = device, operation, reason
        super().__init__(f"{device}: {operation}: {reason}")


class DeviceUnreachable(DeviceError):
    """No answer (refused, timed out, reset)."""


class DeviceTimeout(DeviceUnreachable):
    """The device accepted the connection but did not answer in time."""


class AuthFailed(DeviceError):
    """Credentials were refused."""


class DeviceRejected(DeviceError):
    """The device refused a setting or command (fault, error string)."""


class WrongDevice(DeviceError):
    """Another box answered where this device was expected (its MAC or serial differ)."""


class VerificationFailed(DeviceError):
    """After applying, the re-read state does not match the desired state."""


class LabError(SafecityError):
    """The virtual device lab could not start, stop or find a device."""
