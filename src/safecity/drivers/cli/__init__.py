"""Switch CLIs over netmiko: platform behaviour as data (``platform.yml``), one session wrapper.

``SwitchSession`` is the only place netmiko and paramiko types are touched; everything above
it sees ``safecity.errors`` and plain text.
"""

from safecity.drivers.cli.platform import PlatformSpec, load_platform
from safecity.drivers.cli.session import SwitchSession, SwitchTarget

__all__ = ["PlatformSpec", "SwitchSession", "SwitchTarget", "load_platform"]
