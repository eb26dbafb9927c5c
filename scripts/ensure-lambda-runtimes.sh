#!/usr/bin/env bash
# Installs what runs zip-package listeners (Python and Node.js Lambda functions) on this machine,
# unless it is already there, into ${EVENTDRIVEN_LAMBDA_RUNTIMES:-~/.cache/eventdriven/lambda-runtimes}:
#   python/  PyPI awslambdaric (the Lambda runtime interface client) and boto3, standing in for
#            the SDK the Lambda Python runtime includes; put on PYTHONPATH.
#   node/    npm aws-lambda-ric (3.x: 4.x needs Node.js 22) and @aws-sdk/client-eventbridge,
#            standing in for the SDK the Lambda Node.js runtime includes; node/node_modules
#            (on NODE_PATH, so a zip's require of the SDK finds it, as on Lambda).
# aws-lambda-ric compiles a native addon (curl and the Lambda C++ runtime), which needs cmake,
# autoconf, automake, libtool, make and g++: installed from Debian's packages when missing.
# Each runtime records what it was installed for (versions, the interpreter's) in a marker file;
# when that matches, nothing is done and nothing printed. Prints the elapsed seconds when it
# installed something.
set -euo pipefail
root="${EVENTDRIVEN_LAMBDA_RUNTIMES:-$HOME/.cache/eventdriven/lambda-runtimes}"
node_ric=aws-lambda-ric@3.2.1
python_packages=(awslambdaric boto3)
# The SDK pinned too: its releases from 2027 on require Node.js 22.
node_packages=("$node_ric" @aws-sdk/client-eventbridge@3.1178.0)
marker=.eventdriven-installed

# What each install is for: the packages and the interpreter whose ABI a compiled part follows.
python_wants="${python_packages[*]} for python $(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
node_wants="${node_packages[*]} for node $(node -p 'process.versions.modules')"

python_ok() {
  [ "$(cat "$root/python/$marker" 2>/dev/null)" = "$python_wants" ] && [ -d "$root/python/awslambdaric" ]
}
node_ok() {
  [ "$(cat "$root/node/$marker" 2>/dev/null)" = "$node_wants" ] &&
    [ -f "$root/node/node_modules/aws-lambda-ric/dist/rapid-client.node" ] &&
    [ -d "$root/node/node_modules/@aws-sdk/client-eventbridge" ]
}

if python_ok && node_ok; then
  exit 0
fi
start=$(date +%s)

if ! python_ok; then
  echo "installing the Python Lambda runtime (${python_packages[*]}) into $root/python" >&2
  rm -rf "$root/python"
  mkdir -p "$root/python"
  python3 -m pip install --quiet --disable-pip-version-check --no-input --no-warn-conflicts --root-user-action=ignore \
    --target "$root/python" "${python_packages[@]}" >&2
  echo "$python_wants" >"$root/python/$marker"
fi

if ! node_ok; then
  missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v autoconf >/dev/null || missing+=(autoconf)
  command -v automake >/dev/null || missing+=(automake)
  command -v libtoolize >/dev/null || missing+=(libtool)
  command -v make >/dev/null || missing+=(make)
  command -v g++ >/dev/null || missing+=(g++)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (aws-lambda-ric compiles a native addon)" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  echo "installing the Node.js Lambda runtime (${node_packages[*]}) into $root/node: compiles a native addon, a minute or two" >&2
  rm -rf "$root/node"
  mkdir -p "$root/node"
  # A package.json of its own, so npm installs here and not into an enclosing project.
  echo '{"name": "eventdriven-lambda-runtime-node", "private": true}' >"$root/node/package.json"
  log="$root/node-install.log"
  if ! npm install --prefix "$root/node" --save-exact --no-audit --no-fund --loglevel=error "${node_packages[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "installing $node_ric failed; the whole log: $log" >&2
    exit 1
  fi
  if [ ! -f "$root/node/node_modules/aws-lambda-ric/dist/rapid-client.node" ]; then
    tail -n 40 "$log" >&2
    echo "$node_ric installed without its native addon (were its install scripts skipped?); the log: $log" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$node_wants" >"$root/node/$marker"
fi

echo "lambda runtimes installed in $root in $(( $(date +%s) - start )) s" >&2
