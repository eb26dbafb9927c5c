#!/usr/bin/env bash
# Builds the example's zip-package listeners into build/ beside this script:
#   build/enrich.zip  Python, app.handler: listeners/enrich/app.py and eventdriven_listener.py
#   build/audit.zip   Python, app.handler: listeners/audit/app.py and eventdriven_listener.py
#   build/price.zip   Node.js, index.handler: listeners/price compiled to index.js, and the
#                     TypeScript helper compiled (with its own tsc) as
#                     node_modules/@eventdriven/listener/; no AWS SDK inside: the runtime has it.
# Every zip entry has the same fixed time and mode, and entries are sorted, so the same sources
# give the same bytes (and the same source_code_hash).
# Needs python3, and node with npm for price.zip (the helper's dev dependencies are installed
# into listener/typescript/node_modules when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
helper_py="$repo/listener/python/eventdriven_listener.py"
helper_ts="$repo/listener/typescript"
build="$here/build"
stage="$build/stage"

rm -rf "$stage"
mkdir -p "$stage"

# Zips DIR into OUT.zip: its files by relative path, sorted, with a fixed time and mode.
zip_dir() {
  python3 - "$1" "$2" <<'PY'
import os, sys, zipfile

source, out = sys.argv[1], sys.argv[2]
files = sorted(
    os.path.relpath(os.path.join(directory, name), source).replace(os.sep, "/")
    for directory, _, names in os.walk(source)
    for name in names
)
partial = out + ".partial"
with zipfile.ZipFile(partial, "w") as archive:
    for name in files:
        entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.create_system = 3  # Unix, so the mode below is read
        entry.external_attr = 0o100644 << 16
        with open(os.path.join(source, name), "rb") as f:
            archive.writestr(entry, f.read(), compresslevel=9)
os.replace(partial, out)
PY
}

for name in enrich audit; do
  mkdir -p "$stage/$name"
  cp "$here/listeners/$name/app.py" "$helper_py" "$stage/$name/"
  zip_dir "$stage/$name" "$build/$name.zip"
done

# The TypeScript helper, then the price listener against its declarations.
if [ ! -x "$helper_ts/node_modules/.bin/tsc" ]; then
  (cd "$helper_ts" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
(cd "$helper_ts" && node_modules/.bin/tsc -p tsconfig.json)
"$helper_ts/node_modules/.bin/tsc" -p "$here/listeners/price/tsconfig.json" --outDir "$stage/price"
package="$stage/price/node_modules/@eventdriven/listener"
mkdir -p "$package/dist"
cp "$helper_ts/package.json" "$package/"
cp "$helper_ts/dist/index.js" "$package/dist/"
zip_dir "$stage/price" "$build/price.zip"

rm -rf "$stage"
for name in enrich price audit; do
  echo "$build/$name.zip $(sha256sum "$build/$name.zip" | cut -d' ' -f1)"
done
