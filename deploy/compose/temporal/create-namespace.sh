#!/bin/sh
# Registers claimflow's Temporal namespace (retention set explicitly) and the search attributes its
# workflows upsert: what stack/temporal.ts does for the dev server of `npm run up`. Idempotent.
set -eu

: "${TEMPORAL_ADDRESS:?}"
: "${CLAIMFLOW_NAMESPACE:=claimflow}"
: "${CLAIMFLOW_RETENTION:=720h}"
: "${CLAIMFLOW_SEARCH_ATTRIBUTES:=ClaimflowTenant ClaimflowInstance ClaimflowPhase ClaimflowMaintenanceWindow}"

retry() {
  what=$1
  shift
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "$what: still failing after 60 tries" >&2
      "$@"
      exit 1
    fi
    sleep 2
  done
}

serving() { temporal operator cluster health | grep -q SERVING; }
retry "waiting for Temporal at $TEMPORAL_ADDRESS" serving

if temporal operator namespace describe -n "$CLAIMFLOW_NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace update -n "$CLAIMFLOW_NAMESPACE" --retention "$CLAIMFLOW_RETENTION"
else
  temporal operator namespace create -n "$CLAIMFLOW_NAMESPACE" --retention "$CLAIMFLOW_RETENTION" \
    --description "claimflow: one entity workflow per managed PostgreSQL instance"
fi

retry "waiting for namespace $CLAIMFLOW_NAMESPACE" temporal operator search-attribute list -n "$CLAIMFLOW_NAMESPACE"
for name in $CLAIMFLOW_SEARCH_ATTRIBUTES; do
  if temporal operator search-attribute list -n "$CLAIMFLOW_NAMESPACE" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create -n "$CLAIMFLOW_NAMESPACE" --name "$name" --type Keyword
  fi
done
echo "namespace $CLAIMFLOW_NAMESPACE is ready (retention $CLAIMFLOW_RETENTION)"
