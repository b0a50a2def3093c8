"""One lab process serves many switches at once (each on its own loopback address)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from switch_lab_support import CISCO, COMWARE, HUAWEI, connect, make_spec, show

from safecity.lab.switch import SwitchSpec

SWITCHES = 50


def _identify(spec: SwitchSpec) -> str:
    conn = connect(spec)
    try:
        cmd = "show version" if spec.platform == "cisco_ios" else "display version"
        return show(conn, cmd)
    finally:
        conn.disconnect()


async def test_fifty_switches_answer_concurrent_sessions(start_lab) -> None:
    flavors = (CISCO, COMWARE, HUAWEI)
    specs = [make_spec(flavors[i % 3], f"sw{i:02d}") for i in range(SWITCHES)]
    lab = await start_lab(specs)
    loop = asyncio.get_running_loop()
    # One netmiko session per switch, all in flight together (netmiko is blocking: threads).
    with ThreadPoolExecutor(max_workers=SWITCHES) as pool:
        outputs = await asyncio.gather(
            *(loop.run_in_executor(pool, _identify, spec) for spec in specs))
    for spec, output in zip(specs, outputs, strict=True):
        assert f"SN-{spec.name}" in output
    status = lab.status()
    assert len(status) == SWITCHES and all(row["listening"] for row in status)
