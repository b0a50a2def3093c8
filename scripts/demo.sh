#!/usr/bin/env bash
# The main job on the embedded example deployment, end to end on the virtual device lab:
#   validate → plan → lab up → provision switches + cameras → enroll on the tier platforms →
#   verify → acceptance report (path printed).
# Idempotent: device state persists in <deployment>/.lab/state, so a second run converges with no
# change. The lab is stopped at the end (also on failure) unless --keep-lab is given.
# Usage: scripts/demo.sh [DEPLOYMENT] [--keep-lab]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
KEEP_LAB=""
DEPLOYMENT="$ROOT/inventory/example"
for arg in "$@"; do
  case "$arg" in
    --keep-lab) KEEP_LAB=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) DEPLOYMENT="$(cd "$arg" && pwd)" ;;
  esac
done
scripts/bootstrap.sh
SC="$ROOT/.venv/bin/safecity"
# The demo runs on the lab: every driver refuses a non-loopback target (netguard.py).
export SAFECITY_LOOPBACK_ONLY=1

echo "== 1/7 validate $DEPLOYMENT"
"$SC" inventory validate "$DEPLOYMENT"
echo "== 2/7 plan (addresses and GB/T 28181 IDs vs plan.lock.json)"
"$SC" inventory plan "$DEPLOYMENT"

echo "== 3/7 lab up (every device of the deployment on 127.0.0.0/8)"
"$SC" lab down "$DEPLOYMENT" >/dev/null 2>&1 || true   # a lab left up by an earlier --keep-lab run
"$SC" lab up "$DEPLOYMENT"
stop_lab() {
  if [ -z "$KEEP_LAB" ]; then "$SC" lab down "$DEPLOYMENT" || true
  else echo "lab left up (--keep-lab): $SC lab status $DEPLOYMENT; $SC lab down $DEPLOYMENT"; fi
}
trap stop_lab EXIT

echo "== 4/7 provision switches (diff, push, verify from a fresh session, save; roll back on failure)"
"$SC" provision-switches "$DEPLOYMENT" --lab

echo "== 5/7 provision cameras and encoders"
"$SC" provision "$DEPLOYMENT" --lab

echo "== 6/7 enroll on the tier platforms (GB/T 28181)"
enroll_status=0
"$SC" enroll "$DEPLOYMENT" --lab || enroll_status=$?   # verification still reports every device

echo "== 7/7 verify (acceptance report)"
verify_status=0
"$SC" verify "$DEPLOYMENT" --lab --out "$DEPLOYMENT/results/acceptance" || verify_status=$?
latest="$(ls -t "$DEPLOYMENT"/results/acceptance/acceptance-*.html 2>/dev/null | head -1 || true)"
echo "acceptance report: ${latest:-none written}"
[ "$verify_status" -eq 0 ] && [ "$enroll_status" -eq 0 ]
