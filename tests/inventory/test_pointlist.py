"""Point-list import (点位表): CSV and XLSX through a column mapping, row-numbered problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from safecity.errors import InventoryError
from safecity.inventory import check_deployment
from safecity.inventory.pointlist import import_point_list, import_to_file, load_mapping
from safecity.inventory.profiles import load_profiles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pointlists"
MAPPING = FIXTURES / "mapping.yml"
REGION_MAPPING = FIXTURES / "mapping-region.yml"
FIRST_CAMERA = ('      - {name: xhnm-cam-101, model: hikvision/DS-2CD2T47G2-L, mac: "44:19:b6:71:00:01", '
                'ip: 10.34.21.101, switch: xhnm-sw-01, port: GigabitEthernet1/0/10, category: road, '
                'location: {address: "南门路与人民路交叉口", lat: 31.8612, lon: 117.2831}}')


def edited_csv(tmp_path: Path, old: str, new: str, name: str = "points.csv") -> Path:
    text = (FIXTURES / "points.csv").read_text(encoding="utf-8-sig")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8-sig")
    return path


def messages(path: Path, mapping: Path = MAPPING) -> list[str]:
    result = import_point_list(path, load_mapping(mapping), load_profiles())
    return [str(p) for p in result.problems]


def test_csv_and_xlsx_give_the_same_fragment() -> None:
    mapping = load_mapping(MAPPING)
    from_csv = import_point_list(FIXTURES / "points.csv", mapping, load_profiles())
    from_xlsx = import_point_list(FIXTURES / "points.xlsx", mapping, load_profiles())
    assert from_csv.ok and from_xlsx.ok
    assert from_csv.counts == {"ipc": 3, "encoder": 1, "nvr": 1, "encoder-channel": 2}
    text = from_csv.to_yaml()
    assert text.replace("points.csv", "X") == from_xlsx.to_yaml().replace("points.xlsx", "X")
    assert FIRST_CAMERA in text.splitlines()
    site = yaml.safe_load(text)["sites"][0]
    assert site["name"] == "xh-nanmen"
    assert [c["name"] for c in site["encoders"][0]["channels"]] == ["xhnm-enc-02-ch1", "xhnm-enc-02-ch2"]
    assert site["cameras"][1]["mac"] == "44:19:b6:71:00:02"          # 44-19-B6-… normalised


def test_fragment_validates_inside_its_site(deployment: Path) -> None:
    """Pasted into xh-nanmen of the example, the imported devices pass every rule."""
    lines = import_point_list(FIXTURES / "points.xlsx", load_mapping(MAPPING), load_profiles()).to_yaml().splitlines()
    cameras = [ln for ln in lines if ln.startswith("      - {name: xhnm-cam-")]
    rest = lines[lines.index("    encoders:"):]
    xihu = deployment / "regions/luzhou/xihu.yml"
    text = xihu.read_text(encoding="utf-8")
    anchor = next(ln for ln in text.splitlines() if ln.startswith("      - {name: xhnm-cam-008"))
    text = text.replace(anchor, "\n".join([anchor, *cameras]))
    xihu.write_text(text.rstrip("\n") + "\n" + "\n".join(rest) + "\n", encoding="utf-8")
    checked = check_deployment(deployment)
    assert [str(p) for p in checked.problems] == []
    assert checked.deployment is not None and len(checked.deployment.devices) == 63 + 5


def test_region_mode_writes_a_county_file_that_validates(deployment: Path) -> None:
    out = deployment / "regions/luzhou/nanhu.yml"
    result = import_to_file(FIXTURES / "points.xlsx", REGION_MAPPING, out, load_profiles())
    assert result.ok, [str(p) for p in result.problems]
    assert out.read_text(encoding="utf-8").startswith("# Imported from points.xlsx")
    checked = check_deployment(deployment)
    assert [str(p) for p in checked.problems] == []
    assert checked.deployment is not None
    assert {s.name for s in checked.deployment.sites if s.region.code == "340104"} == {"nh-nanmen"}


def test_bad_mac_names_row_and_column_and_writes_nothing(tmp_path: Path) -> None:
    points = edited_csv(tmp_path, "3c:ef:8c:71:00:03", "44:19:b6:zz")
    out = tmp_path / "out.yml"
    result = import_to_file(points, MAPPING, out, load_profiles())
    assert [str(p) for p in result.problems] == [
        "points.csv:row 5: column 'MAC地址': 44:19:b6:zz is not a MAC address (aa:bb:cc:dd:ee:ff)",
    ]
    assert not out.exists()


def test_every_row_problem_is_reported(tmp_path: Path) -> None:
    points = edited_csv(tmp_path, "10.34.21.102", "10.34.21.300")
    text = points.read_text(encoding="utf-8-sig")
    text = text.replace("44:19:b6:71:00:07", "44:19:b6:71:00:01")          # duplicate MAC
    text = text.replace(",XHNM-ENC-02,,", ",XHNM-ENC-09,,", 1)              # channel of a missing encoder
    text = text.replace("大华 IPC-HFW2431S-S-S2", "宇视 IPC2124")             # unmapped vendor model
    points.write_text(text, encoding="utf-8-sig")
    assert messages(points) == [
        "points.csv:row 4: column 'IP地址': 10.34.21.300 is not an IPv4 address",
        ("points.csv:row 5: column '设备型号': unknown model profile '宇视 IPC2124' "
         "(map the integrator's name under values: model:)"),
        "points.csv:row 8: column '所属编码器': encoder XHNM-ENC-09 is not a row of kind encoder in this point list",
        "points.csv:row 10: column 'MAC地址': mac 44:19:b6:71:00:01 is already used on row 3",
    ]


def test_unknown_device_type_and_missing_name(tmp_path: Path) -> None:
    points = edited_csv(tmp_path, "球机", "半球")
    points.write_text(points.read_text(encoding="utf-8-sig").replace("XHNM-CAM-103", ""), encoding="utf-8-sig")
    assert messages(points) == [
        ("points.csv:row 4: column '设备类型': '半球' is not a device kind (ipc, encoder, encoder-channel, "
         "alarm_host, nvr); map it under values: kind:"),
        "points.csv:row 5: column '点位编号': name is required and the cell is empty",
    ]


def test_missing_header_column_is_reported_with_what_was_found(tmp_path: Path) -> None:
    points = edited_csv(tmp_path, "MAC地址", "物理地址")
    msgs = messages(points)
    assert len(msgs) == 1
    assert msgs[0].startswith("points.csv:row 2: column 'MAC地址': column for 'mac' not found in the header row "
                              "(found: '序号', '点位编号', ")


def test_gb18030_csv_from_chinese_excel_is_read(tmp_path: Path) -> None:
    text = (FIXTURES / "points.csv").read_text(encoding="utf-8-sig")
    points = tmp_path / "points.csv"
    points.write_bytes(text.encode("gb18030"))
    assert messages(points) == []


def test_gb_id_typed_as_a_number_in_excel_is_refused(tmp_path: Path) -> None:
    points = tmp_path / "points.xlsx"
    shutil.copy(FIXTURES / "points.xlsx", points)
    book = openpyxl.load_workbook(points)
    book["点位表"]["J3"] = 3.40103010013200e19          # what Excel stores for a typed-in 20-digit ID
    book.save(points)
    assert messages(points) == [
        ("points.xlsx:row 3: column '国标编码': stored as a number, so Excel kept only 15 significant digits; "
         "format the column as text and re-enter the value"),
    ]


def test_gb_id_as_text_is_kept(tmp_path: Path) -> None:
    points = edited_csv(tmp_path, ",10,,道路", ",10,34010301001320000101,道路")
    result = import_point_list(points, load_mapping(MAPPING), load_profiles())
    assert result.ok
    assert result.sites["xh-nanmen"]["cameras"][0]["gb_id"] == "34010301001320000101"


def test_wrong_sheet_name(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yml"
    mapping.write_text(MAPPING.read_text(encoding="utf-8").replace("sheet: 点位表", "sheet: Sheet9"), encoding="utf-8")
    assert messages(FIXTURES / "points.xlsx", mapping) == ["points.xlsx: no sheet 'Sheet9' (sheets: 点位表)"]


def test_bad_mapping_file_is_located(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yml"
    text = MAPPING.read_text(encoding="utf-8").replace("  mac: MAC地址\n", "  macc: MAC地址\n")
    mapping.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  macc: MAC地址") + 1
    with pytest.raises(InventoryError) as err:
        load_mapping(mapping)
    assert [str(p) for p in err.value.problems] == [
        (f"{mapping}:{line}: columns.macc: Input should be 'name', 'model', 'mac', 'ip', 'switch', 'port', "
         "'gb_id', 'category', 'location', 'lat', 'lon', 'site', 'kind', 'encoder', 'key_place', 'status', "
         "'industry' or 'credentials' (got 'macc')"),
    ]


def test_a_csv_renamed_to_xlsx_is_a_clear_error(tmp_path: Path) -> None:
    points = tmp_path / "points.xlsx"
    shutil.copy(FIXTURES / "points.csv", points)
    msgs = messages(points)
    assert len(msgs) == 1 and msgs[0].startswith("points.xlsx: cannot read: ")
