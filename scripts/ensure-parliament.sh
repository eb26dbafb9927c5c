#!/usr/bin/env bash
# Installs parliament (the IAM policy linter, PyPI) in a venv outside the clone, unless that
# version is there; prints the path of its executable.
set -euo pipefail
version=1.6.4
venv="${HOME}/.cache/eventdriven/iam-venv"
if ! "$venv/bin/parliament" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet "parliament==$version" >&2
fi
echo "$venv/bin/parliament"
