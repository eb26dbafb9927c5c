#!/usr/bin/env bash
# Lints every IAM policy the provider creates, and the deployer's, with parliament; any finding
# fails. Runs every ignored test of core whose name mentions parliament.
set -euo pipefail
cd "$(dirname "$0")/.."
PARLIAMENT=$(scripts/ensure-parliament.sh)
export PARLIAMENT
exec tests/core-tool-tests.sh parliament
