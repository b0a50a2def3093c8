"""Lab media: the simulated cameras' RTSP service and snapshot pictures.

Shares no code with safecity.drivers.rtsp or safecity.health.vqd on purpose: the lab is what
those are tested against.
"""

from safecity.lab.media.rtsp_endpoint import RtspEndpointSpec, RtspFault, StreamSpec
from safecity.lab.media.rtsp_lab import RtspLab
from safecity.lab.media.snapshot_render import (
    SNAPSHOT_FAULTS,
    SnapshotFault,
    SnapshotSource,
    render_snapshot,
)

__all__ = ["SNAPSHOT_FAULTS", "RtspEndpointSpec", "RtspFault", "RtspLab", "SnapshotFault",
           "SnapshotSource", "StreamSpec", "render_snapshot"]
