"""Read every switch's running configuration with UNMODIFIED netmiko and compare it with the
configuration ``switch_config state=rendered`` returns. No safecity code is imported.

stdin: JSON ``{"port": 22, "switches": [{"name", "platform", "host", "rendered_text"}]}``;
env ``SWITCH_PASSWORDS``: JSON ``{switch: password}`` (kept off the command line).
Every rendered line must be present in the running configuration under the same parent
lines; exits 1 listing what is missing.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from netmiko import ConnectHandler

# Stock netmiko device types and the command each platform lists its running configuration with.
PLATFORMS = {"huawei_vrp": ("huawei", "display current-configuration"),
             "hp_comware": ("hp_comware", "display current-configuration"),
             "cisco_ios": ("cisco_ios", "show running-config")}
SEPARATORS = {"#", "!", "end", "return"}


def config_paths(text: str) -> set[tuple[str, ...]]:
    """Each line as (parents..., line), by indentation; a separator line ends a block."""
    out: set[tuple[str, ...]] = set()
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        if stripped in SEPARATORS or stripped.startswith("!"):
            stack = []
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, stripped))
        out.add(tuple(t for _, t in stack))
    return out


def read_running(switch: dict[str, str], port: int, password: str) -> str:
    device_type, command = PLATFORMS[switch["platform"]]
    conn = ConnectHandler(device_type=device_type, host=switch["host"], port=port,
                          username=switch.get("username", "admin"), password=password,
                          secret=password, conn_timeout=20, auth_timeout=20, banner_timeout=20)
    try:
        if device_type == "cisco_ios":
            conn.enable()
        return str(conn.send_command(command, read_timeout=30))
    finally:
        conn.disconnect()


def main() -> int:
    request = json.load(sys.stdin)
    passwords = json.loads(os.environ["SWITCH_PASSWORDS"])
    switches = request["switches"]

    def check(sw: dict[str, str]) -> tuple[str, list[str]]:
        running = config_paths(read_running(sw, int(request["port"]), passwords[sw["name"]]))
        missing = sorted(p for p in config_paths(sw["rendered_text"]) if p not in running)
        return sw["name"], [" > ".join(p) for p in missing]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, switches))
    bad = 0
    for name, missing in results:
        if missing:
            bad += 1
            print(f"{name}: {len(missing)} rendered line(s) not in the running config:")
            for m in missing[:20]:
                print(f"  {m}")
        else:
            print(f"{name}: every rendered line is in the running config")
    if not switches:
        print("no switches to verify")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
