#!/usr/bin/env bash
# Installs the AWS emulator the tests run against, unless that version is already installed.
# The first install compiles for most of an hour on two cores.
set -euo pipefail
version=0.51.0
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if command -v fakecloud >/dev/null && fakecloud --version 2>/dev/null | grep -q "$version"; then
  exit 0
fi
cargo install fakecloud --locked --version "$version"
