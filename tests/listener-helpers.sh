#!/usr/bin/env bash
# The listener helpers' own tests: Python (unittest, no AWS SDK needed) and TypeScript
# (node:test against the compiled helper; its dev dependencies come from the lock file).
set -euo pipefail
cd "$(dirname "$0")/../listener"
(cd python && python3 -m unittest -q 2>&1)
(cd typescript && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm test --silent)
