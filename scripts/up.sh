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
  npm ci --no-audit --no-fund
fi

toolchain_bin=$(bash scripts/build-toolchain.sh | tail -n 1)
export CLAIMFLOW_TOOLCHAIN_BIN="$toolchain_bin"
exec node_modules/.bin/tsx stack/cli.ts up "$@"
