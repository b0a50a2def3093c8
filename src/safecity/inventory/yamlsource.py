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
    # Every distinct mapping key in the file, when the fast path recorded them (else None).
    distinct_keys: set[object] | None = None

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


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


@dataclass
class SourceFile:
    """One parsed inventory file: its data, where things came from, and read problems."""

    path: Path
    display: str
    data: Any
    index: LineIndex
    problems: list[Problem]


_TOP_LEVEL_KEY_RE = re.compile(r"""^(?:[A-Za-z_][\w-]*|"[^"]*"|'[^']*')\s*:(?:\s|$)""")


def blank_top_level_blocks(text: str, keys: frozenset[str]) -> str:
    """``text`` with the top-level blocks ``keys:`` blanked out, line numbers unchanged.

    Lets a scoped load read a big region file's header and platform servers without
    parsing its sites. A block runs from its key line to the next line that starts a
    top-level key; the caller falls back to the full text if the cut does not parse.
    """
    lines = text.split("\n")
    dropping = False
    for i, line in enumerate(lines):
        if line[:1] not in ("", " ", "\t", "#", "-") and _TOP_LEVEL_KEY_RE.match(line):
            dropping = line.split(":", 1)[0].strip().strip("'\"") in keys
        if dropping:
            lines[i] = ""
    return "\n".join(lines)


def read_yaml(path: Path, display: str, *, drop_top_level: frozenset[str] = frozenset()) -> SourceFile:
    """Parse one file; never raises for bad content — problems are returned, located.

    ``drop_top_level``: top-level keys whose blocks are skipped (see ``blank_top_level_blocks``).
    """
    index = LineIndex()
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
    if drop_top_level:
        cut = blank_top_level_blocks(text, drop_top_level)
        if cut != text:
            parsed = _parse(path, display, cut)
            if parsed.data is not None and not parsed.problems:
                return parsed
    return _parse(path, display, text)


class _Unsupported(Exception):
    """The text uses YAML the fast path does not build (anchors, tags, merge keys, ...)."""


_SIMPLE_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                          "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})
_MISSING = object()


# One device per line, ``- {name: x, mac: "aa:..", port: Gi0/0/1}``, is most of a region file.
# Such a line, when every value is a quoted string without escapes or a simple plain scalar,
# is split by a regex instead of going through ~20 libyaml events; libyaml still sees the
# line as ``- ~`` so the structure around it (indentation, nesting, errors) is its to judge.
_FLOW_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_FLOW_VALUE = r'(?:"[^"\\]*"|[-+]?[A-Za-z0-9_/][A-Za-z0-9_./+-]*)'
_FLOW_PAIR = rf"{_FLOW_KEY}: +{_FLOW_VALUE}"
_FLOW_LINE_RE = re.compile(rf"( *)- +\{{ *({_FLOW_PAIR}(?: *, *{_FLOW_PAIR})*) *\}}[ \t]*(\r?)")
_FLOW_PAIR_RE = re.compile(rf'({_FLOW_KEY}): +("[^"\\]*"|[-+]?[A-Za-z0-9_/][A-Za-z0-9_./+-]*)')
FlowLine = list[tuple[str, str]]   # (key, value: "quoted" with its quotes, or plain)


def _cut_flow_lines(text: str) -> tuple[str, dict[int, FlowLine]]:
    """``text`` with simple one-line flow mappings replaced by ``- ~``, and those lines' pairs."""
    if "- {" not in text:
        return text, {}
    lines = text.split("\n")
    cut: dict[int, FlowLine] = {}
    match = _FLOW_LINE_RE.fullmatch
    for i, line in enumerate(lines):
        m = match(line) if line.endswith(("}", "} ", "}\r")) else None
        # libyaml rejects non-printable characters; leave such lines to it.
        if m is not None and m[2].isprintable():
            cut[i] = _FLOW_PAIR_RE.findall(m[2])
            lines[i] = f"{m[1]}- ~{m[3]}"
    return ("\n".join(lines), cut) if cut else (text, {})


class _Retry(Exception):
    """A cut line was not a list item after all (e.g. inside a block scalar): parse uncut."""


def _parse_plain_subset(text: str) -> tuple[Any, LineIndex] | None:
    """Build data and line index straight from libyaml's events: ~3x faster than composing nodes.

    Inventory files use plain YAML (mappings, lists, scalars); for those this yields exactly
    what ``_LocatingLoader`` yields. Anything else (anchors, aliases, explicit tags, merge keys,
    complex keys, timestamps, several documents) or any error returns None and the caller
    takes the full loader, so error messages and exotic YAML behave as before.
    """
    cut_text, flow_lines = _cut_flow_lines(text)
    if flow_lines:
        try:
            return _parse_events(cut_text, flow_lines)
        except _Retry:
            pass
    return _parse_events(text, {})


def _parse_events(text: str, flow_lines: dict[int, FlowLine]) -> tuple[Any, LineIndex] | None:
    loader = _LocatingLoader(text)
    index = LineIndex()
    maps, seqs, dups = index.maps, index.seqs, index.duplicate_keys
    distinct_keys: set[object] = set()
    index.distinct_keys = distinct_keys
    add_key = distinct_keys.add
    resolve = loader.resolve
    constructors = loader.yaml_constructors
    plain_cache: dict[str, Any] = {}
    # A plain scalar whose first character starts no implicit resolver is a string.
    resolver_starts = frozenset(loader.yaml_implicit_resolvers)
    if None in resolver_starts:
        return None
    get_event: Any = loader.get_event        # typed loosely: events are read by attribute

    def plain(text_value: str) -> Any:
        if text_value[:1] not in resolver_starts:
            return text_value
        value = plain_cache.get(text_value, _MISSING)
        if value is _MISSING:
            tag = resolve(yaml.ScalarNode, text_value, (True, False))  # type: ignore[no-untyped-call]
            if tag not in _SIMPLE_TAGS:
                raise _Unsupported
            value = constructors[tag](loader, yaml.ScalarNode(tag, text_value))
            plain_cache[text_value] = value
        return value

    def flow_mapping(line: int, pairs: FlowLine) -> dict[Any, Any]:
        data: dict[Any, Any] = {}
        keylines: dict[str, int] = {}
        for key_text, value_text in pairs:
            key = plain_cache[key_text] if key_text in plain_cache else plain(key_text)
            if key in data:
                dups.append((line, str(key)))
            if value_text[0] == '"':
                data[key] = value_text[1:-1]
            elif value_text[0] not in resolver_starts:
                data[key] = value_text
            else:
                data[key] = plain(value_text)
            if type(key) is str:
                keylines[key] = line
        maps[id(data)] = (line, keylines)
        distinct_keys.update(data)
        return data

    scalar_t, map_t, seq_t = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end_t, seq_end_t = yaml.MappingEndEvent, yaml.SequenceEndEvent
    # A frame: [container, line-of-start, keylines or item lines, pending key, its line].
    stack: list[list[Any]] = []
    root: Any = None
    try:
        get_event()                                   # StreamStart
        event = get_event()
        if isinstance(event, yaml.StreamEndEvent):
            return None, index
        while True:
            event = get_event()
            cls = type(event)
            if cls is scalar_t:
                if event.anchor is not None or event.tag is not None:
                    raise _Unsupported
                if flow_lines and event.value == "~" and event.implicit[0] \
                        and (pairs := flow_lines.pop(event.start_mark.line, None)) is not None:
                    if not stack or type(stack[-1][0]) is not list:
                        raise _Retry
                    top = stack[-1]
                    line = event.start_mark.line + 1
                    top[2].append(line)
                    top[0].append(flow_mapping(line, pairs))
                    continue
                if event.implicit[0] and event.value[:1] in resolver_starts:
                    text_value = event.value
                    value = plain_cache.get(text_value, _MISSING)
                    if value is _MISSING:
                        tag = resolve(yaml.ScalarNode, text_value, (True, False))  # type: ignore[no-untyped-call]
                        if tag not in _SIMPLE_TAGS:
                            raise _Unsupported
                        value = constructors[tag](loader, yaml.ScalarNode(tag, text_value))
                        plain_cache[text_value] = value
                else:
                    value = event.value
            elif cls is map_t or cls is seq_t:
                if event.anchor is not None or event.tag not in (None, "!"):
                    raise _Unsupported
                line = event.start_mark.line + 1
                if stack:
                    top = stack[-1]
                    if type(top[0]) is dict:
                        if top[3] is _MISSING:
                            raise _Unsupported        # a mapping or list used as a key
                    else:
                        top[2].append(line)
                frame: list[Any] = [{} if cls is map_t else [], line, {} if cls is map_t else [], _MISSING, 0]
                stack.append(frame)
                continue
            elif cls is map_end_t or cls is seq_end_t:
                frame = stack.pop()
                value = frame[0]
                if cls is map_end_t:
                    maps[id(value)] = (frame[1], frame[2])
                else:
                    seqs[id(value)] = frame[2]
                if not stack:
                    root = value
                    break
                top = stack[-1]
                if type(top[0]) is dict:
                    top[0][top[3]] = value
                    top[3] = _MISSING
                else:
                    top[0].append(value)
                continue
            else:
                raise _Unsupported                    # alias, or a second document
            if not stack:
                root = value
                break
            top = stack[-1]
            container = top[0]
            if type(container) is dict:
                if top[3] is _MISSING:
                    line = event.start_mark.line + 1
                    if value in container:
                        dups.append((line, str(value)))
                    if type(value) is str:
                        top[2][value] = line
                    add_key(value)
                    top[3] = value
                else:
                    container[top[3]] = value
                    top[3] = _MISSING
            else:
                top[2].append(event.start_mark.line + 1)
                container.append(value)
        event = get_event()                           # DocumentEnd
        if not isinstance(get_event(), yaml.StreamEndEvent):
            raise _Unsupported                        # several documents: the full loader reports it
        if flow_lines:
            raise _Retry                              # a cut line was not seen as a list item
    except _Retry:
        raise
    except Exception:  # noqa: BLE001 - anything unexpected: the full loader decides, as before
        return None
    finally:
        loader.dispose()
    return root, index


def _parse(path: Path, display: str, text: str) -> SourceFile:
    fast = _parse_plain_subset(text)
    if fast is not None:
        data, fast_index = fast
        return SourceFile(path, display, data, fast_index,
                          [Problem(display, line, "", f"key '{key}' appears twice in the same mapping", "yaml")
                           for line, key in fast_index.duplicate_keys])
    index = LineIndex()
    problems: list[Problem] = []
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
