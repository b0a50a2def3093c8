"""Write inventory YAML the way people write it by hand: block style for structure, one
flow-style line per device, so a diff of a region file shows one line per changed device.

Used by the point-list importer and the synthetic deployment generator. Scalars are emitted
plain when YAML (1.1 or 1.2) would read them back as the same string, otherwise double-quoted
(JSON string syntax is a subset of YAML double-quoted scalars).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

# Plain scalars we emit: a letter, then only characters that are inert in flow context; or an
# IPv4 address/subnet (several dots: no YAML reads it as a number). Everything else (digits
# first, ':', '#', ',', spaces, non-ASCII) is quoted.
_PLAIN_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_./-]*|\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?)$")
# Words YAML 1.1 would read as booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})
# Lists of mappings written inline on their parent's line (short, rarely edited).
INLINE_LISTS = frozenset({"uplinks"})
# Lists of mappings written one flow line per item even inside a block item.
FLOW_ITEM_LISTS = frozenset({"cameras", "nvrs", "key_places", "channels", "inputs", "outputs"})


def scalar(value: object) -> str:
    """One YAML scalar that reads back as ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN_RE.match(text) and text.lower() not in _RESERVED:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    # YAML treats these as line breaks even inside quotes; JSON leaves them raw.
    return quoted.replace("\u2028", "\\L").replace("\u2029", "\\P").replace("\x85", "\\N")


def flow(value: object) -> str:
    """A scalar, list or mapping on one line: ``{name: a, uplinks: [{port: x, to: core}]}``."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _is_item_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def block_item(item: Mapping[str, Any], indent: str) -> Iterator[str]:
    """A list item: one flow line, or block style when it holds lists of mappings."""
    if not any(_is_item_list(v) and k not in INLINE_LISTS for k, v in item.items()):
        yield f"{indent}- {flow(item)}"
        return
    first = True
    for key, value in item.items():
        lead = f"{indent}- " if first else f"{indent}  "
        first = False
        yield from _key_value(key, value, lead, indent + "  ")


def _key_value(key: str, value: object, lead: str, indent: str) -> Iterator[str]:
    if _is_item_list(value) and key not in INLINE_LISTS:
        yield f"{lead}{key}:"
        items: Sequence[Mapping[str, Any]] = value  # type: ignore[assignment]
        for item in items:
            if key in FLOW_ITEM_LISTS:
                yield f"{indent}  - {flow(item)}"
            else:
                yield from block_item(item, indent + "  ")
    elif isinstance(value, Mapping) and value and key in ("region", "defaults", "deployment"):
        yield f"{lead}{key}:"
        for k, v in value.items():
            yield from _key_value(k, v, indent + "  ", indent + "  ")
    else:
        yield f"{lead}{key}: {flow(value)}"


def document(sections: Mapping[str, Any], comment: Iterable[str] = ()) -> str:
    """A whole file: top-level keys in order (``region``, ``defaults``, ``platform_servers``, ``sites``)."""
    lines = [f"# {c}" if c else "#" for c in comment]
    for key, value in sections.items():
        if value is None or value == [] or value == {}:
            continue
        if lines and not lines[-1].startswith("#"):
            lines.append("")
        lines.extend(_key_value(key, value, "", ""))
    return "\n".join(lines) + "\n"
