#!/usr/bin/env bash
# npm test: lint, type-check, then the tests against a throwaway stack (test/run.ts).
#   npm test                                   everything
#   npm test -- test/integration/x.test.ts     lint + type-check + just that file
#   CLAIMFLOW_SKIP_CHECKS=1 npm test -- ...    skip lint and type-check (quick iteration)
set -euo pipefail
cd "$(dirname "$0")/.."

# The Go-built servers are needed by the integration tests; on a machine without the cache the
# first build takes minutes, so it runs in the background while lint and tsc use the CPU too.
toolchain_log=$(mktemp "${TMPDIR:-/tmp}/claimflow-toolchain.XXXXXX")
toolchain_pid=
if [ -z "${CLAIMFLOW_TOOLCHAIN_BIN:-}" ]; then
  # set -m: the job gets its own process group, so an early exit can stop its go build too
  set -m
  bash scripts/build-toolchain.sh >"$toolchain_log" 2>&1 &
  toolchain_pid=$!
  set +m
fi
cleanup() {
  if [ -n "$toolchain_pid" ] && kill -0 "$toolchain_pid" 2>/dev/null; then
    kill -TERM -- "-$toolchain_pid" 2>/dev/null || true
  fi
  rm -f "$toolchain_log"
}
trap cleanup EXIT

if [ "${CLAIMFLOW_SKIP_CHECKS:-}" != "1" ]; then
  echo "==> lint (eslint .)"
  npx --no-install eslint .
  echo "==> type-check (tsc --noEmit)"
  npx --no-install tsc --noEmit
fi

if [ -n "$toolchain_pid" ]; then
  echo "==> toolchain (scripts/build-toolchain.sh)"
  if ! wait "$toolchain_pid"; then
    toolchain_pid=
    cat "$toolchain_log" >&2
    echo "toolchain build failed" >&2
    exit 1
  fi
  toolchain_pid=
  grep '^\[toolchain\]' "$toolchain_log" | grep -v ': cached' >&2 || true   # show builds, not cache hits
  CLAIMFLOW_TOOLCHAIN_BIN=$(tail -n 1 "$toolchain_log")
  export CLAIMFLOW_TOOLCHAIN_BIN
fi

cleanup
trap - EXIT
echo "==> tests (tsx test/run.ts${*:+ $*})"
exec node_modules/.bin/tsx test/run.ts "$@"
