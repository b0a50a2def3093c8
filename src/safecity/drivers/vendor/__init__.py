"""Vendor HTTP API plug-ins: factory-new activation, ONVIF enablement and users, GB/T 28181.

The plug-in is chosen from the model profile's data (``behaviour.activation`` and
``behaviour.gb28181_api``), never from the vendor's name: ``plugins_for(profile, ...)``.
"""

from safecity.drivers.vendor.plugins import (
    ActivationPlugin,
    Gb28181Plugin,
    Gb28181Settings,
    VendorEndpoint,
    activation_plugin,
    gb28181_plugin,
)

__all__ = ["ActivationPlugin", "Gb28181Plugin", "Gb28181Settings", "VendorEndpoint",
           "activation_plugin", "gb28181_plugin"]
