#!/usr/bin/env bash
# Builds the local servers claimflow runs against (Temporal dev server, etcd, kube-apiserver,
# kubectl), and promtool for the alert rules' tests, from the Go module proxy and caches them
# outside the clone, keyed by version and by the wrapper module's go.sum, so a second run does nothing.
#
#   scripts/build-toolchain.sh          build what is missing, print the cache directory
#   CLAIMFLOW_TOOLCHAIN_CACHE=dir ...   cache somewhere else (default ~/.cache/claimflow/toolchain)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${CLAIMFLOW_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claimflow/toolchain}

TEMPORAL_CLI_VERSION=1.5.1
ETCD_VERSION=3.6.16
KUBERNETES_VERSION=1.34.4
PROMETHEUS_VERSION=3.16.0   # its Go module is v0.316.0 (toolchain/promtool/go.mod)

say() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "no 'go' on PATH: install Go >= 1.25 (this machine kind ships it at /usr/local/go/bin)"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${go_minor:-0}" -ge 25 ] || die "Go $(go env GOVERSION) is too old: the wrapper modules need Go >= 1.25"

# key = version + hash of the wrapper's go.sum: a changed pin rebuilds, nothing else does
key_of() { printf '%s-%s' "$2" "$(sha256sum "$here/toolchain/$1/go.sum" | cut -c1-12)"; }

build() { # build <wrapper dir> <version> <binary name> <package> [ldflags] [build tags]
  local wrapper=$1 version=$2 name=$3 pkg=$4 ldflags=${5:-} tags=${6:-}
  local dir="$cache_root/$name-$(key_of "$wrapper" "$version")"
  if [ -x "$dir/$name" ]; then
    say "$name $version: cached ($dir)"
  else
    say "$name $version: building $pkg (first time only; this can take several minutes)..."
    local started=$SECONDS tmp
    mkdir -p "$dir"
    tmp=$(mktemp "$dir/.$name.XXXXXX")
    if ! (cd "$here/toolchain/$wrapper" && go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$tmp" "$pkg"); then
      rm -f "$tmp"
      die "building $name failed; see the go output above (a network error means the Go module proxy was unreachable)"
    fi
    mv "$tmp" "$dir/$name"   # atomic: a killed build never leaves a half binary in the cache
    say "$name $version: built in $((SECONDS - started))s"
  fi
  mkdir -p "$cache_root/current"
  ln -sfn "$dir/$name" "$cache_root/current/$name"
}

k8s_ldflags() {
  local v=$KUBERNETES_VERSION major minor f=""
  major=${v%%.*}; minor=$(echo "$v" | cut -d. -f2)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=v$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "$f"
}

build temporal "$TEMPORAL_CLI_VERSION" temporal github.com/temporalio/cli/cmd/temporal \
  "-X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION"
build etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3
build kube-apiserver "$KUBERNETES_VERSION" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags)"
build kube-apiserver "$KUBERNETES_VERSION" kubectl k8s.io/kubernetes/cmd/kubectl "$(k8s_ldflags)"
# remove_all_sd: promtool without Prometheus's service discoveries (the SDK of every cloud), which
# only scraping uses; rule checks and rule unit tests need none of them
build promtool "$PROMETHEUS_VERSION" promtool github.com/prometheus/prometheus/cmd/promtool \
  "-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" remove_all_sd

echo "$cache_root/current"
