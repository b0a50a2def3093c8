"""VQD cost per snapshot: full-size decode vs reduced (draft) decode, and the whole analyse().

Prints CPU ms per image and the ratio against the full-decode baseline measured in the same
run. Snapshots come from the lab generator (the same scenes the tests use).

    .venv/bin/python benchmarks/vqd_speed.py [--images 12] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from safecity.health.vqd import analyse, make_baseline
from safecity.health.vqd.reduced_decode import decode_reduced
from safecity.lab.media import render_snapshot


def full_decode(data: bytes) -> object:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def cpu_ms_per_image(fn: Callable[[bytes], object], images: list[bytes], rounds: int) -> float:
    fn(images[0])  # warm caches and lazy imports
    start = time.process_time()
    for _ in range(rounds):
        for data in images:
            fn(data)
    return (time.process_time() - start) * 1000.0 / (rounds * len(images))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    print(f"{'size':>10} {'KB/img':>7} {'step':<26} {'ms/img':>8} {'ratio':>7}")
    for width, height in ((1920, 1080), (1280, 720), (640, 360)):
        images = [render_snapshot(seed, width, height, None, 1) for seed in range(args.images)]
        baseline = make_baseline(images[0])
        previous = analyse(images[0]).thumbnail
        kb = sum(map(len, images)) / len(images) / 1000
        steps: list[tuple[str, Callable[[bytes], object]]] = [
            ("full decode (RGB)", full_decode),
            ("reduced decode (draft)", decode_reduced),
            ("analyse (reduced, all)",
             lambda d, p=previous, b=baseline: analyse(d, p, b)),  # type: ignore[misc]
        ]
        reference = 0.0
        for name, fn in steps:
            ms = cpu_ms_per_image(fn, images, args.rounds)
            reference = reference or ms
            print(f"{width}x{height:<5} {kb:7.0f} {name:<26} {ms:8.2f} {ms / reference:7.2f}")


if __name__ == "__main__":
    main()
