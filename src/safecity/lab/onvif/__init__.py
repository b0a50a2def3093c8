"""Simulated ONVIF devices (cameras, encoders, NVRs) with vendor HTTP APIs, for the lab.

The lab shares no protocol code with ``safecity.drivers.onvif``: its SOAP, WS-Security, HTTP
digest and ISAPI handling are its own, so a driver bug cannot be cancelled out by the lab.

Usage::

    lab = await OnvifLab.start(specs, state_dir, address_map=real_ip_to_loopback)
    lab.set_fault("cam1", "slow", "2")      # offline, slow, drop, wrong_credentials,
    lab.clear_faults("cam1")                # clock_skew, stuck_after_reboot, reject,
    lab.device_state("cam1"); lab.status()  # network_change_lost; actions reboot, uptime <s>
    await lab.close()

Vendor GB/T 28181 pages, chosen by the profile's ``behaviour.gb28181_api``: ``isapi``
(``isapi.py``) and ``dahua_cgi`` (``dahua_cgi.py``, Dahua-like ``configManager.cgi``, key names
*unverified*); both drive the same SIP user agent through ``gb_bridge.py``, which applies one
device's re-configurations one at a time, the latest settings winning.

Simplifications (documented, deliberate): the ISAPI activation password is plain XML (real
devices RSA-encrypt it against a challenge); ver10 media reports ``H265`` in ``tt:Encoding``
and carries the GOP in ``tt:H264`` for both codecs; WS-Discovery answers unicast probes only;
SetNetworkProtocols is stored and reported but the lab keeps its configured ports.

Behaviour the profile data does not carry yet is on the spec (proposed profile keys):
``allow_password_text`` (``onvif.password_text``) and ``network_reboot_needed``
(``onvif.network_reboot_needed``).

Cost per device: one listening TCP socket, one UDP socket (discovery), one UDP socket while its
GB/T 28181 agent runs, plus one per open client connection; about 8 KB of Python memory.
"""

from safecity.lab.onvif.lab import OnvifLab, loopback_identity
from safecity.lab.onvif.spec import (
    EncoderSettings,
    Gb28181Settings,
    NetworkSettings,
    OnvifDeviceSpec,
    SnapshotProvider,
)

__all__ = ["EncoderSettings", "Gb28181Settings", "NetworkSettings", "OnvifDeviceSpec",
           "OnvifLab", "SnapshotProvider", "loopback_identity"]
