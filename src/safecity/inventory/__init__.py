"""The inventory: models, loading, validation and planning. Never talks to a device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safecity.errors import InventoryError, Problem
from safecity.inventory.loader import Deployment, load_deployment
from safecity.inventory.profiles import ProfileCatalog, ProfileError, load_profiles
from safecity.inventory.validate import validate


@dataclass
class CheckedDeployment:
    deployment: Deployment | None
    catalog: ProfileCatalog | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.deployment is not None and not self.problems


def check_deployment(root: Path, templates: Path | None = None) -> CheckedDeployment:
    """Load, schema-check and validate a deployment; every problem found, sorted by place."""
    try:
        catalog = load_profiles(templates)
    except ProfileError as e:
        return CheckedDeployment(None, None, e.problems)
    loaded = load_deployment(root)
    problems = list(loaded.problems)
    if loaded.deployment is not None:
        problems += validate(loaded.deployment, catalog)
    problems.sort(key=lambda p: (p.file, p.line))
    return CheckedDeployment(loaded.deployment, catalog, problems)


def load_valid_deployment(root: Path, templates: Path | None = None) -> tuple[Deployment, ProfileCatalog]:
    """For commands that touch devices: a valid deployment or ``InventoryError``."""
    checked = check_deployment(root, templates)
    if not checked.ok or checked.deployment is None or checked.catalog is None:
        raise InventoryError(checked.problems or [Problem(str(root), 0, "", "cannot load deployment")])
    return checked.deployment, checked.catalog
