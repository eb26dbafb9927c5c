#!/usr/bin/env bash
# Checks every state machine definition the project renders with asl-validator; any finding
# fails. Runs every ignored test of core whose name mentions asl_validator, so a new one needs
# no edit here, and fails when none ran.
set -euo pipefail
cd "$(dirname "$0")/.."
ASL_VALIDATOR=$(scripts/ensure-asl-validator.sh)
export ASL_VALIDATOR
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p eventdriven-core -- --ignored asl_validator 2>&1 | tee "$log"
passed=$(grep -oE '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
if [ "$passed" -eq 0 ]; then
  echo "asl-validate: no test ran" >&2
  exit 1
fi
