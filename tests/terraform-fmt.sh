#!/usr/bin/env bash
# The Terraform-side modules and the examples are `terraform fmt`-clean.
set -euo pipefail
cd "$(dirname "$0")/.."
terraform_dir=$(scripts/ensure-terraform.sh)
[ -n "$terraform_dir" ] && export PATH="$terraform_dir:$PATH"
if ! unformatted=$(terraform fmt -check -recursive terraform examples); then
  echo "not terraform fmt-clean: $unformatted" >&2
  exit 1
fi
echo "terraform fmt: terraform/ and examples/ are clean"
