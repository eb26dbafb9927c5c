#!/usr/bin/env bash
# Installs the AWS emulator the acceptance tests run against, unless that version is on PATH.
set -euo pipefail
version=0.51.0
if command -v fakecloud >/dev/null && fakecloud --version 2>/dev/null | grep -q "$version"; then
  exit 0
fi
cargo install fakecloud --locked --version "$version"
