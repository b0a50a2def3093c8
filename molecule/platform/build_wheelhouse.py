"""Wheels for the health-runner role in the lab: safecity from this repo plus its pinned deps.

The lab containers have no route to PyPI (nor do many real platform networks), so the role
installs from a wheelhouse with --no-index. The dependency wheels are downloaded once into
a cache keyed by the pinned requirement list; the safecity wheel is rebuilt every run from
cached build requirements (offline after the first run).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path


def project_requirements(project: Path) -> tuple[list[str], list[str]]:
    """(runtime dependencies, build requirements) from pyproject.toml."""
    data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"]), list(data["build-system"]["requires"])


def ensure_wheels(requirements: list[str], cache: Path, kind: str) -> Path:
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    wheelhouse = cache / f"{kind}-{key}"
    done = wheelhouse / ".complete"
    if not done.exists():
        wheelhouse.mkdir(parents=True, exist_ok=True)
        # Only binary wheels: the containers have no compiler; fail here if one is missing.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--only-binary=:all:", "--dest", str(wheelhouse), *requirements],
            check=True,
        )
        done.touch()
    return wheelhouse


def build_project_wheel(project: Path, dist: Path, build_wheels: Path) -> None:
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.glob("safecity-*.whl"):
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-index", "--find-links", str(build_wheels),
         "--wheel-dir", str(dist), str(project)],
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--dist", type=Path, required=True, help="where the safecity wheel goes")
    parser.add_argument("--link", type=Path, required=True, help="symlink to the dependency wheelhouse")
    args = parser.parse_args()
    runtime, build = project_requirements(args.project)
    wheelhouse = ensure_wheels(runtime, args.cache, "wheelhouse")
    build_project_wheel(args.project, args.dist, ensure_wheels(build, args.cache, "build"))
    if args.link.is_symlink() or args.link.exists():
        args.link.unlink()
    args.link.symlink_to(wheelhouse, target_is_directory=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
