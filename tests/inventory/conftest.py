from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example"
DONGSHAN = "regions/luzhou/dongshan.yml"


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """A private copy of the example deployment, placed as inventory/demo like a real checkout."""
    root = tmp_path / "inventory" / "demo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab"))
    return root


Edit = Callable[[str, str, str], int]


@pytest.fixture
def edit(deployment: Path) -> Edit:
    """Replace the first occurrence of ``old`` with ``new`` in a file; return its 1-based line."""

    def _edit(relpath: str, old: str, new: str) -> int:
        path = deployment / relpath
        text = path.read_text(encoding="utf-8")
        assert old in text, f"fixture text not found in {relpath}: {old!r}"
        line = text[: text.index(old)].count("\n") + 1
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return line

    return _edit
