"""Which netmiko class a session uses: the stock one, plus two small fixes.

1. ``check_config_mode`` reads up to the platform's prompt pattern when platform.yml gives one.
   Stock netmiko's Huawei driver drops any pattern and waits for 2 s of silence on every check
   (DOMAIN.md §4); with the pattern a config push returns as soon as the prompt is back.
2. A channel the switch closed raises ``EOFError`` at once instead of reading nothing until the
   read timeout: a session dropped mid-push is reported in milliseconds, not after 15 s.

The classes are built from the stock class for the device type, so every other netmiko
behaviour (login, paging, prompts) stays netmiko's own.
"""

from __future__ import annotations

from typing import Any, cast

from netmiko.base_connection import BaseConnection
from netmiko.ssh_dispatcher import CLASS_MAPPER

from safecity.drivers.cli.platform import PlatformDataError, PlatformSpec


class _SafecityFixes:
    """Mixed in before the stock class; the class attributes are set per platform."""

    _config_check_pattern: str = ""
    _config_check_string: str = ""

    def check_config_mode(self, *args: Any, **kwargs: Any) -> bool:
        if not self._config_check_pattern:
            return cast(bool, super().check_config_mode(*args, **kwargs))  # type: ignore[misc]
        check_string = str(kwargs.get("check_string") or (args[0] if args else "")
                           or self._config_check_string)
        # Call the base implementation directly: HuaweiBase.check_config_mode discards `pattern`.
        return BaseConnection.check_config_mode(cast(BaseConnection, self),
                                                check_string=check_string,
                                                pattern=self._config_check_pattern)

    def read_channel(self) -> str:
        out = cast(str, super().read_channel())  # type: ignore[misc]
        channel: Any = getattr(self, "remote_conn", None)
        if not out and channel is not None and getattr(channel, "closed", False):
            raise EOFError("the switch closed the session")
        return out


def stock_class(spec: PlatformSpec) -> type[BaseConnection]:
    try:
        return cast(type[BaseConnection], CLASS_MAPPER[spec.netmiko.device_type])
    except KeyError as e:
        raise PlatformDataError(f"{spec.source}: netmiko has no device_type "
                                f"{spec.netmiko.device_type!r}") from e


_FIXED: dict[tuple[str, str, str], type[BaseConnection]] = {}


def _fixed(base: type[BaseConnection], pattern: str, check_string: str) -> type[BaseConnection]:
    key = (f"{base.__module__}.{base.__qualname__}", pattern, check_string)
    if key in _FIXED:
        return _FIXED[key]
    name = f"Safecity{base.__name__}"
    attrs = {"_config_check_pattern": pattern, "_config_check_string": check_string,
             "__doc__": f"{base.__name__} with safecity's prompt-aware config check."}
    cls = cast(type[BaseConnection], type(name, (_SafecityFixes, base), attrs))
    _FIXED[key] = cls
    return cls


def connection_class(spec: PlatformSpec, *, stock: bool = False) -> type[BaseConnection]:
    """The class for ``spec``; ``stock=True`` gives unmodified netmiko (benchmark baseline)."""
    base = stock_class(spec)
    if stock:
        return base
    return _fixed(base, spec.netmiko.config_check_pattern or "", spec.netmiko.config_check_string)
