"""``device_templates/switches/<platform>/platform.yml``: how one switch platform behaves.

Prompts, error markers, the save dialog, config-mode commands, how running-config text is
normalised for hier_config, how the MAC table reads, and which parts of the configuration
safecity owns. Code never branches on a platform name; it reads one of these.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from safecity.errors import SafecityError

MacNotation = Literal["hyphen", "dot", "colon"]


class PlatformDataError(SafecityError):
    """A platform.yml is missing or invalid; the message names the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetmikoSettings(_Strict):
    device_type: str
    # When set, check_config_mode() reads up to this pattern instead of waiting for silence.
    config_check_pattern: str | None = None
    config_check_string: str = "]"
    config_terminator: str = "#"
    options: dict[str, Any] = Field(default_factory=dict)


class DialogStep(_Strict):
    expect: str
    answer: str


class SaveSettings(_Strict):
    command: str
    dialog: tuple[DialogStep, ...] = ()
    success: str


class HierConfigSettings(_Strict):
    platform: str
    post_load_callbacks: bool = True
    # Each entry: one regex per level (parent first) of a line the switch overwrites in place.
    idempotent: tuple[tuple[str, ...], ...] = ()


class ParseSettings(_Strict):
    separator: str
    ignore: tuple[str, ...] = ()
    section_indent: bool = False


class MacTableSettings(_Strict):
    command: str
    row: str  # named groups: mac, vlan, interface

    @field_validator("row")
    @classmethod
    def _groups(cls, value: str) -> str:
        missing = {"mac", "vlan", "interface"} - set(re.compile(value).groupindex)
        if missing:
            raise ValueError(f"mac_table.row lacks named groups {sorted(missing)}")
        return value


class InterfaceStatusSettings(_Strict):
    """How the brief interface table reads: one row per interface, its operational state."""

    command: str
    row: str  # named groups: interface, state
    up: tuple[str, ...]  # state values that mean the link is up (anything else is down)

    @field_validator("row")
    @classmethod
    def _groups(cls, value: str) -> str:
        missing = {"interface", "state"} - set(re.compile(value).groupindex)
        if missing:
            raise ValueError(f"interface_status.row lacks named groups {sorted(missing)}")
        return value


class VersionSettings(_Strict):
    """Where the version output says how long the switch has been up."""

    command: str
    uptime: str  # named groups, each optional: weeks, days, hours, minutes, seconds


class ScopeSettings(_Strict):
    lines: tuple[str, ...] = ()
    merge_blocks: tuple[str, ...] = ()
    replace_blocks: tuple[str, ...] = ()


class PlatformSpec(_Strict):
    platform: str
    netmiko: NetmikoSettings
    enable: bool = False
    error_pattern: str
    config_enter: str
    config_exit: str
    section_exit: str
    running_config_command: str
    saved_config_command: str
    save: SaveSettings
    hier_config: HierConfigSettings
    parse: ParseSettings
    mac_notation: MacNotation
    mac_table: MacTableSettings
    interface_abbreviations: dict[str, str] = Field(default_factory=dict)
    interface_status: InterfaceStatusSettings | None = None
    version: VersionSettings | None = None
    scope: ScopeSettings = ScopeSettings()
    push_window: int = Field(default=16, ge=1, le=256)  # config lines in flight during a push
    source: str = ""  # the file it came from (filled in by load_platform)

    @model_validator(mode="after")
    def _regexes_compile(self) -> PlatformSpec:
        patterns = [self.error_pattern, self.save.success, self.mac_table.row,
                    *(s.expect for s in self.save.dialog), *self.parse.ignore,
                    *self.scope.lines, *self.scope.merge_blocks, *self.scope.replace_blocks,
                    *(p for rule in self.hier_config.idempotent for p in rule)]
        patterns.append(self.netmiko.config_terminator)
        if self.interface_status is not None:
            patterns.append(self.interface_status.row)
        if self.version is not None:
            patterns.append(self.version.uptime)
        if self.netmiko.config_check_pattern:
            patterns.append(self.netmiko.config_check_pattern)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"bad regular expression {pattern!r}: {e}") from e
        return self


def switch_templates_root() -> Path:
    """``device_templates/switches`` (the same root the inventory's profiles use)."""
    from safecity.inventory.profiles import default_templates_root

    return default_templates_root() / "switches"


@lru_cache(maxsize=32)
def load_platform(platform: str, root: Path | None = None) -> PlatformSpec:
    """The platform's data, validated once per process."""
    base = root or switch_templates_root()
    path = base / platform / "platform.yml"
    if not re.fullmatch(r"[a-z0-9_]+", platform) or not path.is_file():
        known = sorted(p.parent.name for p in base.glob("*/platform.yml"))
        raise PlatformDataError(f"{path}: unknown switch platform {platform!r} "
                                f"(known: {', '.join(known) or 'none'})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PlatformDataError(f"{path}: {first}") from e
    if not isinstance(raw, dict):
        raise PlatformDataError(f"{path}: must be a mapping")
    try:
        return PlatformSpec.model_validate({**raw, "source": str(path)})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(part) for part in err["loc"]) or "platform"
        raise PlatformDataError(f"{path}: {where}: {err['msg']}") from e
