"""The switch's configuration as a tree of lines, with vendor-faithful load and display.

Top-level lines with indented children, as in every running-config. Edits follow what the CLIs
do: a line replaces a sibling with the same identity (``description a`` -> ``description b``),
a negated line removes what it names, a view opener creates its block once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from safecity.lab.switch.dialect import ConfigRules, Render


@dataclass
class ConfigNode:
    text: str
    children: list[ConfigNode] = field(default_factory=list)

    @property
    def keyword(self) -> str:
        return self.text.split(" ", 1)[0]

    def child(self, text: str) -> ConfigNode | None:
        for c in self.children:
            if c.text == text:
                return c
        return None

    def walk(self, depth: int = 0) -> Iterator[tuple[int, ConfigNode]]:
        for c in self.children:
            yield depth, c
            yield from c.walk(depth + 1)

    def copy(self) -> ConfigNode:
        return ConfigNode(self.text, [c.copy() for c in self.children])


class LineRules:
    """Compiled identity/negation rules of one dialect (built once per platform)."""

    def __init__(self, rules: ConfigRules) -> None:
        self.negation = rules.negation
        self._identity = [re.compile(p) for p in rules.identity]
        self._stored = [re.compile(p) for p in rules.negation_stored]
        self._tail = frozenset(rules.tail_keywords)

    def identity_key(self, text: str) -> tuple[object, ...] | None:
        for i, rx in enumerate(self._identity):
            m = rx.match(text)
            if m:
                return (i, m.groups() if rx.groups else m.group(0))
        return None

    def negation_is_stored(self, body: str) -> bool:
        return any(rx.match(body) for rx in self._stored)

    def set_line(self, parent: ConfigNode, text: str, top_level: bool) -> bool:
        """Add or replace ``text`` under ``parent``; returns whether the tree changed."""
        if parent.child(text) is not None:
            return False
        if text.startswith(self.negation + " "):
            # A stored negation ("no ip domain-lookup") replaces its positive form.
            self._remove_matching(parent, text[len(self.negation) + 1:])
        else:
            stored_neg = parent.child(f"{self.negation} {text}")
            if stored_neg is not None:
                parent.children.remove(stored_neg)
            key = self.identity_key(text)
            if key is not None:
                for c in parent.children:
                    if self.identity_key(c.text) == key:
                        c.text = text
                        return True
        node = ConfigNode(text)
        parent.children.insert(self._position(parent, node) if top_level else
                               len(parent.children), node)
        return True

    def negate(self, parent: ConfigNode, body: str, top_level: bool) -> bool:
        """Apply ``<negation> body`` under ``parent``; returns whether the tree changed."""
        if self.negation_is_stored(body):
            return self.set_line(parent, f"{self.negation} {body}", top_level)
        return self._remove_matching(parent, body)

    def _remove_matching(self, parent: ConfigNode, body: str) -> bool:
        exact = [c for c in parent.children if c.text == body]
        if not exact:
            key = self.identity_key(body)
            if key is not None:
                exact = [c for c in parent.children if self.identity_key(c.text) == key]
        if not exact:
            exact = [c for c in parent.children if c.text.startswith(body + " ")]
        for c in exact:
            parent.children.remove(c)
        return bool(exact)

    def ensure_block(self, root: ConfigNode, text: str) -> ConfigNode:
        node = root.child(text)
        if node is None:
            node = ConfigNode(text)
            root.children.insert(self._position(root, node), node)
        return node

    def _position(self, parent: ConfigNode, node: ConfigNode) -> int:
        # Keep like with like (interfaces together, vlans together) as devices do; otherwise
        # before the trailing sections (user-interface / line) that devices print last.
        kw = node.keyword
        same = [i for i, c in enumerate(parent.children) if c.keyword == kw]
        if same:
            return same[-1] + 1
        for i, c in enumerate(parent.children):
            if c.keyword in self._tail:
                return i
        return len(parent.children)


def _build(lines: list[tuple[int, str]]) -> ConfigNode:
    root = ConfigNode("")
    stack: list[tuple[int, ConfigNode]] = [(-1, root)]
    for indent, text in lines:
        while stack[-1][0] >= indent:
            stack.pop()
        node = ConfigNode(text)
        stack[-1][1].children.append(node)
        stack.append((indent, node))
    return root


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def parse_vendor_text(text: str, render: Render) -> ConfigNode:
    """Load running-config text as the device prints it (separators, banners, Comware indents)."""
    ignore = [re.compile(p) for p in render.ignore_on_load]
    out: list[tuple[int, str]] = []
    section_base: int | None = None
    for raw in text.replace("\r", "").split("\n"):
        line = raw.rstrip().replace("\t", " ")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == render.separator:
            section_base = None
            continue
        if any(rx.match(line) for rx in ignore):
            continue
        indent = _indent_of(line)
        # Comware prints a section's global commands one space in; the first line of a section
        # sets the section's base indentation.
        if section_base is None:
            section_base = indent
        out.append((max(0, indent - min(section_base, indent)), " ".join(stripped.split())))
    return _build(out)


def parse_canonical(text: str) -> ConfigNode:
    """Load the lab's own storage form: one space of indent per level, nothing else."""
    return _build([(_indent_of(line), line.strip()) for line in text.split("\n") if line.strip()])


def to_canonical(root: ConfigNode) -> str:
    return "".join(" " * depth + node.text + "\n" for depth, node in root.walk())


def render_vendor(root: ConfigNode, render: Render, block_keywords: frozenset[str]) -> str:
    """The configuration as ``display current-configuration`` / ``show running-config`` prints it."""
    body: list[str] = []
    prev: ConfigNode | None = None
    prev_block = False
    for node in root.children:
        is_block = bool(node.children) or node.keyword in block_keywords
        grouped = prev is not None and node.keyword == prev.keyword and (
            not (is_block or prev_block) or node.keyword in render.grouped_blocks)
        if not grouped:
            body.append(render.separator)
        indent = 0 if is_block else render.global_indent
        body.append(" " * indent + node.text)
        body.extend(" " * (indent + 1 + depth) + c.text for depth, c in node.walk())
        prev, prev_block = node, is_block
    body.append(render.separator)
    if render.footer:
        body.append(render.footer)
    text = "\n".join(body) + "\n"
    if render.header:
        text = render.header.format(bytes=len(text)).rstrip("\n") + "\n" + text
    return text
