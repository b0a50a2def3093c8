"""The lab's GB/T 28181 SIP peers: a platform registrar and the device-side user agent.

Its SIP, digest and MANSCDP handling is its own; nothing here is shared with
``safecity.drivers.sip`` (see docs: the lab must not cancel out a driver's encoding bug).
"""

from safecity.lab.sip.device import GbAccessConfig, LabGbDevice
from safecity.lab.sip.registrar import CatalogItem, LabRegistrar, RegistrarSpec, Registration

__all__ = [
    "CatalogItem",
    "GbAccessConfig",
    "LabGbDevice",
    "LabRegistrar",
    "RegistrarSpec",
    "Registration",
]
