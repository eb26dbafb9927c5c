#!/usr/bin/env bash
# Provider acceptance tests: real Terraform drives the built provider against a fakecloud
# emulator (one per test, on a free loopback port). Installs Terraform and fakecloud if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
terraform_dir=$(scripts/ensure-terraform.sh)
[ -n "$terraform_dir" ] && export PATH="$terraform_dir:$PATH"
scripts/ensure-fakecloud.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The AWS CLI sets the emulator up, and local-cloud starts redis-server.
command -v aws >/dev/null && command -v redis-server >/dev/null || scripts/ensure-tools.sh
# Tests run one at a time: each starts an emulator and several Terraform runs.
# local-cloud runs zip listeners with python3 and node through the official runtime interface
# clients, and the examples' image listeners as the binaries built here.
scripts/ensure-lambda-runtimes.sh
# The UI's tests drive headless Chromium and validate pages with the Nu Html Checker.
scripts/ensure-browser.sh
cargo build -p eventdriven-runtime -p cookie-report-handlers -p polyglot-approve --bins
# Every test target of the provider, so a new test file runs without editing this script; the
# run fails when it ran no test at all.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p terraform-provider-eventdriven --tests -- --ignored --test-threads=1 "$@" 2>&1 | tee "$log"
passed=$(grep -oE '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
if [ "$passed" -eq 0 ]; then
  echo "acceptance: no test ran" >&2
  exit 1
fi
