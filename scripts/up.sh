#!/usr/bin/env bash
# npm run up: the whole local stack from a fresh clone.
#   1. node_modules (npm ci) when missing or older than package-lock.json
#   2. the Go-built servers (scripts/build-toolchain.sh; cached in ~/.cache after the first time)
#   3. tsx stack/cli.ts up: start what is not running, wait for health, print the table
set -euo pipefail
cd "$(dirname "$0")/.."

# node_modules/.package-lock.json is rewritten by every npm install/ci: it dates the install
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[up] installing node_modules (npm ci)..." >&2
  # npm ci refuses a lock without the other platforms' optional binaries (this registry lacks
  # darwin/win32 @swc/core builds); npm install then installs the same locked versions.
  npm_log=$(mktemp)
  if ! npm ci --no-audit --no-fund >"$npm_log" 2>&1; then
    head -n 12 "$npm_log" >&2
    echo "[up] npm ci failed (above); falling back to npm install" >&2
    npm install --no-audit --no-fund
  fi
  rm -f "$npm_log"
fi

toolchain_bin=$(bash scripts/build-toolchain.sh | tail -n 1)
export CLAIMFLOW_TOOLCHAIN_BIN="$toolchain_bin"
exec node_modules/.bin/tsx stack/cli.ts up "$@"
