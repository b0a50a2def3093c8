"""YAML reading that remembers where every mapping, key and list item came from.

PyYAML's C parser does the work; two small constructors record line numbers in a side table
keyed by the id of each constructed container, so the data handed to pydantic stays plain
dicts/lists and every later error can still name ``file:line``. YAML 1.1 sexagesimal integers
are disabled: ``00:12:34:56:78:90`` is a MAC address, not a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from safecity.errors import Problem

_MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass
class LineIndex:
    """Line numbers (1-based) of mappings, their keys, and list items, by container id."""

    maps: dict[int, tuple[int, dict[str, int]]] = field(default_factory=dict)
    seqs: dict[int, list[int]] = field(default_factory=dict)
    duplicate_keys: list[tuple[int, str]] = field(default_factory=list)

    def line_of(self, container: object, key: object = None) -> int:
        if isinstance(container, dict):
            entry = self.maps.get(id(container))
            if entry is None:
                return 0
            if key is not None and isinstance(key, str) and key in entry[1]:
                return entry[1][key]
            return entry[0]
        if isinstance(container, list):
            items = self.seqs.get(id(container))
            if items and isinstance(key, int) and 0 <= key < len(items):
                return items[key]
        return 0


class _LocatingLoader(yaml.CSafeLoader):
    """CSafeLoader that fills ``self.index`` while constructing."""

    index: LineIndex


# A resolver table without the YAML 1.1 base-60 integers/floats.
_LocatingLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LocatingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_LocatingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _construct_map(loader: _LocatingLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    loader.flatten_mapping(node)
    keylines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found an unhashable key", key_node.start_mark) from None
        if key in data:
            loader.index.duplicate_keys.append((key_node.start_mark.line + 1, str(key)))
        data[key] = loader.construct_object(value_node, deep=False)
        if isinstance(key, str):
            keylines[key] = key_node.start_mark.line + 1
    loader.index.maps[id(data)] = (node.start_mark.line + 1, keylines)


def _construct_seq(loader: _LocatingLoader, node: yaml.SequenceNode) -> Iterator[list[Any]]:
    data: list[Any] = []
    yield data
    data.extend(loader.construct_object(child, deep=False) for child in node.value)
    loader.index.seqs[id(data)] = [child.start_mark.line + 1 for child in node.value]


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)  # type: ignore[arg-type]
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)  # type: ignore[arg-type]


@dataclass
class SourceFile:
    """One parsed inventory file: its data, where things came from, and read problems."""

    path: Path
    display: str
    data: Any
    index: LineIndex
    problems: list[Problem]


def read_yaml(path: Path, display: str) -> SourceFile:
    """Parse one file; never raises for bad content — problems are returned, located."""
    index = LineIndex()
    problems: list[Problem] = []
    try:
        raw = path.read_bytes()
    except OSError as e:
        return SourceFile(path, display, None, index, [Problem(display, 0, "", f"cannot read: {e.strerror}", "file")])
    if len(raw) > _MAX_FILE_BYTES:
        return SourceFile(path, display, None, index,
                          [Problem(display, 0, "", "file is larger than 256 MiB", "file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return SourceFile(path, display, None, index,
                          [Problem(display, line, "", f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); save the file as UTF-8", "file")])
    if not text.strip():
        return SourceFile(path, display, None, index, [Problem(display, 0, "", "file is empty", "file")])
    loader = _LocatingLoader(text)
    loader.index = index
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        what = e.problem or e.context or "malformed YAML"
        return SourceFile(path, display, None, index, [Problem(display, line, "", f"malformed YAML: {what}", "yaml")])
    except yaml.YAMLError as e:
        return SourceFile(path, display, None, index, [Problem(display, 0, "", f"malformed YAML: {e}", "yaml")])
    finally:
        loader.dispose()
    for line, key in index.duplicate_keys:
        problems.append(Problem(display, line, "", f"key '{key}' appears twice in the same mapping", "yaml"))
    return SourceFile(path, display, data, index, problems)
