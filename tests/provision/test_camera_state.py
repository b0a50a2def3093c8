"""desired_camera_state and the diff: pure functions, no devices."""

from __future__ import annotations

import pytest
from onvif_driver_support import DAHUA, HIK, HIK_ENCODER, profile

from safecity.provision.camera_state import (
    CameraState,
    DesiredStateError,
    StreamSpec,
    UserSpec,
    desired_camera_state,
    diff_camera_state,
)
from safecity.provision.result import MASK, Change, Result


def _desired(key: str = DAHUA, **kw: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = dict(  # noqa: C408
        device="cam1", profile=profile(key), hostname="cam1", ip="10.35.2.10", prefix=24,
        gateway="10.35.2.1", ntp_servers=["10.35.0.123"], dns_servers=["10.35.0.53"],
        admin_password="Vault-Adm1n", accounts=[UserSpec("viewer", "View-er001", "User")])
    values.update(kw)
    return desired_camera_state(**values)  # type: ignore[arg-type]


def test_streams_come_from_the_profile_with_site_overrides() -> None:
    d = _desired(HIK_ENCODER, stream_overrides={"sub": {"fps": 10}, "3:main": {"gop": 25}})
    assert sorted(d.encoders) == [f"{c}:{k}" for c in range(1, 5) for k in ("main", "sub")]
    assert d.encoders["1:main"] == StreamSpec("H264", "1920x1080", 25, 2048, 50)
    assert d.encoders["2:sub"].fps == 10 and d.encoders["3:main"].gop == 25
    assert d.encoders["4:main"].gop == 50


def test_factory_account_is_rotated_or_removed() -> None:
    assert _desired().remove_users == ()  # the admin *is* the factory account: rotated
    d = _desired(admin_username="safecity", remove_users=["888888"])
    assert d.admin == UserSpec("safecity", "Vault-Adm1n", "Administrator")
    assert d.remove_users == ("888888", "admin")


@pytest.mark.parametrize(("kw", "message"), [
    ({"stream_overrides": {"main": {"fps": 50}}}, "cam1: stream 1:main: fps 50 outside 1..25"),
    ({"stream_overrides": {"main": {"codec": "MJPEG"}}}, "codec MJPEG not offered"),
    ({"stream_overrides": {"main": {"bitrate": 1}}}, "unknown field 'bitrate'"),
    ({"stream_overrides": {"third": {"fps": 5}}}, "stream override key 'third'"),
    ({"admin_password": "short"}, "cam1: password of admin is shorter than 8 characters"),
    ({"gateway": "10.35.3.1"}, "cam1: gateway 10.35.3.1 is outside 10.35.2.0/24"),
    ({"hostname": "bad_name"}, "hostname 'bad_name' is not a valid host name"),
])
def test_bad_inputs_are_refused_with_a_message(kw: dict[str, object], message: str) -> None:
    with pytest.raises(DesiredStateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _desired(**kw)


def test_hikvision_policy_needs_three_classes() -> None:
    with pytest.raises(DesiredStateError, match="fewer than 3 character classes"):
        _desired(HIK, admin_password="alllowercase1")


def test_diff_masks_passwords_and_orders_network_last() -> None:
    d = _desired(admin_username="safecity", remove_users=["888888"])
    current = CameraState(
        hostname="old", timezone="CST-8", ntp_enabled=False, ntp_servers=(), dns_servers=(),
        users={"admin": "Administrator", "viewer": "Operator"},
        user_passwords_ok={"viewer": False},
        encoders={k: v for k, v in d.encoders.items()}, discoverable=True,
        address="10.35.2.99", prefix=24, gateway="10.35.2.1")
    diff = diff_camera_state(current, d)
    settings = [c.setting for c in diff]
    assert settings == ["time.ntp_servers", "time.type", "hostname", "dns_servers",
                        "users.safecity", "users.viewer.level", "users.viewer.password",
                        "users.admin", "discoverable", "network.address"]
    assert Change("users.viewer.password", MASK, MASK) in diff
    assert "Vault" not in Result("cam1", True, diff).to_json()
