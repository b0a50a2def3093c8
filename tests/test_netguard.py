"""With SAFECITY_LOOPBACK_ONLY set (the test and demo commands set it), drivers never dial off 127/8."""

from __future__ import annotations

import asyncio

import pytest

from safecity.drivers.reachability import tcp_reachable
from safecity.drivers.rtsp import describe
from safecity.errors import DeviceUnreachable
from safecity.netguard import ENV, check_target


def test_guard_is_on_in_tests() -> None:
    import os

    assert os.environ.get(ENV) == "1"


@pytest.mark.parametrize("host", ["10.34.18.2", "192.168.1.64", "172.16.0.1", "8.8.8.8"])
def test_real_addresses_are_refused_before_any_packet(host: str) -> None:
    with pytest.raises(DeviceUnreachable, match=f"refusing to contact non-loopback address {host}"):
        check_target("cam-1", "connect", host)
    assert asyncio.run(tcp_reachable(host, 80, 5)) is None
    with pytest.raises(DeviceUnreachable, match="non-loopback"):
        asyncio.run(describe(f"rtsp://{host}:554/stream", "u", "p", 5))


def test_loopback_is_allowed() -> None:
    check_target("cam-1", "connect", "127.34.18.2")
    check_target("cam-1", "connect", "localhost")
