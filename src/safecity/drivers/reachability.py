"""Is anything listening? A TCP connect, timed, for the first rung of every probe ladder
(dead devices dominate sweep wall time, so later probes are skipped when this fails)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from safecity.netguard import is_loopback, loopback_only


async def tcp_reachable(host: str, port: int, timeout: float) -> float | None:
    """Seconds the TCP handshake took, or None if refused, unroutable or timed out."""
    if loopback_only() and not is_loopback(host):
        return None
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return None
    elapsed = time.perf_counter() - start
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    return elapsed
