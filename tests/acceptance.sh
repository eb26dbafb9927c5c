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
cargo build -p eventdriven-runtime --bin eventdriven
cargo test -p terraform-provider-eventdriven --test acceptance --test local_cloud --test workflow -- --ignored --test-threads=1 "$@"
