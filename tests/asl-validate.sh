#!/usr/bin/env bash
# Checks every state machine definition the project renders with asl-validator; any finding
# fails. Runs every ignored test of core whose name mentions asl_validator.
set -euo pipefail
cd "$(dirname "$0")/.."
ASL_VALIDATOR=$(scripts/ensure-asl-validator.sh)
export ASL_VALIDATOR
exec tests/core-tool-tests.sh asl_validator
