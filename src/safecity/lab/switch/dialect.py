"""A platform's CLI behaviour as data: prompts, commands, error strings, dialogs, output formats.

One ``dialect.yml`` per platform under ``device_templates/switches/<platform>/`` is the only place
where Huawei, Comware and IOS differ; the session code reads these fields and never branches on
the platform name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safecity.errors import LabError

# Where a command may be typed: "exec" (user/privileged view) or "config" (system view and below).
Context = Literal["exec", "config"]
Level = Literal["user", "privileged"]
Action = Literal[
    "show_running", "show_saved", "show_this", "show_mac", "show_interfaces", "show_version",
    "set_paging", "disable_paging", "reset_paging", "noop",
    "enter_config", "quit", "return", "enable", "disable", "save",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorText(_Model):
    """One vendor error message; ``caret`` prints the ``^`` marker line above it."""

    text: str
    caret: bool = True


class Errors(_Model):
    unrecognized: ErrorText
    incomplete: ErrorText
    wrong_parameter: ErrorText
    too_many: ErrorText
    too_long: ErrorText
    rejected: ErrorText
    denied: ErrorText  # bad enable password


class DialogStep(_Model):
    """The device asks ``prompt``; an answer matching ``accept`` continues, anything else cancels."""

    prompt: str
    accept: str
    cancelled: str = ""
    echo: bool = True


class Command(_Model):
    """An exec/navigation command. ``syntax`` tokens: literals (abbreviable) or ``<int>``."""

    syntax: str
    action: Action
    contexts: tuple[Context, ...] = ("exec",)
    level: Level = "user"
    steps: tuple[DialogStep, ...] = ()
    done: str = ""  # printed when the action (or its dialog) completes

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.syntax.split())


class Prompts(_Model):
    user: str
    privileged: str
    config: str


class Paging(_Model):
    default_lines: int = 24
    more: str
    erase: str = ""


class View(_Model):
    """A configuration sub-view (interface, vlan, line, acl, ...), entered by ``opener``.

    ``opener`` is a regex over the (normalised) line; its named groups feed ``canonical`` (the
    block's text as the device prints it) and ``prompt``. ``kind: interface`` validates the
    interface name against the switch's ports and the dialect's logical interfaces.
    """

    name: str
    opener: str
    canonical: str = ""
    prompt: str
    keywords: tuple[str, ...]
    bare_keywords: tuple[str, ...] = ()
    kind: Literal["plain", "interface"] = "plain"

    @field_validator("opener")
    @classmethod
    def _compiles(cls, v: str) -> str:
        re.compile(v)
        return v


class ConfigRules(_Model):
    hostname_command: str
    negation: str
    keywords: tuple[str, ...]
    bare_keywords: tuple[str, ...] = ()
    views: tuple[View, ...]
    # A line matching one of these replaces an existing sibling with the same match (or the same
    # groups, when the regex has groups): "description a" replaces "description b".
    identity: tuple[str, ...] = ()
    # Positive forms whose negation is itself kept as a config line ("no ip domain-lookup").
    negation_stored: tuple[str, ...] = ()
    # New top-level entries with no sibling of the same keyword go before these sections.
    tail_keywords: tuple[str, ...] = ()
    interface_aliases: dict[str, str] = Field(default_factory=dict)
    logical_interfaces: tuple[str, ...] = ()
    exec_prefix: str = ""  # Cisco "do": run an exec command from config mode
    access_vlan: str = ""  # regex with one group: the port's access VLAN line
    description: str = r"^description (.*)$"


class Render(_Model):
    """How ``display current-configuration`` lays the configuration out."""

    header: str = ""  # may use {bytes}
    footer: str = ""
    separator: str
    global_indent: int = 0  # Comware prints global commands with one leading space
    grouped_blocks: tuple[str, ...] = ()  # consecutive blocks of these keywords share a section
    ignore_on_load: tuple[str, ...] = ()


class Column(_Model):
    """One table column: a str.format template padded to ``width`` (0: no padding)."""

    text: str
    width: int = 0
    align: Literal["left", "right"] = "left"


class Table(_Model):
    header: str
    columns: tuple[Column, ...]
    footer: str = ""  # may use {count}
    empty: str = ""  # printed instead of header/rows/footer when there are no rows


class Show(_Model):
    mac_style: Literal["hyphen", "dot", "colon"]
    short_interfaces: dict[str, str] = Field(default_factory=dict)
    mac_table: Table
    interfaces: Table
    # Per link state (up / down / admin_down): extra fields for the interface table row.
    interface_states: dict[str, dict[str, str]]
    include_logical: bool = True
    version: str


class Dialect(_Model):
    platform: str
    login_level: Level
    login_banner: str = ""
    enter_config_message: str = ""
    password_prompt: str = "Password: "
    prompts: Prompts
    paging: Paging
    max_line_length: int = 510
    error_blank_line: bool = False  # IOS prints an empty line after an error
    errors: Errors
    commands: tuple[Command, ...]
    config: ConfigRules
    render: Render
    show: Show
    factory_config: str  # Jinja2 template: hostname, username, ports, model


def dialect_dir() -> Path:
    """``device_templates/switches`` of this checkout (the lab runs from the source tree)."""
    return Path(__file__).resolve().parents[4] / "device_templates" / "switches"


@cache
def load_dialect(platform: str, base: Path | None = None) -> Dialect:
    path = (base or dialect_dir()) / platform / "dialect.yml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Dialect.model_validate(raw)
    except FileNotFoundError as e:
        raise LabError(f"switch lab: no dialect data for platform {platform!r} ({path})") from e
    except (yaml.YAMLError, ValidationError) as e:
        raise LabError(f"switch lab: {path}: invalid dialect data: {e}") from e
