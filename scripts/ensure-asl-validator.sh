#!/usr/bin/env bash
# Installs asl-validator (an Amazon States Language validator, npm) outside the clone, unless
# that version is there; prints the path of its executable.
set -euo pipefail
version=4.0.0
prefix="${HOME}/.cache/eventdriven/asl-validator"
bin="$prefix/node_modules/.bin/asl-validator"
if ! "$bin" --version 2>/dev/null | grep -q "$version"; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "asl-validator@$version" >&2
fi
echo "$bin"
