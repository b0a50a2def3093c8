"""Load only the part of a deployment a play needs: some regions (with everything below them)
or some sites, plus the region headers and platform servers of their ancestors.

A 400,000-device province is ~150 region files; a play over one county must not parse the
other 149. Files are chosen from a cheap pre-scan of each file's ``region:`` header (code,
parent, tier — the first lines of the file), and, for site limits, from a plain substring
search for the site names. Ancestors are read without their ``sites:`` block. Full
cross-file validation (duplicates across counties) stays the job of ``safecity inventory
validate`` over the whole deployment; a scoped load validates what it loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from safecity.errors import Problem
from safecity.inventory.loader import Deployment, load_deployment, region_files
from safecity.inventory.profiles import ProfileCatalog, ProfileError, load_profiles
from safecity.inventory.validate import validate

# The region header is the first thing in a region file by convention; read this much first.
_HEAD_BYTES = 8192
_REGION_BLOCK_RE = re.compile(r"^region\s*:[ \t]*(?:#.*)?\n((?:(?:[ \t]+.*|[ \t]*(?:#.*)?)\n)*)", re.MULTILINE)


@dataclass(frozen=True)
class RegionFileHeader:
    """What the pre-scan learnt about one region file without parsing it."""

    path: Path
    code: str | None      # None: no readable header; such a file is always loaded in full
    parent: str | None


@dataclass
class ScopedLoad:
    deployment: Deployment | None
    catalog: ProfileCatalog | None
    problems: list[Problem]
    files_read: list[Path] = field(default_factory=list)
    headers_read: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.deployment is not None and self.catalog is not None and not self.problems


def _header_from_text(text: str) -> tuple[str | None, str | None] | None:
    match = _REGION_BLOCK_RE.search(text if text.endswith("\n") else text + "\n")
    if match is None:
        return None
    try:
        block = yaml.load("region:\n" + match.group(1), Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None
    region = block.get("region") if isinstance(block, dict) else None
    if not isinstance(region, dict) or region.get("code") is None:
        return None
    parent = region.get("parent")
    return str(region["code"]), (str(parent) if parent is not None else None)


def scan_region_header(path: Path) -> RegionFileHeader:
    """Code and parent of a region file from its ``region:`` block, without a full parse."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
            # Cut at the last full line; if the header is not in the head, read on.
            found = _header_from_text(head[: head.rfind(b"\n") + 1].decode("utf-8", "replace"))
            if found is None and len(head) == _HEAD_BYTES:
                found = _header_from_text((head + fh.read()).decode("utf-8", "replace"))
    except OSError:
        found = None
    if found is None:
        return RegionFileHeader(path, None, None)
    return RegionFileHeader(path, found[0], found[1])


def _files_naming(paths: Iterable[Path], names: Iterable[str]) -> set[Path]:
    """Files whose text contains any of ``names`` (a superset of the files declaring them)."""
    needles = [n.encode("utf-8") for n in names]
    out: set[Path] = set()
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError:
            out.add(p)  # let the loader report it
            continue
        if any(n in data for n in needles):
            out.add(p)
    return out


def select_region_files(root: Path, regions: Iterable[str] | None = None,
                        sites: Iterable[str] | None = None) -> tuple[list[Path], list[Path], list[Problem]]:
    """(files to read in full, ancestor files to read for headers only, problems)."""
    paths = region_files(root)
    headers = [scan_region_header(p) for p in paths]
    by_code: dict[str, list[RegionFileHeader]] = {}
    for h in headers:
        if h.code is not None:
            by_code.setdefault(h.code, []).append(h)
    unknown = {h.path for h in headers if h.code is None}
    problems: list[Problem] = []

    full: set[Path] = {h.path for h in headers}
    if regions is not None:
        wanted = [str(c) for c in regions]
        for code in wanted:
            if code not in by_code:
                problems.append(Problem(str(root / "regions"), 0, f"region {code}",
                                        "no region file declares this code", "scope"))
        children: dict[str, list[str]] = {}
        for h in headers:
            if h.code is not None and h.parent is not None:
                children.setdefault(h.parent, []).append(h.code)
        subtree: set[str] = set()
        stack = [c for c in wanted if c in by_code]
        while stack:
            code = stack.pop()
            if code in subtree:
                continue
            subtree.add(code)
            stack.extend(children.get(code, ()))
        full = {h.path for code in subtree for h in by_code[code]}
    if sites is not None:
        full &= _files_naming(full, sites)
    full |= unknown

    # Ancestors of every fully read file, for their region header and platform servers.
    parent_of = {h.code: h.parent for h in headers if h.code is not None}
    codes_read = {h.code for h in headers if h.path in full and h.code is not None}
    ancestor_codes: set[str] = set()
    for code in codes_read:
        parent = parent_of.get(code)
        seen = 0
        while parent is not None and parent not in ancestor_codes and seen < 8:
            ancestor_codes.add(parent)
            parent = parent_of.get(parent)
            seen += 1
    header_only = {h.path for c in ancestor_codes for h in by_code.get(c, ())} - full
    return sorted(full), sorted(header_only), problems


def load_scoped(root: Path, *, regions: Iterable[str] | None = None, sites: Iterable[str] | None = None,
                templates: Path | None = None) -> ScopedLoad:
    """Load, schema-check and validate the files a region/site limit needs (all if no limit)."""
    try:
        catalog = load_profiles(templates)
    except ProfileError as e:
        return ScopedLoad(None, None, e.problems)
    root = root.resolve()
    region_list = list(regions) if regions is not None else None
    site_list = list(sites) if sites is not None else None
    if region_list is None and site_list is None:
        loaded = load_deployment(root)
        files, header_only = region_files(root), list[Path]()
        problems = list(loaded.problems)
    else:
        files, header_only, problems = select_region_files(root, region_list, site_list)
        loaded = load_deployment(root, files=files, headers_only=header_only)
        problems += loaded.problems
    if loaded.deployment is not None:
        problems += validate(loaded.deployment, catalog)
        if site_list is not None:
            known = {s.name for s in loaded.deployment.sites}
            problems += [Problem(str(root / "regions"), 0, f"site {name}",
                                 "no site of this name in the selected regions", "scope")
                         for name in site_list if name not in known]
    problems.sort(key=lambda p: (p.file, p.line))
    return ScopedLoad(loaded.deployment, catalog, problems, list(files), list(header_only))
