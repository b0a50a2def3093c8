#!/bin/sh
# Ansible runs an executable vault password file. The lab's vault password only exists after
# create (safecity lab up writes it); before that any placeholder will do (nothing is decrypted).
f="$(dirname "$0")/.lab/deployment/.lab/vault-pass"
if [ -f "$f" ]; then cat "$f"; else echo "no-lab-yet"; fi
