#!/usr/bin/env bash
# Lints every IAM policy the provider creates with parliament; any finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PARLIAMENT=$(scripts/ensure-parliament.sh)
export PARLIAMENT
cargo test -p eventdriven-core --lib -- --ignored every_policy_passes_parliament
