"""Running-config text as the switch prints it → hier_config's ``HConfig``.

Separators, banners and footers are dropped by the platform's ``parse`` rules; Comware's
one-space indent of global commands inside a ``#`` section is undone so that hier_config sees
one nesting per view on every platform.
"""

from __future__ import annotations

import re

from hier_config import HConfig, Platform, get_hconfig
from hier_config.constructors import get_hconfig_driver
from hier_config.models import IdempotentCommandsRule, MatchRule
from hier_config.platforms.driver_base import HConfigDriverBase

from safecity.drivers.cli.platform import PlatformDataError, PlatformSpec


def hier_driver(spec: PlatformSpec) -> HConfigDriverBase:
    """A fresh hier_config driver for the platform (rules adjusted by platform.yml)."""
    try:
        platform = Platform[spec.hier_config.platform]
    except KeyError as e:
        raise PlatformDataError(f"{spec.source}: hier_config has no platform "
                                f"{spec.hier_config.platform!r}") from e
    driver = get_hconfig_driver(platform)
    if not spec.hier_config.post_load_callbacks:
        driver.rules.post_load_callbacks.clear()
    driver.rules.idempotent_commands.extend(
        IdempotentCommandsRule(match_rules=tuple(MatchRule(re_search=p) for p in lineage))
        for lineage in spec.hier_config.idempotent)
    return driver


def normalise_config_text(text: str, spec: PlatformSpec) -> str:
    """One space of indent per view level, no separators, headers or footers."""
    ignore = [re.compile(p) for p in spec.parse.ignore]  # re caches the compiled forms
    out: list[str] = []
    base: int | None = None
    for raw in text.replace("\r", "").split("\n"):
        line = raw.rstrip().replace("\t", " ")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == spec.parse.separator:
            base = None
            continue
        if any(rx.match(line) for rx in ignore):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if spec.parse.section_indent:
            if base is None:
                base = indent
            indent = max(0, indent - min(base, indent))
        out.append(" " * indent + " ".join(stripped.split()))
    return "\n".join(out) + ("\n" if out else "")


def parse_config(text: str, spec: PlatformSpec) -> HConfig:
    """Switch output (running, saved) or a rendered template → ``HConfig``."""
    return get_hconfig(hier_driver(spec), normalise_config_text(text, spec))
