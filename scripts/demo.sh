#!/usr/bin/env bash
# The main job on the embedded example deployment. Installs what it needs first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
SC="$ROOT/.venv/bin/safecity"
DEPLOYMENT="${1:-$ROOT/inventory/example}"
echo "== 1/3 validate $DEPLOYMENT"
"$SC" inventory validate "$DEPLOYMENT"
echo "== 2/3 plan (addresses and GB/T 28181 IDs vs plan.lock.json)"
"$SC" inventory plan "$DEPLOYMENT"
echo "== 3/3 statistics"
"$SC" inventory stats "$DEPLOYMENT"
