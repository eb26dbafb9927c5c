#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when they are missing:
# protoc (tf-provider compiles its protocol files), redis-server, the AWS CLI (the tests and the
# laptop loop set the emulator up with it), and GNU time (benchmarks).
set -euo pipefail
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v aws >/dev/null || missing+=(awscli)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
