#!/usr/bin/env bash
# Installs the AWS emulator the tests run against, unless that version is already installed.
#
# The emulator is only ever built from source (crates.io has no binary of it). Its own release
# profile optimizes fully, which made a first install on two cores take more than an hour; the
# tests need a working emulator, not its fastest build, so this install compiles at opt-level 1
# without link-time optimization, in a fraction of that time (the README has the figures).
# Progress is printed as [compiled/total] while it builds.
set -euo pipefail
version=0.51.0
# Crates a fresh install compiles (counted on a fresh machine); only for the progress figure.
crates=660
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if command -v fakecloud >/dev/null && fakecloud --version 2>/dev/null | grep -q "$version"; then
  exit 0
fi
echo "Installing the AWS emulator fakecloud $version: a first install compiles about $crates crates" >&2
echo "(measured: see the README); later runs reuse it." >&2
start=$(date +%s)
compiled=0
# A build directory that outlives an interrupted install (a session's end, a CI time limit), so
# the next install resumes where it stopped instead of compiling everything again.
build_dir="${XDG_CACHE_HOME:-$HOME/.cache}/eventdriven/fakecloud-build"
CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
CARGO_PROFILE_RELEASE_LTO=false \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
CARGO_PROFILE_RELEASE_DEBUG=false \
CARGO_PROFILE_RELEASE_STRIP=true \
  cargo install fakecloud --locked --version "$version" --target-dir "$build_dir" 2>&1 |
  while IFS= read -r line; do
    if [[ $line =~ ^\ *Compiling\ ([^ ]+\ [^ ]+) ]]; then
      compiled=$((compiled + 1))
      echo "[$compiled/$crates, $(( $(date +%s) - start )) s] ${BASH_REMATCH[1]}"
    else
      echo "$line"
    fi
  done >&2
echo "fakecloud $version installed in $(( $(date +%s) - start )) s" >&2
rm -rf "$build_dir"
