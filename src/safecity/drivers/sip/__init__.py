"""GB/T 28181 / SIP driver: platform registrations (Kamailio JSON-RPC), Catalog queries and
REGISTER probes from safecity's own small UA. Shares no protocol code with the lab."""

from safecity.drivers.sip.catalog import query_catalog
from safecity.drivers.sip.kamailio import list_registrations
from safecity.drivers.sip.models import CatalogItem, PlatformRegistration, RegisterProbeResult
from safecity.drivers.sip.probe import register_probe

__all__ = [
    "CatalogItem",
    "PlatformRegistration",
    "RegisterProbeResult",
    "list_registrations",
    "query_catalog",
    "register_probe",
]
