"""``render_switch_config``: a ``SwitchIntent`` through the platform's Jinja2 templates.

Text only lives in ``device_templates/switches/<platform>/switch.j2`` (and what it includes);
the only helper templates get is ``mac``, which writes a MAC the way the platform prints it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from safecity.drivers.cli.mac_table import format_mac
from safecity.drivers.cli.platform import load_platform, switch_templates_root
from safecity.provision.switch_intent import SwitchIntent, SwitchIntentError

ENTRY_TEMPLATE = "switch.j2"


@cache
def _environment(platform: str, root: Path) -> jinja2.Environment:
    spec = load_platform(platform, root)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / platform)),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, autoescape=False)
    notation = spec.mac_notation
    env.filters["mac"] = lambda mac: format_mac(str(mac), notation)
    return env


def render_switch_config(intent: SwitchIntent, *, root: Path | None = None) -> str:
    """The configuration text safecity owns on this switch, in the platform's own syntax."""
    base = root or switch_templates_root()
    try:
        template = _environment(intent.platform, base).get_template(ENTRY_TEMPLATE)
        return template.render(intent=intent)
    except jinja2.TemplateError as e:
        raise SwitchIntentError(f"{intent.name}: render: {base / intent.platform}: "
                                f"{type(e).__name__}: {e}") from e
