"""The vendor data's snapshot paths: the main stream's picture, and the sub stream's where the
vendor has one (what the nightly video-quality check fetches)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from safecity.inventory.profiles import VendorBehaviour, load_profiles

VENDORS = Path(__file__).resolve().parents[2] / "device_templates" / "vendors"


def test_vendor_files_name_their_sub_stream_picture() -> None:
    catalog = load_profiles()
    paths = {}
    for model in ("hikvision/DS-2CD2T47G2-L", "dahua/IPC-HFW2431S-S-S2", "generic/ONVIF-PTZ-2MP"):
        profile = catalog.device(model)
        assert profile is not None and profile.behaviour is not None
        paths[profile.vendor] = (profile.behaviour.snapshot_path, profile.behaviour.snapshot_sub_path)
    assert paths == {
        "hikvision": ("/ISAPI/Streaming/channels/{channel}01/picture", "/ISAPI/Streaming/channels/{channel}02/picture"),
        "dahua": ("/cgi-bin/snapshot.cgi?channel={channel}", "/cgi-bin/snapshot.cgi?channel={channel}&subtype=1"),
        "generic": ("/snapshot/{channel}.jpg", None),
    }


def test_a_sub_picture_without_a_main_one_is_refused() -> None:
    data = yaml.safe_load((VENDORS / "generic_alarm.yml").read_text(encoding="utf-8"))
    data["snapshot_sub_path"] = "/picture/sub.jpg"
    with pytest.raises(ValidationError, match="snapshot_sub_path needs snapshot_path"):
        VendorBehaviour.model_validate(data)
