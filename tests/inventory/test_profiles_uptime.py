"""The vendor data's ``uptime`` key: where the nightly check reads uptime, validated on load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from safecity.inventory.profiles import UptimeApi, load_profiles


def test_vendor_files_name_their_uptime_api() -> None:
    catalog = load_profiles()
    hik = catalog.device("hikvision/DS-2CD2T47G2-L")
    dahua = catalog.device("dahua/IPC-HFW2431S-S-S2")
    generic = catalog.device("generic/ONVIF-PTZ-2MP")
    assert hik and hik.behaviour and hik.behaviour.uptime
    assert hik.behaviour.uptime.path == "/ISAPI/System/status"
    found = hik.behaviour.uptime.compiled().search(
        b'<DeviceStatus version="2.0"><deviceUpTime>86400</deviceUpTime></DeviceStatus>')
    assert found is not None and found.group(1) == b"86400"
    assert dahua and dahua.behaviour and dahua.behaviour.uptime
    assert [dahua.behaviour.uptime.compiled().search(b).group(1)  # type: ignore[union-attr]
            for b in (b"up=5400\r\n", b"uptime=44201.67\r\n")] == [b"5400", b"44201"]
    assert generic and generic.behaviour and generic.behaviour.uptime is None


@pytest.mark.parametrize(("pattern", "message"), [
    ("<deviceUpTime>\\d+", "uptime.pattern: needs exactly one group (the seconds)"),
    ("(up)=(\\d+)", "uptime.pattern: needs exactly one group (the seconds)"),
    ("up=(\\d+", "uptime.pattern: missing ), unterminated subpattern at position 3"),
])
def test_bad_uptime_pattern_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        UptimeApi(path="/ISAPI/System/status", pattern=pattern)


def test_uptime_path_must_be_a_request_target() -> None:
    with pytest.raises(ValidationError, match="String should match pattern"):
        UptimeApi(path="ISAPI/System/status", pattern="(\\d+)")
