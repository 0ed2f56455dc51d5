#!/usr/bin/env bash
# Bulk import benchmark through the router: generates a medicine master CSV
# of N rows (default 10 000) and a vendor's listings-and-stock CSV of M rows
# (default N, one listing and one batch per medicine), imports each as the
# demo admin / the demo KA vendor admin (`importMedicines`,
# `importListings`), then imports both again (idempotent: every row
# unchanged), printing rows/s for each run.
#
# Environment (all optional):
#   JANTA_IMPORT_ROWS      medicine rows (default 10000; at most 20000 and
#                          1.9 MB of CSV per import)
#   JANTA_IMPORT_LISTINGS  listing rows (default JANTA_IMPORT_ROWS; 0 skips)
#   JANTA_ROUTER_URL       use a running platform (e.g. http://127.0.0.1:4000/graphql,
#                          with the demo logins); default: start `janta dev`
#                          on a fresh SQLite data directory
#   JANTA_IMPORT_POSTGRES=1  start the platform distributed on PostgreSQL
#                          instead (bench/distributed.sh: fresh databases
#                          janta_import_<domain>, NATS, no replicas), then
#                          load the demo into it (`janta seed demo <domain>`)
#   JANTA_PORT             router port of the started platform (default 4400)
#   JANTA_BIN              a built janta binary (default: cargo build, debug;
#                          e.g. $HOME/.cache/janta/target-release/release/janta)
#   JANTA_IMPORT_DIRECT=1  send the imports to the catalog subgraph itself
#                          (router port + 2 under `janta dev`, or
#                          JANTA_CATALOG_URL), to tell router time from import time
#
# Needs curl and jq. The router gives a subgraph request 10 s
# (traffic_shaping.all.request_timeout), which bounds one import's size.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${JANTA_IMPORT_ROWS:-10000}"
LISTINGS="${JANTA_IMPORT_LISTINGS:-$ROWS}"
PORT="${JANTA_PORT:-4400}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/janta-import.XXXXXX")"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is needed"
command -v jq >/dev/null || die "jq is needed"
[ "$LISTINGS" -le "$ROWS" ] || die "JANTA_IMPORT_LISTINGS must not exceed JANTA_IMPORT_ROWS"

DEV_PID=""
cleanup() {
  if [ -n "$DEV_PID" ]; then
    # bench/distributed.sh stops what it started on SIGTERM; janta dev is one process.
    kill "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ -n "${JANTA_ROUTER_URL:-}" ]; then
  URL="$JANTA_ROUTER_URL"
else
  if [ -z "${JANTA_BIN:-}" ]; then
    say "building janta"
    cargo build --quiet --bin janta
    target_dir="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
    JANTA_BIN="$target_dir/debug/janta"
  fi
  [ -x "$JANTA_BIN" ] || die "no janta binary at $JANTA_BIN"
  URL="http://127.0.0.1:$PORT/graphql"
  if [ "${JANTA_IMPORT_POSTGRES:-0}" = 1 ]; then
    say "starting the platform distributed on PostgreSQL, router on port $PORT (log $WORK/dev.log)"
    JANTA_BIN="$JANTA_BIN" JANTA_PORT="$PORT" JANTA_DIST_FRESH=1 JANTA_DIST_DB_PREFIX=janta_import \
      JANTA_REPLICATED="" JANTA_EVENTS_NAMESPACE="import$$" JANTA_DIST_DIR="$WORK/dist" \
      JANTA_RATE_LIMIT_PER_MINUTE=100000000 \
      bench/distributed.sh >"$WORK/dev.log" 2>&1 &
    DEV_PID=$!
  else
    say "starting janta dev on port $PORT (data in $WORK/data, log $WORK/dev.log)"
    "$JANTA_BIN" dev --port "$PORT" --data-dir "$WORK/data" >"$WORK/dev.log" 2>&1 &
    DEV_PID=$!
  fi
  for _ in $(seq 1 240); do
    if curl -sf "$URL" -H 'content-type: application/json' -d '{"query":"{ __typename }"}' >/dev/null 2>&1; then
      break
    fi
    kill -0 "$DEV_PID" 2>/dev/null || { tail -20 "$WORK/dev.log" >&2; die "the platform exited"; }
    sleep 0.5
  done
  if [ "${JANTA_IMPORT_POSTGRES:-0}" = 1 ]; then
    pg="${JANTA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    for d in users catalog prescriptions orders payments notifications; do
      DATABASE_URL="${pg%/*}/janta_import_$d" JANTA_DATA_DIR="$WORK/dist/data/$d" \
        "$JANTA_BIN" seed demo "$d" >>"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log" >&2; die "seeding $d failed"; }
    done
  fi
fi

IMPORT_URL="$URL"
if [ "${JANTA_IMPORT_DIRECT:-0}" = 1 ]; then
  IMPORT_URL="${JANTA_CATALOG_URL:-http://127.0.0.1:$((PORT + 2))/graphql}"
fi

# gql TOKEN BODY_FILE: POSTs a JSON request body to the import endpoint, prints the response.
gql() {
  curl -sS "$IMPORT_URL" -H 'content-type: application/json' -H "authorization: Bearer $1" \
    --data-binary "@$2"
}

login() {
  local body
  body="$(jq -n --arg e "$1" '{query: "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }", variables: {e: $e, p: "demo-password-1"}}')"
  curl -sS "$URL" -H 'content-type: application/json' -d "$body" | jq -er '.data.login.accessToken' \
    || die "could not log in as $1"
}

say "generating $ROWS medicines and $LISTINGS listings"
expiry="$(date -u -d '+2 years' +%Y-%m-%d)"
awk -v n="$ROWS" 'BEGIN {
  print "name,generic,manufacturer,strength,form,pack,schedule,hsn,category"
  split("TABLET CAPSULE SYRUP", forms, " "); split("OTC H H1", schedules, " ")
  for (i = 1; i <= n; i++)
    printf "Benchmed %d tablet,\"Benchamine %d, Paracetamol\",Bench Labs %d Ltd,%d mg,%s,strip of 10,%s,30049099,Bench category %d\n",
      i, i % 500, i % 40, (i % 900) + 100, forms[i % 3 + 1], schedules[i % 3 + 1], i % 12
}' >"$WORK/medicines.csv"
awk -v n="$LISTINGS" -v expiry="$expiry" 'BEGIN {
  print "name,strength,form,manufacturer,price,mrp,batch,expiry,quantity"
  split("TABLET CAPSULE SYRUP", forms, " ")
  for (i = 1; i <= n; i++)
    printf "Benchmed %d tablet,%d mg,%s,Bench Labs %d Ltd,90,100,BN%d,%s,50\n",
      i, (i % 900) + 100, forms[i % 3 + 1], i % 40, i, expiry
}' >"$WORK/listings.csv"

ADMIN="$(login admin@janta.test)"
VENDOR="$(login vendor.ka@janta.test)"
VENDOR_ID="$(jq -Rr 'split(".")[1] | @base64d | fromjson | .vendor_id' <<<"$VENDOR")"
jq -Rs '{query: "mutation($csv: String!) { importMedicines(csv: $csv) { rowsRead created updated unchanged rejected { line reason } } }", variables: {csv: .}}' \
  <"$WORK/medicines.csv" >"$WORK/medicines.json"
jq -Rs --arg v "$VENDOR_ID" '{query: "mutation($v: ID!, $csv: String!) { importListings(vendorId: $v, csv: $csv) { rowsRead created updated unchanged rejected { line reason } } }", variables: {v: $v, csv: .}}' \
  <"$WORK/listings.csv" >"$WORK/listings.json"
say "request bodies: medicines $(wc -c <"$WORK/medicines.json") bytes, listings $(wc -c <"$WORK/listings.json") bytes"

# run LABEL TOKEN BODY_FILE FIELD ROWS: one timed import, its report and rows/s.
run() {
  local start end response
  start="$(date +%s.%N)"
  response="$(gql "$2" "$3")"
  end="$(date +%s.%N)"
  jq -e ".data.$4" >/dev/null <<<"$response" || die "$1 failed: $(head -c 600 <<<"$response")"
  jq -c ".data.$4 | {rowsRead, created, updated, unchanged, rejected: (.rejected | length)}" <<<"$response" \
    | sed "s/^/    $1: /"
  awk -v s="$start" -v e="$end" -v n="$5" -v l="$1" \
    'BEGIN { t = e - s; printf "    %s: %d rows in %.2f s = %.0f rows/s\n", l, n, t, n / t }'
}

say "importing through $IMPORT_URL"
run "medicines (first run)" "$ADMIN" "$WORK/medicines.json" importMedicines "$ROWS"
run "medicines (same file again)" "$ADMIN" "$WORK/medicines.json" importMedicines "$ROWS"
if [ "$LISTINGS" -gt 0 ]; then
  run "listings + stock (first run)" "$VENDOR" "$WORK/listings.json" importListings "$LISTINGS"
  run "listings + stock (same file again)" "$VENDOR" "$WORK/listings.json" importListings "$LISTINGS"
fi
