#!/usr/bin/env bash
# Installs genesis.js 3.3.9 (pinned by package.json and package-lock.json) into DIR for the
# cross-check test: GENESIS_JS_DIR=DIR cargo test -p catalyst-gateway --test genesis_js
# Needs node (>= 18) and npm, and the npm registry.
set -euo pipefail
dir=${1:?usage: install.sh DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v npm >/dev/null || { echo "install.sh: npm is not installed" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ "$dir" != "$here" ]]; then
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
fi
cd "$dir"
npm ci --omit=dev --no-audit --no-fund --loglevel=error
node -e "const v = require('genesis.js/package.json').version; if (v !== '3.3.9') { console.error('genesis.js ' + v); process.exit(1); } console.log('genesis.js ' + v + ' installed in ' + process.cwd());"
