"""Running config vs intended config → the commands to push and the commands that undo them.

Pure (text in, text out), offline, hier_config underneath. safecity only owns part of a
switch's configuration, so both sides are first cut down to that part (``scope_config``):

* a top-level block the template renders is owned whole: lines in it that the intent does not
  have are removed (an old VLAN on a camera port, a stale ACL rule) — except the platform's
  ``merge_blocks`` (``user-interface``/``line``), where only the intent's lines are ensured;
* a top-level line is owned when it matches the platform's ``scope.lines`` (NTP servers,
  log hosts, the hostname): a server the intent no longer lists is removed;
* everything else (AAA, local users, other VLANs) is never looked at, so never touched.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from hier_config import HConfig
from hier_config.child import HConfigChild

from safecity.drivers.cli.config_text import parse_config
from safecity.drivers.cli.platform import PlatformSpec
from safecity.provision.result import Change


@dataclass(frozen=True)
class SwitchPlan:
    """What it takes to get from one configuration to another, on the owned part only."""

    commands: list[str]  # config-mode lines, in push order, views exited explicitly
    rollback: list[str]  # undoes ``commands`` when all of them were applied
    changes: list[Change] = field(default_factory=list)  # per top-level section: old → new lines
    diff: str = ""  # unified diff of the changed sections (for --diff)

    @property
    def empty(self) -> bool:
        return not self.commands


def _matches(patterns: tuple[str, ...], text: str) -> bool:
    return any(re.search(p, text) for p in patterns)


def scope_config(config: HConfig, intended: HConfig, spec: PlatformSpec) -> HConfig:
    """The part of ``config`` that safecity owns, judged against ``intended``."""
    owned = config.deep_copy()
    wanted = {c.text: c for c in intended.children}
    for child in tuple(owned.children):
        target = wanted.get(child.text)
        if target is not None:
            if _matches(spec.scope.merge_blocks, child.text):
                keep = {c.text for c in target.children}
                for sub in tuple(child.children):
                    if sub.text not in keep:
                        sub.delete()
            continue
        if child.children or not _matches(spec.scope.lines, child.text):
            child.delete()
    return owned


def _emit(node: HConfigChild, spec: PlatformSpec) -> list[str]:
    lines = [node.text]
    if node.children:
        for child in node.children:
            lines.extend(_emit(child, spec))
        lines.append(spec.section_exit)
    return lines


def _commands(change: HConfig, source: HConfig, target: HConfig, spec: PlatformSpec) -> list[str]:
    negation = source.driver.negation_prefix
    out: list[str] = []
    for child in change.children:
        if (_matches(spec.scope.replace_blocks, child.text)
                and source.get_child(equals=child.text) is not None):
            # Order-sensitive block that changed: remove it and write it again in full.
            whole = target.get_child(equals=child.text)
            out.append(negation + child.text)
            if whole is not None:
                out.extend(_emit(whole, spec))
            continue
        out.extend(_emit(child, spec))
    return out


def _section_lines(node: HConfigChild | None) -> list[str] | None:
    if node is None:
        return None
    return [node.text, *(" " * (depth) + c.text for depth, c in _walk(node, 1))]


def _walk(node: HConfigChild, depth: int) -> list[tuple[int, HConfigChild]]:
    out: list[tuple[int, HConfigChild]] = []
    for c in node.children:
        out.append((depth, c))
        out.extend(_walk(c, depth + 1))
    return out


def _changes(change: HConfig, source: HConfig, target: HConfig) -> tuple[list[Change], str]:
    negation = source.driver.negation_prefix
    sections: list[str] = []
    for child in change.children:
        text = child.text
        if text.startswith(negation) and source.get_child(equals=text[len(negation):]):
            text = text[len(negation):]
        if text not in sections:
            sections.append(text)
    changes: list[Change] = []
    old_all: list[str] = []
    new_all: list[str] = []
    for text in sections:
        old = _section_lines(source.get_child(equals=text))
        new = _section_lines(target.get_child(equals=text))
        changes.append(Change(text, old, new))
        old_all.extend(old or [])
        new_all.extend(new or [])
    diff = "".join(line + "\n" for line in difflib.unified_diff(
        old_all, new_all, "running", "intended", lineterm="", n=2))
    return changes, diff


def _plan(source: HConfig, target: HConfig, spec: PlatformSpec) -> SwitchPlan:
    forward = source.config_to_get_to(target)
    backward = target.config_to_get_to(source)
    changes, diff = _changes(forward, source, target)
    return SwitchPlan(_commands(forward, source, target, spec),
                      _commands(backward, target, source, spec), changes, diff)


def plan_switch_change(running_text: str, intended_text: str, spec: PlatformSpec) -> SwitchPlan:
    """Commands to bring the owned part of ``running_text`` to ``intended_text``, and back."""
    intended = parse_config(intended_text, spec)
    running = scope_config(parse_config(running_text, spec), intended, spec)
    return _plan(running, intended, spec)


def plan_switch_rollback(current_text: str, original_text: str, intended_text: str,
                         spec: PlatformSpec) -> SwitchPlan:
    """Commands to bring the owned part of the switch from ``current`` back to ``original``.

    Computed from what the switch really has after a failed push (a fresh read), so a push that
    stopped half-way is undone exactly, not by replaying a rollback for lines never applied.
    """
    intended = parse_config(intended_text, spec)
    current = scope_config(parse_config(current_text, spec), intended, spec)
    original = scope_config(parse_config(original_text, spec), intended, spec)
    return _plan(current, original, spec)
