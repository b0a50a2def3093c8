"""Load a deployment directory into typed, located objects — or every problem found.

Layout of ``inventory/<deployment>/``::

    deployment.yml            the deployment header and deployment-wide defaults
    regions/**/*.yml          one file per region (province, city, county) with its sites
    plan.lock.json            planner assignments (written by ``safecity plan --write``)

Every file is schema-checked on its own (so a county team sees only its own mistakes), then
the pieces are linked (parents, switches) and handed to ``validate.py`` for cross-file rules.
"""

from __future__ import annotations

import difflib
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from safecity.errors import Problem
from safecity.inventory.models import (
    FRONT_END_COLLECTIONS, ITEM_LABELS, AlarmHost, Camera, Defaults, DeploymentFile,
    DeploymentHeader, DeviceBase, Encoder, Nvr, PlatformServer, Region, RegionFile, Site, Switch,
)
from safecity.inventory.parallel_read import read_many
from safecity.inventory.yamlsource import LineIndex, SourceFile, read_yaml

SECRET_KEYS = frozenset({"password", "passwd", "secret", "psk", "community", "token",
                         "private_key", "api_key", "auth_password", "priv_password"})


@dataclass(eq=False)
class RegionNode:
    region: Region
    file: str
    line: int
    defaults: Defaults | None
    parent: RegionNode | None = None
    children: list[RegionNode] = field(default_factory=list)
    sites: list[SiteNode] = field(default_factory=list)
    platform_servers: list[PlatformEntry] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.region.code

    def lineage(self) -> Iterator[RegionNode]:
        node: RegionNode | None = self
        while node is not None:
            yield node
            node = node.parent

    @property
    def centre_code(self) -> str:
        return self.region.code + "00"


@dataclass(eq=False)
class SiteNode:
    site: Site
    region: RegionNode
    file: str
    line: int

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def centre_code(self) -> str:
        return self.region.code + self.site.grassroots


@dataclass(eq=False)
class DeviceEntry:
    """A front-end device (camera, encoder, alarm host, NVR) with where it was declared."""

    device: DeviceBase
    site: SiteNode
    file: str
    line: int
    keylines: dict[str, int]

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def kind(self) -> str:
        return str(getattr(self.device, "kind"))

    def line_of(self, key: str) -> int:
        return self.keylines.get(key, self.line)


@dataclass(eq=False)
class SwitchEntry:
    switch: Switch
    site: SiteNode
    file: str
    line: int
    keylines: dict[str, int]

    @property
    def name(self) -> str:
        return self.switch.name

    def line_of(self, key: str) -> int:
        return self.keylines.get(key, self.line)


@dataclass(eq=False)
class PlatformEntry:
    server: PlatformServer
    region: RegionNode
    file: str
    line: int
    keylines: dict[str, int]

    @property
    def name(self) -> str:
        return self.server.name

    def line_of(self, key: str) -> int:
        return self.keylines.get(key, self.line)


@dataclass
class Deployment:
    root: Path
    header: DeploymentHeader
    defaults: Defaults | None
    regions: dict[str, RegionNode]
    sites: list[SiteNode]
    devices: list[DeviceEntry]
    switches: list[SwitchEntry]
    platform_servers: list[PlatformEntry]
    files: list[str]
    defaults_cache: dict[int, Defaults] = field(default_factory=dict, repr=False)

    @property
    def province(self) -> RegionNode | None:
        return next((r for r in self.regions.values() if r.region.tier == "province"), None)


@dataclass
class LoadResult:
    deployment: Deployment | None
    problems: list[Problem]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building or scanning a big deployment.

    Loading a province creates tens of millions of objects, none of them garbage, and the
    collector would re-scan all of them many times: half the CPU time at 400k devices.
    Reference counting still frees everything; only cycle collection waits until the end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- locating pydantic errors -------------------------------------------------------------

def _walk(data: Any, loc: tuple[Any, ...]) -> tuple[list[tuple[Any, Any]], Any]:
    """Follow ``loc`` through raw data; return [(container, key), ...] visited and the leaf."""
    trail: list[tuple[Any, Any]] = []
    node = data
    for key in loc:
        trail.append((node, key))
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            break
    return trail, node


def _item_label(trail: list[tuple[Any, Any]]) -> str:
    """``camera yz-cam-0007`` for the innermost named thing on the path."""
    collection = None
    for i in range(len(trail) - 1, -1, -1):
        container, key = trail[i]
        if isinstance(container, list) and i > 0:
            collection = trail[i - 1][1]
            item = container[key] if isinstance(key, int) and key < len(container) else None
            label = ITEM_LABELS.get(str(collection), str(collection))
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                return f"{label} {item['name']}"
            return f"{label} #{key + 1 if isinstance(key, int) else key}"
        if isinstance(container, dict) and key in ("region", "deployment") and isinstance(container.get(key), dict):
            val = container[key]
            ident = val.get("code") or val.get("name")
            return f"{key} {ident}" if ident else str(key)
    return ""


def _field_path(loc: tuple[Any, ...]) -> str:
    """Field name relative to the innermost list item: ``ip``, ``channels[2].gb_id``."""
    last_int = max((i for i, k in enumerate(loc) if isinstance(k, int)), default=-1)
    tail = loc[last_int + 1:]
    return ".".join(str(k) for k in tail)


def _line_for(index: LineIndex, trail: list[tuple[Any, Any]]) -> int:
    for container, key in reversed(trail):
        line = index.line_of(container, key)
        if line:
            return line
    return 0


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Best effort: the keys the model at ``loc`` accepts, for did-you-mean hints."""
    current: Any = model
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or key not in fields:
            return []
        ann = fields[key].annotation
        current = _model_in(ann)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _model_in(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def problems_from_validation(err: ValidationError, src: SourceFile, model: type[BaseModel],
                             skip_keys: frozenset[str] = frozenset()) -> list[Problem]:
    out: list[Problem] = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        # Discriminated/union noise: keep the error on the deepest real path.
        loc = tuple(k for k in loc if not (isinstance(k, str) and ("[" in k or k in ("str", "Location"))))
        trail, _ = _walk(src.data, loc)
        line = _line_for(src.index, trail)
        item = _item_label(trail)
        fieldname = _field_path(loc)
        etype = e["type"]
        if etype == "extra_forbidden":
            key = str(loc[-1])
            if key in skip_keys:
                continue
            hint = difflib.get_close_matches(key, _allowed_keys(model, loc), n=1)
            msg = f"unknown key '{key}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        elif etype == "missing":
            msg = f"missing required key '{loc[-1]}'"
        elif etype in ("ipv4", "subnet", "mac", "gb_id", "name"):
            msg = f"{fieldname} {e['msg']}"
        elif etype == "secret":
            msg = f"{fieldname} {e['msg']}"
        else:
            value = e.get("input")
            shown = value if isinstance(value, (str, int, float, bool)) or value is None else type(value).__name__
            msg = f"{fieldname}: {e['msg'].rstrip('.')} (got {shown!r})" if fieldname else e["msg"]
        out.append(Problem(src.display, line, item, msg, "secret" if etype == "secret" else "schema"))
    return out


def find_literal_secrets(src: SourceFile) -> list[Problem]:
    """Keys like ``password:`` with a value anywhere in a file are literal secrets."""
    keys = src.index.distinct_keys
    if keys is not None and not any(isinstance(k, str) and k.lower() in SECRET_KEYS for k in keys):
        return []   # no such key anywhere: skip the walk (~5 µs per device at province scale)
    out: list[Problem] = []
    stack: list[tuple[Any, list[tuple[Any, Any]]]] = [(src.data, [])]
    while stack:
        node, trail = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.lower() in SECRET_KEYS and v not in (None, ""):
                    t = trail + [(node, k)]
                    out.append(Problem(src.display, src.index.line_of(node, k), _item_label(t),
                                       f"{k}: literal secret in the inventory; use 'credentials: vault_<name>' "
                                       "and keep the value in Ansible vault", "secret"))
                elif isinstance(v, (dict, list)):
                    stack.append((v, trail + [(node, k)]))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, (dict, list)):
                    stack.append((v, trail + [(node, i)]))
    return sorted(out, key=lambda p: p.line)


# --- loading ------------------------------------------------------------------------------

def region_files(root: Path) -> list[Path]:
    return sorted((root / "regions").rglob("*.yml"))


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent.parent)) if root.parent.name == "inventory" else str(path)
    except ValueError:
        return str(path)


def _parse_region_file(path: Path, display: str, header_only: bool = False,
                       src: SourceFile | None = None) -> tuple[RegionFile | None, SourceFile, list[Problem]]:
    if src is None:
        src = read_yaml(path, display, drop_top_level=frozenset({"sites"}) if header_only else frozenset())
    if src.problems and src.data is None:
        return None, src, src.problems
    problems = list(src.problems)
    if not isinstance(src.data, dict):
        problems.append(Problem(display, 1, "", "a region file must be a mapping with 'region:' and 'sites:'"))
        return None, src, problems
    secrets = find_literal_secrets(src)
    problems.extend(secrets)
    try:
        return RegionFile.model_validate(src.data), src, problems
    except ValidationError as e:
        problems.extend(problems_from_validation(e, src, RegionFile, SECRET_KEYS))
        return None, src, problems


def _entries(items: Iterable[Any], raw_list: Any, index: LineIndex) -> Iterator[tuple[Any, int, dict[str, int]]]:
    raw_items = raw_list if isinstance(raw_list, list) else []
    for i, item in enumerate(items):
        raw = raw_items[i] if i < len(raw_items) else None
        entry = index.maps.get(id(raw)) if raw is not None else None
        line, keylines = entry if entry else (index.line_of(raw_list, i), {})
        yield item, line, keylines


def load_deployment(root: Path, *, files: Iterable[Path] | None = None,
                    headers_only: Iterable[Path] = ()) -> LoadResult:
    """Read and schema-check every file; link regions and sites. Never touches a device.

    ``files`` limits loading to those region files (default: all of ``regions/**``);
    ``headers_only`` are read for their region header, defaults and platform servers only,
    their ``sites:`` skipped (a scoped load needs its ancestors' platforms, not their sites).
    """
    with paused_gc():
        return _load_deployment(root, files=files, headers_only=headers_only)


def _load_deployment(root: Path, *, files: Iterable[Path] | None = None,
                     headers_only: Iterable[Path] = ()) -> LoadResult:
    root = root.resolve()
    header_only_set = {p.resolve() for p in headers_only}
    problems: list[Problem] = []
    header_path = root / "deployment.yml"
    header_display = _display(header_path, root)
    if not header_path.exists():
        return LoadResult(None, [Problem(header_display, 0, "", "deployment.yml not found", "file")])
    hsrc = read_yaml(header_path, header_display)
    problems.extend(hsrc.problems)
    header_file: DeploymentFile | None = None
    if hsrc.data is not None:
        problems.extend(find_literal_secrets(hsrc))
        try:
            header_file = DeploymentFile.model_validate(hsrc.data)
        except ValidationError as e:
            problems.extend(problems_from_validation(e, hsrc, DeploymentFile, SECRET_KEYS))

    files = region_files(root) if files is None else sorted({*(p.resolve() for p in files), *header_only_set})
    if not files:
        problems.append(Problem(_display(root / "regions", root), 0, "", "no region files (regions/**/*.yml)", "file"))
    regions: dict[str, RegionNode] = {}
    sites: list[SiteNode] = []
    devices: list[DeviceEntry] = []
    switches: list[SwitchEntry] = []
    platforms: list[PlatformEntry] = []
    displays: list[str] = [header_display]
    # Files are parsed in worker processes when the deployment is large (see parallel_read).
    sources = read_many([(path, _display(path, root), frozenset({"sites"}) if path in header_only_set else frozenset())
                         for path in files])
    for path, pre_read in zip(files, sources):
        display = pre_read.display
        displays.append(display)
        parsed, src, file_problems = _parse_region_file(path, display, path in header_only_set, pre_read)
        problems.extend(file_problems)
        if parsed is None:
            continue
        raw = src.data
        rline = src.index.line_of(raw, "region")
        code = parsed.region.code
        if code in regions:
            other = regions[code]
            problems.append(Problem(display, rline, f"region {code}",
                                    f"region {code} is already defined in {other.file}:{other.line}", "duplicate"))
            continue
        node = RegionNode(parsed.region, display, rline, parsed.defaults)
        regions[code] = node
        for srv, line, keylines in _entries(parsed.platform_servers, raw.get("platform_servers"), src.index):
            entry = PlatformEntry(srv, node, display, line, keylines)
            node.platform_servers.append(entry)
            platforms.append(entry)
        raw_sites = raw.get("sites")
        for s_i, (site, sline, _) in enumerate(_entries(parsed.sites, raw_sites, src.index)):
            snode = SiteNode(site, node, display, sline)
            node.sites.append(snode)
            sites.append(snode)
            raw_site = raw_sites[s_i]
            for sw, line, keylines in _entries(site.switches, raw_site.get("switches"), src.index):
                switches.append(SwitchEntry(sw, snode, display, line, keylines))
            for coll in FRONT_END_COLLECTIONS:
                for dev, line, keylines in _entries(getattr(site, coll), raw_site.get(coll), src.index):
                    devices.append(DeviceEntry(dev, snode, display, line, keylines))
        # Raw data and line tables are no longer needed: let them go file by file.
        del src
    for node in regions.values():
        parent_code = node.region.parent
        if node.region.tier == "province":
            if parent_code:
                problems.append(Problem(node.file, node.line, f"region {node.code}", "a province has no parent", "topology"))
            continue
        if not parent_code:
            problems.append(Problem(node.file, node.line, f"region {node.code}",
                                    f"a {node.region.tier} needs 'parent:' (the code of the region above)", "topology"))
            continue
        parent = regions.get(parent_code)
        if parent is None:
            problems.append(Problem(node.file, node.line, f"region {node.code}",
                                    f"parent region {parent_code} is not defined in any file", "topology"))
            continue
        expected = {"city": "province", "county": "city"}[node.region.tier]
        if parent.region.tier != expected:
            problems.append(Problem(node.file, node.line, f"region {node.code}",
                                    f"a {node.region.tier}'s parent must be a {expected}, {parent_code} is a {parent.region.tier}",
                                    "topology"))
        node.parent = parent
        parent.children.append(node)
    if header_file is None:
        return LoadResult(None, problems)
    deployment = Deployment(root, header_file.deployment, header_file.defaults, regions, sites,
                            devices, switches, platforms, displays)
    return LoadResult(deployment, problems)


def effective_defaults(deployment: Deployment, site: SiteNode) -> Defaults:
    """Merge defaults: site > region files (nearest first) > deployment."""
    cached = deployment.defaults_cache.get(id(site))
    if cached is not None:
        return cached
    layers: list[Defaults] = []
    if site.site.defaults:
        layers.append(site.site.defaults)
    layers.extend(r.defaults for r in site.region.lineage() if r.defaults)
    if deployment.defaults:
        layers.append(deployment.defaults)
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged.update({k: v for k, v in layer.model_dump(exclude_none=True).items()})
    result = Defaults.model_validate(merged)
    deployment.defaults_cache[id(site)] = result
    return result


__all__ = ["AlarmHost", "Camera", "Deployment", "DeviceEntry", "Encoder", "LoadResult", "Nvr",
           "PlatformEntry", "RegionNode", "SiteNode", "SwitchEntry", "load_deployment",
           "effective_defaults", "Site"]
