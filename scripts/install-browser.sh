#!/usr/bin/env bash
# Installs what the hosted page's browser tests (crates/api/tests/browser.rs) need:
# Debian's chromium and chromium-driver (apt-get, only when missing) and axe-core 4.10.2
# (pinned; npm, into DIR, default target/axe-core). Then:
#   CATALYST_BROWSER_TESTS=required AXE_CORE_DIR=target/axe-core cargo test -p catalyst-api --test browser
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-target/axe-core}
axe_version=4.10.2
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v fc-list >/dev/null && fc-list | grep -qi dejavu || missing+=(fonts-dejavu-core)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
mkdir -p "$dir"
if [[ ! -f "$dir/node_modules/axe-core/axe.min.js" ]] ||
  [[ "$(node -p "require('./$dir/node_modules/axe-core/package.json').version")" != "$axe_version" ]]; then
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "axe-core@$axe_version"
fi
cp "$dir/node_modules/axe-core/axe.min.js" "$dir/axe.min.js"
echo "chromium: $(chromium --version 2>/dev/null | head -1); chromedriver: $(chromedriver --version | head -1); axe-core $axe_version in $dir"
