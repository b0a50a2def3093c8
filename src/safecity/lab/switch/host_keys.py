"""SSH host keys shared by every switch of a lab, kept in the state directory.

Generated once per state directory (not per switch: RSA generation costs ~0.1 s), and reused on
the next start so clients that pinned the key keep working after ``lab down``/``lab up``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh


@dataclass(frozen=True)
class HostKeys:
    modern: asyncssh.SSHKey  # ed25519
    legacy: asyncssh.SSHKey  # RSA, offered as ssh-rsa by legacy switches


def _load_or_create(path: Path, alg: str) -> asyncssh.SSHKey:
    if path.exists():
        return asyncssh.read_private_key(path)
    key = (asyncssh.generate_private_key(alg, key_size=2048) if alg == "ssh-rsa"
           else asyncssh.generate_private_key(alg))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    return key


def load_host_keys(state_dir: Path) -> HostKeys:
    return HostKeys(
        modern=_load_or_create(state_dir / "switch_host_ed25519", "ssh-ed25519"),
        legacy=_load_or_create(state_dir / "switch_host_rsa", "ssh-rsa"),
    )
