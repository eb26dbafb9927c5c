#!/usr/bin/env bash
# Runs the ignored tests of core whose names match FILTER (those that need an outside tool,
# which the caller installs and names in the environment), so a new one needs no edit here,
# and fails when none ran.
# Usage: tests/core-tool-tests.sh FILTER
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p eventdriven-core -- --ignored "$1" 2>&1 | tee "$log"
passed=$(grep -oE '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
if [ "$passed" -eq 0 ]; then
  echo "$1: no test ran" >&2
  exit 1
fi
