#!/usr/bin/env bash
# Lints every IAM policy the provider creates with parliament; any finding fails. Runs every
# ignored test of core whose name mentions parliament, so a new one needs no edit here, and
# fails when none ran.
set -euo pipefail
cd "$(dirname "$0")/.."
PARLIAMENT=$(scripts/ensure-parliament.sh)
export PARLIAMENT
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p eventdriven-core -- --ignored parliament 2>&1 | tee "$log"
passed=$(grep -oE '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
if [ "$passed" -eq 0 ]; then
  echo "iam-lint: no test ran" >&2
  exit 1
fi
