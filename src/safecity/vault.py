"""Secrets come from an Ansible vault file; this is the only place that decrypts it.

The inventory names vault variables (``credentials: vault_camera_admin_password``); drivers get
the values from a ``Secrets`` object and never log them. The lab generates its own vault
(random values, random vault password, both under ``<deployment>/.lab/``, never committed).
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path

import yaml

from safecity.errors import SafecityError


class SecretMissing(SafecityError):
    pass


class Secrets:
    """Read-only mapping of vault variable name → value. ``repr`` never shows values."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def get(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise SecretMissing(f"vault variable {name} is not defined in the vault") from None

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        return f"Secrets({len(self._values)} values)"


def _vault_lib(password: str):  # type: ignore[no-untyped-def]
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])


def read_vault(path: Path, password_file: Path) -> Secrets:
    try:
        password = password_file.read_text(encoding="utf-8").strip()
        blob = path.read_bytes()
    except OSError as e:
        raise SafecityError(f"cannot read vault {path} / {password_file}: {e.strerror}") from e
    try:
        plain = _vault_lib(password).decrypt(blob)
    except Exception as e:  # ansible raises AnsibleError subclasses
        raise SafecityError(f"{path}: cannot decrypt the vault with {password_file}") from e
    data = yaml.safe_load(plain) or {}
    if not isinstance(data, dict):
        raise SafecityError(f"{path}: the vault must hold a mapping of variable: value")
    return Secrets({str(k): str(v) for k, v in data.items()})


def write_vault(path: Path, values: Mapping[str, str], password_file: Path) -> None:
    password = password_file.read_text(encoding="utf-8").strip()
    plain = yaml.safe_dump(dict(sorted(values.items())), default_flow_style=False).encode()
    blob = _vault_lib(password).encrypt(plain)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)


def strong_password(length: int = 16) -> str:
    """Meets every vendor policy we model: ≥ 8 chars, upper, lower, digit, symbol."""
    alphabet = string.ascii_letters + string.digits
    while True:
        core = "".join(secrets.choice(alphabet) for _ in range(length - 2))
        pw = core + secrets.choice("!@#%^*-_") + secrets.choice(string.digits)
        if any(c.islower() for c in pw) and any(c.isupper() for c in pw):
            return pw


def new_password_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")
