"""Parse many inventory files on all cores, keeping the located-error behaviour.

YAML parsing is most of the cost of loading a province (~20 µs per device, one core). Worker
processes parse; the parent receives each file's data *and* its line index in one pickle, so
object identity (which the id-keyed ``LineIndex`` relies on) survives the trip, and rebuilds
the index against the unpickled objects. Results come back in file order, so problems and
entries are identical to a serial read. Small deployments are read serially: starting
workers costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safecity.errors import Problem
from safecity.inventory.yamlsource import LineIndex, SourceFile, read_yaml

# Below this many bytes of YAML a serial read wins (a worker costs ~0.1–0.3 s to start).
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
WORKERS_ENV = "SAFECITY_PARSE_WORKERS"

ReadRequest = tuple[Path, str, frozenset[str]]   # path, display name, top-level keys to drop


@dataclass
class _Portable:
    """A SourceFile in a form that pickles with its line index intact."""

    path: Path
    display: str
    data: Any
    maps: list[tuple[Any, tuple[int, dict[str, int]]]]
    seqs: list[tuple[Any, list[int]]]
    duplicate_keys: list[tuple[int, str]]
    distinct_keys: set[object] | None
    problems: list[Problem]

    @classmethod
    def from_source(cls, src: SourceFile) -> _Portable:
        containers: dict[int, Any] = {}
        stack = [src.data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                containers[id(node)] = node
                stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
            elif isinstance(node, list):
                containers[id(node)] = node
                stack.extend(v for v in node if isinstance(v, (dict, list)))
        index = src.index
        return cls(src.path, src.display, src.data,
                   [(containers[i], e) for i, e in index.maps.items() if i in containers],
                   [(containers[i], e) for i, e in index.seqs.items() if i in containers],
                   index.duplicate_keys, index.distinct_keys, src.problems)

    def to_source(self) -> SourceFile:
        index = LineIndex({id(c): e for c, e in self.maps}, {id(c): e for c, e in self.seqs},
                          self.duplicate_keys)
        index.distinct_keys = self.distinct_keys
        return SourceFile(self.path, self.display, self.data, index, self.problems)


def _read_portable(request: ReadRequest) -> _Portable:
    path, display, drop = request
    return _Portable.from_source(read_yaml(path, display, drop_top_level=drop))


def worker_count(total_bytes: int) -> int:
    """Workers: $SAFECITY_PARSE_WORKERS, else all cores for large inputs on an idle machine, else 0."""
    env = os.environ.get(WORKERS_ENV)
    if env is not None and env.strip().isdigit():
        return int(env)
    cpus = os.cpu_count() or 1
    if total_bytes < PARALLEL_MIN_BYTES or cpus < 2:
        return 0
    # Workers cost ~40 % more CPU in all (pickling) to save wall time on idle cores; on a
    # machine that is already busy they only add to the queue.
    if os.getloadavg()[0] > cpus - 0.5:
        return 0
    return min(cpus, 8)


def read_many(requests: Sequence[ReadRequest]) -> Iterator[SourceFile]:
    """``read_yaml`` for each request, in order; in worker processes when that pays off."""
    total = 0
    for path, _display, _drop in requests:
        try:
            total += path.stat().st_size
        except OSError:
            pass            # read_yaml reports it, located
    workers = min(worker_count(total), len(requests))
    # fork, and only from a single-threaded process: forking while another thread holds a
    # lock can hang the child. (spawn/forkserver would re-run the caller's __main__, which
    # breaks scripts without a main guard.) Otherwise read serially: slower, never wrong.
    if workers < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        for path, display, drop in requests:
            yield read_yaml(path, display, drop_top_level=drop)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[_Portable]] = deque(pool.submit(_read_portable, r) for r in requests)
        while pending:
            # popleft: a consumed file's data is dropped here once the caller is done with it.
            yield pending.popleft().result().to_source()
