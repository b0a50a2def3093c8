"""GB/T 28181 20-digit IDs: ``CCCCCCCC II TTT N SSSSSS`` (DOMAIN.md §2)."""

from __future__ import annotations

from dataclasses import dataclass

# Type digits a device kind may carry.
TYPE_BY_KIND: dict[str, tuple[str, ...]] = {
    "ipc": ("132",),
    "encoder": ("113", "112"),
    "encoder_channel": ("131",),
    "alarm_host": ("117",),
    "alarm_input": ("134",),
    "alarm_output": ("135",),
    "nvr": ("118", "111"),
}
TYPE_BY_PLATFORM_ROLE: dict[str, str] = {
    "sip": "200", "media": "202", "database": "206", "management": "208", "gateway": "209",
    "storage": "210",
}
TYPE_NAMES = {
    "111": "DVR", "112": "video server", "113": "encoder", "114": "decoder", "117": "alarm controller",
    "118": "NVR", "131": "camera (analog channel)", "132": "IP camera", "134": "alarm input",
    "135": "alarm output", "200": "SIP server", "202": "media server", "206": "database server",
    "208": "management server", "209": "access gateway", "210": "media storage server",
}

# Network digit by edition and by the network a device really sits on.
NETWORK_DIGITS: dict[int, dict[str, tuple[str, ...]]] = {
    2016: {"video_private": ("0", "1", "2", "3", "4"), "psin": ("5",), "government": ("6",),
           "internet": ("7",), "social_resource": ("8",)},
    2022: {"video_private": ("0", "1"), "industry_private": ("2",), "psin": ("5",),
           "internet": ("7",), "leased_line": ("8",)},
}

INDUSTRY_BY_CATEGORY: dict[str, str] = {
    "road": "00", "checkpoint": "05", "community": "01", "residential": "80", "internal": "02",
    "traffic": "04", "city_management": "08", "health": "09", "hospital": "09", "customs": "10",
    "school": "11", "transport_hub": "04", "financial": "40", "enterprise": "40",
    "government": "02", "other": "03",
}


@dataclass(frozen=True)
class GbId:
    centre: str
    industry: str
    type: str
    network: str
    serial: str

    @classmethod
    def parse(cls, value: str) -> GbId:
        if len(value) != 20 or not value.isdigit():
            raise ValueError(f"{value} is not a 20-digit GB/T 28181 ID")
        return cls(value[:8], value[8:10], value[10:13], value[13], value[14:])

    def __str__(self) -> str:
        return f"{self.centre}{self.industry}{self.type}{self.network}{self.serial}"

    @property
    def sip_domain(self) -> str:
        return str(self)[:10]


def allowed_network_digits(edition: int, network: str) -> tuple[str, ...]:
    return NETWORK_DIGITS.get(edition, {}).get(network, ())


def default_network_digit(edition: int, network: str) -> str:
    digits = allowed_network_digits(edition, network)
    if not digits:
        raise ValueError(f"network {network} has no GB/T 28181-{edition} network digit")
    return digits[0]
