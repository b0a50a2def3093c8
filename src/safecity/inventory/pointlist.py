"""Import integrators' point lists (点位表, CSV or XLSX) into inventory YAML.

A mapping file (YAML) says which column holds which field, how cell values translate
(vendor model aliases, Chinese device types), where the header row is and which sheet to
read. Each row becomes a device validated by the inventory's own pydantic models; every
problem names the row and the column as the integrator sees them::

    points.xlsx:row 17: column 'MAC地址': 44:19:b6:zz is not a MAC address (aa:bb:cc:dd:ee:ff)

Rows of kind ``encoder-channel`` are grouped under the encoder named in their ``encoder``
column. The output is a region-file fragment (``sites:`` with devices, one device per line),
or a whole region file when the mapping gives the region header and the sites' networks.
Nothing is written when any row has a problem.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openpyxl.utils.exceptions import InvalidFileException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safecity.errors import InventoryError, Problem
from safecity.inventory.emit import document
from safecity.inventory.loader import problems_from_validation
from safecity.inventory.models import (
    AlarmHost,
    Camera,
    Defaults,
    DeviceBase,
    Encoder,
    EncoderChannel,
    Nvr,
    Region,
    Subnet,
    TwoDigits,
)
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.yamlsource import read_yaml

PointField = Literal["name", "model", "mac", "ip", "switch", "port", "gb_id", "category", "location",
                     "lat", "lon", "site", "kind", "encoder", "key_place", "status", "industry",
                     "credentials"]
Kind = Literal["ipc", "encoder", "encoder-channel", "alarm_host", "nvr"]
KIND_MODELS: dict[str, type[BaseModel]] = {"ipc": Camera, "encoder": Encoder, "alarm_host": AlarmHost,
                                           "nvr": Nvr, "encoder-channel": EncoderChannel}
COLLECTION_BY_KIND = {"ipc": "cameras", "encoder": "encoders", "alarm_host": "alarm_hosts", "nvr": "nvrs"}
KIND_ALIASES = {"camera": "ipc", "encoder_channel": "encoder-channel", "channel": "encoder-channel",
                "alarm-host": "alarm_host"}
# Fields that are not device fields: they place the row, not describe it.
PLACEMENT_FIELDS = frozenset({"site", "kind", "encoder", "lat", "lon"})
_WS_RE = re.compile(r"\s+")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")   # as models.Name


class SiteHeader(BaseModel):
    """A site's network header, for emitting a whole region file (the fields of ``Site``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["centre", "station"] = "station"
    grassroots: TwoDigits = "00"
    title: str | None = None
    camera_subnet: Subnet
    camera_vlan: int = Field(ge=2, le=4094)
    mgmt_subnet: Subnet
    mgmt_vlan: int = Field(ge=2, le=4094)


class ColumnMapping(BaseModel):
    """How to read one integrator's point list. Stored as YAML next to the point list."""

    model_config = ConfigDict(extra="forbid")
    sheet: str | None = Field(None, description="XLSX sheet name (default: the first sheet)")
    header_row: int = Field(1, ge=1, description="1-based row holding the column headers")
    encoding: str | None = Field(None, description="CSV encoding (default: UTF-8, then GB18030)")
    columns: dict[PointField, str] = Field(description="field → header text, e.g. mac: MAC地址")
    values: dict[PointField, dict[str, str]] = Field(default_factory=dict,
                                                     description="field → {cell text: inventory value}")
    formats: dict[PointField, str] = Field(default_factory=dict,
                                           description="field → template for bare numbers, e.g. port: GigabitEthernet0/0/{}")
    constants: dict[PointField, str] = Field(default_factory=dict,
                                             description="field → value for every row without that column")
    region: Region | None = None
    defaults: Defaults | None = None
    sites: dict[str, SiteHeader] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _needs_name(cls, v: dict[str, str]) -> dict[str, str]:
        if "name" not in v:
            raise ValueError("columns must map 'name' (the point/device name column)")
        return v


@dataclass(frozen=True)
class RowProblem:
    """One problem in a point list, located as the integrator sees it (row and header)."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:row {self.row}" if self.row else self.file
        return f"{where}: column '{self.column}': {self.message}" if self.column else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    """Devices by site (inventory-shaped dicts, file order) or the problems that stop the import."""

    source: str
    rows: int
    sites: dict[str, dict[str, list[dict[str, Any]]]]
    problems: list[RowProblem]
    mapping: ColumnMapping
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_yaml(self) -> str:
        """The region file (mapping has ``region:``) or the ``sites:`` fragment."""
        sites = []
        for name, collections in self.sites.items():
            site: dict[str, Any] = {"name": name}
            header = self.mapping.sites.get(name)
            if self.mapping.region is not None and header is not None:
                site.update(header.model_dump(exclude_none=True))
            site.update({k: v for k, v in collections.items() if v})
            sites.append(site)
        comment = [f"Imported from {self.source} by `safecity inventory import` ({self.rows} rows)."]
        if self.mapping.region is None:
            comment.append("A fragment: paste each site's devices into the site of that name in its region file.")
            return document({"sites": sites}, comment)
        region = self.mapping.region.model_dump(exclude_none=True)
        defaults = self.mapping.defaults.model_dump(exclude_none=True) if self.mapping.defaults else None
        return document({"region": region, "defaults": defaults, "sites": sites}, comment)

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "ok": self.ok, "rows": self.rows, "counts": self.counts,
                "sites": {name: {k: len(v) for k, v in c.items() if v} for name, c in self.sites.items()},
                "problems": [p.as_dict() for p in self.problems]}


def load_mapping(path: Path) -> ColumnMapping:
    """Read a mapping file; ``InventoryError`` with file:line problems if it is wrong."""
    src = read_yaml(path, str(path))
    if src.data is None:
        raise InventoryError(src.problems or [Problem(str(path), 0, "", "mapping file is empty")])
    if src.problems:
        raise InventoryError(src.problems)
    if not isinstance(src.data, dict):
        raise InventoryError([Problem(str(path), 1, "", "a mapping file is a YAML mapping with 'columns:'")])
    try:
        return ColumnMapping.model_validate(src.data)
    except ValidationError as e:
        raise InventoryError(problems_from_validation(e, src, ColumnMapping)) from None


# --- reading rows -----------------------------------------------------------------------

def _norm_header(text: object) -> str:
    # Excel headers often carry line breaks or full-width spaces ("MAC\n地址"): compare without.
    return _WS_RE.sub("", str(text)).replace("\u3000", "") if text is not None else ""


def _read_csv(path: Path, encoding: str | None) -> Iterator[tuple[int, list[object]]]:
    raw = path.read_bytes()
    if encoding:
        text = raw.decode(encoding)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")   # what Excel on a Chinese Windows saves as "CSV"
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield number, list(row)


def _read_xlsx(path: Path, sheet: str | None) -> Iterator[tuple[int, list[object]]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise _SheetMissing(f"no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


class _SheetMissing(Exception):
    pass


def _cell_text(value: object, field_name: str) -> tuple[str | None, str | None]:
    """(text, problem) for one cell; numbers as Excel shows them, long numbers refused."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return str(value).lower(), None
    if isinstance(value, float):
        if field_name == "gb_id" or (value.is_integer() and abs(value) >= 1e15):
            return None, ("stored as a number, so Excel kept only 15 significant digits; "
                          "format the column as text and re-enter the value")
        if value.is_integer() and field_name not in ("lat", "lon"):
            value = int(value)
    text = str(value).strip()
    return (text or None), None


# --- building devices ---------------------------------------------------------------------

@dataclass
class _Row:
    number: int
    values: dict[str, str]


def import_point_list(path: Path, mapping: ColumnMapping,
                      catalog: ProfileCatalog | None = None) -> ImportResult:
    """Rows → devices grouped by site; every problem with its row number and column header."""
    source = path.name
    problems: list[RowProblem] = []
    result = ImportResult(source, 0, {}, problems, mapping)

    def problem(row: int, fld: str | None, message: str) -> None:
        column = mapping.columns.get(fld, "") if fld else ""   # type: ignore[call-overload]
        problems.append(RowProblem(source, row, column, message))

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        problem(0, None, "a point list is a .csv or .xlsx file")
        return result
    try:
        rows_iter = _read_csv(path, mapping.encoding) if suffix == ".csv" else _read_xlsx(path, mapping.sheet)
        rows = _collect_rows(rows_iter, mapping, source, problems)
    except _SheetMissing as e:
        problem(0, None, str(e))
        return result
    except (OSError, UnicodeDecodeError, LookupError, csv.Error, ValueError, KeyError, zipfile.BadZipFile,
            InvalidFileException) as e:
        problem(0, None, f"cannot read: {e}")
        return result
    if problems:
        return result
    result.rows = len(rows)
    _build(rows, mapping, catalog, result, problem)
    if problems:
        result.sites = {}
    return result


def _collect_rows(rows_iter: Iterator[tuple[int, list[object]]], mapping: ColumnMapping, source: str,
                  problems: list[RowProblem]) -> list[_Row]:
    header: dict[str, int] = {}
    positions: dict[PointField, int] = {}
    rows: list[_Row] = []
    for number, cells in rows_iter:
        if number < mapping.header_row:
            continue
        if number == mapping.header_row:
            for i, cell in enumerate(cells):
                key = _norm_header(cell)
                if key and key not in header:
                    header[key] = i
            for fld, title in mapping.columns.items():
                pos = header.get(_norm_header(title))
                if pos is None:
                    shown = ", ".join(f"'{str(c).strip()}'" for c in cells if c not in (None, ""))
                    problems.append(RowProblem(source, number, title,
                                               f"column for '{fld}' not found in the header row (found: {shown})"))
                else:
                    positions[fld] = pos
            if problems:
                return []
            continue
        if all(c is None or str(c).strip() == "" for c in cells):
            continue                                     # blank spacer rows are common
        values: dict[str, str] = {}
        for fld, pos in positions.items():
            text, trouble = _cell_text(cells[pos] if pos < len(cells) else None, fld)
            if trouble:
                problems.append(RowProblem(source, number, mapping.columns[fld], trouble))
                continue
            if text is None:
                continue
            text = mapping.values.get(fld, {}).get(text, text)
            template = mapping.formats.get(fld)
            if template and text.isdigit():
                text = template.replace("{}", text)
            values[fld] = text
        for fld, constant in mapping.constants.items():
            values.setdefault(fld, constant)
        rows.append(_Row(number, values))
    if not header:
        problems.append(RowProblem(source, mapping.header_row, "", "header row not found (the file has fewer rows)"))
    return rows


def _mac_text(normalised: str) -> str:
    return ":".join(normalised[i:i + 2] for i in range(0, 12, 2))


def _build(rows: list[_Row], mapping: ColumnMapping, catalog: ProfileCatalog | None,
           result: ImportResult, problem: Callable[[int, str | None, str], None]) -> None:
    seen: dict[str, dict[str, int]] = {"name": {}, "mac": {}, "ip": {}, "gb_id": {}}
    encoders: dict[str, tuple[_Row, dict[str, Any], str]] = {}    # name → (row, device, site)
    channels: list[tuple[_Row, dict[str, Any]]] = []
    devices: list[tuple[_Row, str, dict[str, Any], str]] = []      # row, kind, device, site

    def unique(row: _Row, fld: str, value: str | None) -> None:
        if value in (None, "allocate"):
            return
        first = seen[fld].setdefault(str(value), row.number)
        if first != row.number:
            problem(row.number, fld, f"{fld} {value} is already used on row {first}")

    for row in rows:
        v: dict[str, Any] = dict(row.values)
        kind_text = v.pop("kind", "ipc").strip()
        kind = KIND_ALIASES.get(kind_text.lower(), kind_text.lower())
        if kind not in KIND_MODELS:
            problem(row.number, "kind", f"'{kind_text}' is not a device kind (ipc, encoder, encoder-channel, "
                                        "alarm_host, nvr); map it under values: kind:")
            continue
        site = v.pop("site", None)
        encoder = v.pop("encoder", None)
        lat, lon = v.pop("lat", None), v.pop("lon", None)
        if "name" in v:
            v["name"] = v["name"].lower()         # point numbers are often upper case (XH-NM-001)
        if lat is not None or lon is not None:
            v["location"] = {"address": v.get("location"), "lat": lat, "lon": lon}
        model = KIND_MODELS[kind]
        data: dict[str, Any] = {k: val for k, val in v.items() if not (isinstance(val, dict) and not any(val.values()))}
        if kind == "encoder":
            data["channels"] = [{"name": "placeholder"}]        # real channels are checked below
        try:
            obj = model.model_validate(data)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                loc = [k for k in err["loc"] if isinstance(k, str) and k not in ("str", "Location")]
                fld = loc[0] if loc else None
                if fld == "location" and (lat is not None or lon is not None) and len(loc) > 1:
                    fld = loc[1] if loc[1] in ("lat", "lon") else "location"
                if err["type"] == "extra_forbidden":
                    problem(row.number, fld, f"an {kind} has no {fld}; leave the cell empty")
                elif err["type"] == "missing":
                    problem(row.number, fld, f"{fld} is required and the cell is empty")
                elif err["type"] in ("ipv4", "subnet", "mac", "gb_id", "name", "secret"):
                    problem(row.number, fld, err["msg"])
                else:
                    problem(row.number, fld, f"{err['msg'].rstrip('.')} (got {err.get('input')!r})")
            continue
        dev: dict[str, Any] = obj.model_dump(exclude_unset=True, exclude_none=True)
        if kind == "encoder":
            dev.pop("channels", None)
        if isinstance(obj, DeviceBase):
            dev["mac"] = _mac_text(obj.mac)
            if catalog is not None:
                profile = catalog.device(obj.model)
                if profile is None:
                    problem(row.number, "model", f"unknown model profile '{obj.model}' "
                                                 "(map the integrator's name under values: model:)")
                elif profile.kind != kind:
                    problem(row.number, "model", f"model {obj.model} is a {profile.kind}, not a {kind}")
        unique(row, "name", dev["name"])
        if kind != "encoder-channel":
            unique(row, "mac", dev.get("mac"))
            unique(row, "ip", dev.get("ip"))
        unique(row, "gb_id", dev.get("gb_id"))
        if kind == "encoder-channel":
            if not encoder:
                problem(row.number, "encoder" if "encoder" in mapping.columns else "kind",
                        "an encoder channel needs the name of its encoder (the 'encoder' column)")
                continue
            channels.append((row, {**dev, "encoder": encoder.lower()}))
            continue
        if not site:
            problem(row.number, "site", "no site: fill the site column or set constants: site:")
            continue
        site = site.lower()
        if not _NAME_RE.match(site):
            problem(row.number, "site", f"{site} is not a valid site name (lower-case letters, digits, . _ -); "
                                        "map it under values: site:")
            continue
        if kind == "encoder":
            encoders[dev["name"]] = (row, dev, site)
        devices.append((row, kind, dev, site))

    for row, ch in channels:
        owner = encoders.get(ch.pop("encoder"))
        if owner is None:
            problem(row.number, "encoder", f"encoder {row.values.get('encoder')} is not a row of kind encoder "
                                           "in this point list")
            continue
        owner[1].setdefault("channels", []).append(ch)
    for name, (row, dev, _site) in encoders.items():
        if not dev.get("channels"):
            problem(row.number, "name", f"encoder {name} has no channels (rows of kind encoder-channel naming it)")
        elif catalog is not None and (profile := catalog.device(dev["model"])) and len(dev["channels"]) > profile.channels:
            problem(row.number, "name", f"encoder {name}: {len(dev['channels'])} channels but model "
                                        f"{dev['model']} has only {profile.channels}")
    if mapping.region is not None:
        headless: set[str] = set()
        for row, _kind, _dev, site in devices:
            if site not in mapping.sites and site not in headless:
                headless.add(site)             # reported on its first row only
                problem(row.number, "site", f"site {site} has no header under sites: in the mapping "
                                            "(camera_subnet, camera_vlan, mgmt_subnet, mgmt_vlan)")
    counts: dict[str, int] = {}
    for row, kind, dev, site in devices:
        coll = COLLECTION_BY_KIND[kind]
        result.sites.setdefault(site, {c: [] for c in COLLECTION_BY_KIND.values()})[coll].append(dev)
        counts[kind] = counts.get(kind, 0) + 1
    counts["encoder-channel"] = sum(len(d.get("channels", [])) for _r, k, d, _s in devices if k == "encoder")
    result.counts = counts
    result.problems.sort(key=lambda p: (p.row, p.column))


def import_to_file(points: Path, mapping_path: Path, out: Path,
                   catalog: ProfileCatalog | None = None) -> ImportResult:
    """The ``safecity inventory import`` command: import, and write ``out`` only if clean.

    ``InventoryError`` if the mapping file itself is wrong. Writes atomically (temp + rename).
    """
    mapping = load_mapping(mapping_path)
    result = import_point_list(points, mapping, catalog)
    if result.ok:
        text = result.to_yaml()
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    return result
