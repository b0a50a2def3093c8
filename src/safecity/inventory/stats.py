"""Inventory statistics for the bimonthly report: what is installed where, from the inventory alone."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from safecity.inventory.loader import Deployment, RegionNode
from safecity.inventory.models import Encoder

KEY_PLACE_CATEGORIES = ("school", "hospital", "transport_hub", "financial")


@dataclass
class RegionStats:
    code: str
    name: str
    tier: str
    devices: Counter[str] = field(default_factory=Counter)    # by kind, including sub-regions
    video_channels: int = 0                                    # IP cameras + encoder channels

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "tier": self.tier,
                "devices": dict(sorted(self.devices.items())), "video_channels": self.video_channels}


@dataclass
class KeyPlaceStats:
    category: str
    places: int = 0
    covered: int = 0

    @property
    def installation_rate(self) -> float | None:
        return self.covered / self.places if self.places else None

    def as_dict(self) -> dict[str, object]:
        return {"category": self.category, "places": self.places, "covered": self.covered,
                "installation_rate": self.installation_rate}


@dataclass
class InventoryStats:
    regions: list[RegionStats]
    sites: list[dict[str, object]]
    categories: dict[str, int]
    key_places: list[KeyPlaceStats]
    totals: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {"totals": self.totals, "regions": [r.as_dict() for r in self.regions],
                "sites": self.sites, "categories": self.categories,
                "key_places": [k.as_dict() for k in self.key_places]}


def compute_stats(deployment: Deployment) -> InventoryStats:
    per_region: dict[str, RegionStats] = {
        code: RegionStats(code, r.region.name, r.region.tier) for code, r in deployment.regions.items()
    }
    per_site: dict[str, dict[str, object]] = {}
    categories: Counter[str] = Counter()
    covered: dict[str, set[str]] = defaultdict(set)
    totals: Counter[str] = Counter()
    site_defaults_category: dict[int, str] = {}

    def bump(region: RegionNode, kind: str, channels: int) -> None:
        for node in region.lineage():
            rs = per_region[node.code]
            rs.devices[kind] += 1
            rs.video_channels += channels

    for s in deployment.sites:
        per_site[s.name] = {"site": s.name, "region": s.region.code, "type": s.site.type,
                            "cameras": 0, "devices": 0, "title": s.site.title}
    for sw in deployment.switches:
        if sw.switch.status != "decommissioned":
            bump(sw.site.region, "switch", 0)
            totals["switch"] += 1
    for p in deployment.platform_servers:
        bump(p.region, "platform_server", 0)
        totals["platform_server"] += 1
    for d in deployment.devices:
        dev = d.device
        if dev.status == "decommissioned":
            continue
        channels = len(dev.channels) if isinstance(dev, Encoder) else 1 if d.kind == "ipc" else 0
        bump(d.site.region, d.kind, channels)
        totals[d.kind] += 1
        site = per_site[d.site.name]
        site["devices"] = int(str(site["devices"])) + 1
        site["cameras"] = int(str(site["cameras"])) + channels
        if channels:
            if id(d.site) not in site_defaults_category:
                from safecity.inventory.loader import effective_defaults
                site_defaults_category[id(d.site)] = effective_defaults(deployment, d.site).category or "other"
            category = dev.category or site_defaults_category[id(d.site)]
            categories[category] += channels
            if dev.key_place and dev.status == "installed":
                covered[d.site.name].add(dev.key_place)
    totals["video_channels"] = sum(r.video_channels for r in per_region.values() if r.tier == "province") \
        or sum(int(str(s["cameras"])) for s in per_site.values())
    kp_stats = {c: KeyPlaceStats(c) for c in KEY_PLACE_CATEGORIES}
    for s in deployment.sites:
        for kp in s.site.key_places:
            stat = kp_stats.setdefault(kp.category, KeyPlaceStats(kp.category))
            stat.places += 1
            if kp.name in covered[s.name]:
                stat.covered += 1
    tier_order = {"province": 0, "city": 1, "county": 2}
    regions = sorted(per_region.values(), key=lambda r: (tier_order[r.tier], r.code))
    return InventoryStats(regions, list(per_site.values()), dict(categories.most_common()),
                          list(kp_stats.values()), dict(totals))
