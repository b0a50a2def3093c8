#!/usr/bin/env bash
# The test command: installs what it needs, then runs the unit + lab tests and the Molecule scenarios.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
# Lab and CI runs never dial a real (non-127/8) address: every driver refuses one (netguard.py).
export SAFECITY_LOOPBACK_ONLY=1
python -m pytest -q "$@"
# Molecule scenarios at the repo root (default driver): each creates and destroys its own lab or
# containers. SAFECITY_SKIP_MOLECULE=1 skips them for a quick local run.
if [ -z "${SAFECITY_SKIP_MOLECULE:-}" ] && [ "$#" -eq 0 ]; then
  for scenario in molecule/*/molecule.yml; do
    name="$(basename "$(dirname "$scenario")")"
    echo "== molecule test -s $name"
    # Molecule writes its own ansible.cfg per scenario; the repo's must not override it.
    env -u ANSIBLE_CONFIG molecule test -s "$name"
  done
fi
