"""One simulated switch: its configuration (running and saved), ports, cabling and faults.

Shared by every SSH session to the switch; sessions change ``running`` through ``LineRules`` and
call ``save()``. Nothing here does I/O except persisting the configuration file.
"""

from __future__ import annotations

import hmac
import re
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import jinja2

from safecity.lab.switch.config_tree import (
    ConfigNode,
    LineRules,
    parse_canonical,
    parse_vendor_text,
    render_vendor,
    to_canonical,
)
from safecity.lab.switch.dialect import Dialect
from safecity.lab.switch.faults import Faults
from safecity.lab.switch.spec import SwitchSpec
from safecity.lab.switch.state_store import StoredConfig, load_config, write_config

if TYPE_CHECKING:
    import asyncssh

LinkState = Literal["up", "down", "admin_down"]
_IFNAME = re.compile(r"([A-Za-z][A-Za-z-]*?)\s*(\d[\d/.:]*)")


def _interface_type(name: str) -> str:
    m = _IFNAME.fullmatch(name)
    return m.group(1) if m else name


@cache
def _factory_template(source: str) -> jinja2.Template:
    # Compiled once per platform: compiling costs ~4 ms, thousands of switches share it.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    return env.from_string(source)


def factory_config_text(spec: SwitchSpec, dialect: Dialect) -> str:
    return _factory_template(dialect.factory_config).render(
        hostname=spec.hostname, username=spec.username, ports=spec.ports, model=spec.model)


class SwitchDevice:
    def __init__(self, spec: SwitchSpec, dialect: Dialect, state_path: Path) -> None:
        self.spec = spec
        self.dialect = dialect
        self.rules = LineRules(dialect.config)
        self.faults = Faults()
        self.state_path = state_path
        self.booted_at = time.time()
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.block_keywords = frozenset(v.canonical.split(" ", 1)[0] for v in dialect.config.views)
        self._physical = {p.name for p in spec.ports}
        self._types = sorted({_interface_type(p.name) for p in spec.ports}
                             | set(dialect.config.logical_interfaces))
        stored = load_config(state_path, spec.platform)
        if stored is not None:
            self.saved = parse_canonical(stored.saved)
        else:
            text = spec.initial_config or factory_config_text(spec, dialect)
            self.saved = parse_vendor_text(text, dialect.render)
        # A (re)start is a reboot: the device comes up with its saved configuration.
        self.running = self.saved.copy()
        self._written: StoredConfig | None = stored
        self.persist()

    # --- identity and login -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def hostname(self) -> str:
        cmd = self.dialect.config.hostname_command
        for node in self.running.children:
            if node.keyword == cmd and " " in node.text:
                return node.text.split(" ", 1)[1]
        return self.spec.hostname

    def check_login(self, username: str, password: str) -> bool:
        if self.faults.wrong_credentials:
            return False
        return (hmac.compare_digest(username.encode(), self.spec.username.encode())
                and hmac.compare_digest(password.encode(), self.spec.password.encode()))

    def check_enable(self, secret: str) -> bool:
        expected = self.spec.enable_secret if self.spec.enable_secret is not None \
            else self.spec.password
        return hmac.compare_digest(secret.encode(), expected.encode())

    # --- configuration ------------------------------------------------------------------------
    def running_text(self) -> str:
        return render_vendor(self.running, self.dialect.render, self.block_keywords)

    def saved_text(self) -> str:
        return render_vendor(self.saved, self.dialect.render, self.block_keywords)

    def reboot(self) -> None:
        """Come back up with the saved configuration; uptime starts from zero."""
        self.running = self.saved.copy()
        self.booted_at = time.time()
        self.persist()

    def save(self) -> None:
        self.saved = self.running.copy()
        self.persist()

    def persist(self) -> None:
        """Write the state file if it differs from what is on disk (cheap to call often)."""
        stored = StoredConfig(self.spec.platform, to_canonical(self.running),
                              to_canonical(self.saved))
        if stored != self._written:
            write_config(self.state_path, stored)
            self._written = stored

    # --- interfaces ---------------------------------------------------------------------------
    def normalize_interface(self, given: str) -> str | None:
        """Full interface name for ``given`` (``GE0/0/1``, ``gi1/0/1``), or None if no such port."""
        m = _IFNAME.fullmatch(given.replace(" ", ""))
        if not m:
            return None
        typed, number = m.group(1), m.group(2)
        aliases = {k.lower(): v for k, v in self.dialect.config.interface_aliases.items()}
        full_type = aliases.get(typed.lower())
        if full_type is None:
            exact = [t for t in self._types if t.lower() == typed.lower()]
            prefixed = [t for t in self._types if t.lower().startswith(typed.lower())]
            candidates = exact or prefixed
            if len(candidates) != 1:
                return None
            full_type = candidates[0]
        name = full_type + number
        if full_type in self.dialect.config.logical_interfaces or name in self._physical:
            return name
        return None

    def is_physical(self, name: str) -> bool:
        return name in self._physical

    def interface_block(self, name: str) -> ConfigNode | None:
        return self.running.child(f"interface {name}")

    def link_state(self, name: str) -> LinkState:
        block = self.interface_block(name)
        if block is not None and block.child("shutdown") is not None:
            return "admin_down"
        if not self.is_physical(name):
            return "up"
        if name in self.faults.links_down:
            return "down"
        cabled = any(e.interface == name for e in self.spec.mac_table)
        uplink = any(p.name == name and p.role == "uplink" for p in self.spec.ports)
        return "up" if cabled or uplink else "down"

    def _first_group(self, name: str, pattern: str) -> str | None:
        block = self.interface_block(name)
        if block is None or not pattern:
            return None
        rx = re.compile(pattern)
        for c in block.children:
            m = rx.match(c.text)
            if m:
                return m.group(1)
        return None

    def access_vlan(self, name: str, default: int = 1) -> int:
        found = self._first_group(name, self.dialect.config.access_vlan)
        return int(found) if found else default

    def description(self, name: str) -> str:
        return self._first_group(name, self.dialect.config.description) or ""

    def logical_interfaces(self) -> list[str]:
        logical = self.dialect.config.logical_interfaces
        names = []
        for node in self.running.children:
            if node.keyword == "interface":
                name = node.text.split(" ", 1)[1]
                if _interface_type(name) in logical:
                    names.append(name)
        return names
