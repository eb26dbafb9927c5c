#!/usr/bin/env bash
# Installs what the UI's browser tests need, when it is missing: headless Chromium and its
# WebDriver (Debian's chromium and chromium-driver), and the Nu Html Checker (npm's vnu-jar,
# run with the machine's Java) under ~/.cache/eventdriven/vnu.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
vnu_dir="$HOME/.cache/eventdriven/vnu"
if [ ! -f "$vnu_dir/node_modules/vnu-jar/build/dist/vnu.jar" ]; then
  echo "installing the Nu Html Checker (npm vnu-jar) into $vnu_dir" >&2
  mkdir -p "$vnu_dir"
  npm install --prefix "$vnu_dir" --no-audit --no-fund --silent vnu-jar >/dev/null
fi
