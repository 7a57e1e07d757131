#!/usr/bin/env bash
# Installs the interop server's npm packages (package-lock.json, exact
# versions) into tests/interop/node_modules with `npm ci`, unless the tree
# there already matches the lock file. tools/run-tests runs it before the
# tests; each interop test runs it too, so `meson test --suite interop` works
# alone. Needs node and npm (tools/install-deps) and the npm registry.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for tool in node npm; do
  command -v "$tool" >/dev/null || {
    echo "npm_setup: $tool is not installed (tools/install-deps installs nodejs and npm)" >&2
    exit 1
  }
done
# npm writes node_modules/.package-lock.json after a complete install.
installed=$here/node_modules/.package-lock.json
if [[ -f $installed && ! $here/package-lock.json -nt $installed ]]; then
  exit 0
fi
echo "npm_setup: npm ci in $here"
# A lock keeps two runs from installing into the same tree at once.
exec 9>"$here/.npm-setup.lock"
flock -w 300 9 || {
  echo "npm_setup: another npm ci held the lock for 300 s" >&2
  exit 1
}
if ! (cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error); then
  echo "npm_setup: npm ci failed" >&2
  exit 1
fi
