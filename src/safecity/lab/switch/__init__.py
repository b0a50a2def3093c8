"""Simulated SSH switches (Huawei VRP, H3C Comware, Cisco IOS) for the virtual device lab."""

from safecity.lab.switch.faults import FAULT_NAMES
from safecity.lab.switch.lab import SwitchLab
from safecity.lab.switch.spec import PLATFORMS, MacEntry, Platform, PortSpec, SwitchSpec

__all__ = ["FAULT_NAMES", "PLATFORMS", "MacEntry", "Platform", "PortSpec", "SwitchLab",
           "SwitchSpec"]
