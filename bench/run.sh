#!/usr/bin/env bash
# One command per benchmark: builds janta and janta-bench in release mode
# (in their own target directory), starts what the scenario needs (a fresh
# `janta dev` platform; Apollo Gateway for `gateway`), runs it, stops
# everything it started. See bench/README.md.
#
#   bench/run.sh gateway    Hive Router vs Apollo Gateway, each contract query, 1/16/64 connections
#   bench/run.sh plan       single-client p50 vs the sum of the plan levels' direct subgraph p50s
#   bench/run.sh scale      SearchMedicines, MedicineDetail, Dashboard at catalog scale 1x/100x/1000x
#   bench/run.sh checkout   distinct customers ordering limited stock at once: orders/s, oversold
#   bench/run.sh checkout-postgres   the same with every subgraph on PostgreSQL
#   bench/run.sh memory     cold start, idle and loaded RSS of the whole platform
#   bench/run.sh router     Me through the router vs straight to users
#   bench/run.sh entities   one _entities batch vs single requests
#   bench/run.sh all        every scenario above, one after another
#   bench/run.sh seed N     seed the data directory of catalog scale N for `scale`
#
# Extra arguments go to janta-bench (`bench/run.sh gateway --seconds 10`;
# see `janta-bench --help`).
#
# Environment (all optional):
#   JANTA_BENCH_TARGET     cargo target directory of the release build
#                          (default $HOME/.cache/janta/target-release)
#   JANTA_BIN, JANTA_BENCH_BIN  prebuilt binaries (then nothing is built)
#   JANTA_BENCH_GATEWAY_DIR  where @apollo/gateway and @apollo/server are
#                          installed from npm (default $HOME/.cache/janta/apollo-gateway)
#   JANTA_BENCH_ALLOCATOR  system (default), mimalloc or jemalloc: the platform
#                          runs with that malloc preloaded (LD_PRELOAD of the
#                          distribution's libmimalloc.so.2 / libjemalloc.so.2;
#                          apt-get install libmimalloc2.0 / libjemalloc2)
#   JANTA_BENCH_SCALE_ROOT  data directories scale-1, scale-100, scale-1000
#                          (default $HOME/.cache/janta/bench-data)
#   JANTA_TEST_POSTGRES_URL  server for checkout-postgres, which creates fresh
#                          databases janta_bench_<pid>_<domain> there and drops
#                          them afterwards (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO="${1:-}"
[ -n "$SCENARIO" ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ "$SCENARIO" = all ]; then
  for s in gateway plan checkout checkout-postgres scale memory router entities; do
    "$0" "$s" "$@"
  done
  exit 0
fi

TARGET="${JANTA_BENCH_TARGET:-$HOME/.cache/janta/target-release}"
GATEWAY_DIR="${JANTA_BENCH_GATEWAY_DIR:-$HOME/.cache/janta/apollo-gateway}"
SCALE_ROOT="${JANTA_BENCH_SCALE_ROOT:-$HOME/.cache/janta/bench-data}"
if [ -z "${JANTA_BIN:-}" ] || [ -z "${JANTA_BENCH_BIN:-}" ]; then
  say "building janta and janta-bench (release, $TARGET)"
  CARGO_TARGET_DIR="$TARGET" nice cargo build --quiet --release -p janta -p janta-bench
  JANTA_BIN="${JANTA_BIN:-$TARGET/release/janta}"
  JANTA_BENCH_BIN="${JANTA_BENCH_BIN:-$TARGET/release/janta-bench}"
fi

case "${JANTA_BENCH_ALLOCATOR:-system}" in
  system) ;;
  mimalloc | jemalloc)
    lib="$(ldconfig -p | awk -v l="lib${JANTA_BENCH_ALLOCATOR}.so.2" '$1 == l { print $NF; exit }')"
    [ -n "$lib" ] || die "lib${JANTA_BENCH_ALLOCATOR}.so.2 not installed"
    export JANTA_BENCH_PRELOAD="$lib"
    say "platform allocator: $lib (LD_PRELOAD)" ;;
  *) die "JANTA_BENCH_ALLOCATOR is system, mimalloc or jemalloc" ;;
esac

# The benchmarks send many requests per user on purpose: rate limits off.
export JANTA_RATE_LIMIT_PER_MINUTE=100000000 JANTA_PARTNER_RATE_LIMIT_PER_MINUTE=100000000
export RUST_LOG="${RUST_LOG:-warn}"

case "$SCENARIO" in
  seed)
    N="${1:?bench/run.sh seed N}"
    say "seeding scale $N into $SCALE_ROOT/scale-$N"
    mkdir -p "$SCALE_ROOT/scale-$N.partial"
    JANTA_DATA_DIR="$SCALE_ROOT/scale-$N.partial" "$JANTA_BIN" seed --scale "$N"
    mv "$SCALE_ROOT/scale-$N.partial" "$SCALE_ROOT/scale-$N"
    exit 0 ;;
  scale) exec "$JANTA_BENCH_BIN" --scenario scale --janta-bin "$JANTA_BIN" --scale-root "$SCALE_ROOT" "$@" ;;
  memory) exec "$JANTA_BENCH_BIN" --scenario memory --janta-bin "$JANTA_BIN" --seconds 60 "$@" ;;
  gateway | plan | checkout | router | entities) ;;
  checkout-postgres) SCENARIO=checkout POSTGRES=1 ;;
  *) die "unknown scenario $SCENARIO (see bench/run.sh without arguments)" ;;
esac

PIDS=()
DATABASES=()
PG_URL="${JANTA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/janta-bench.XXXXXX")"
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DATABASES[@]}"; do
    PGOPTIONS=--client-min-messages=warning psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  cat "$RUN_DIR"/*.log >"${TMPDIR:-/tmp}/janta-bench-last.log" 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT INT TERM

free_base_port() {
  local base p
  # Below the ephemeral range (32768+), where outgoing connections could hold a port.
  for base in $(shuf -i 2100-3199 -n 200); do
    base=$((base * 10))
    for p in $(seq "$base" $((base + 6))); do port_open "$p" && continue 2; done
    echo "$base"
    return
  done
  die "no free ports"
}

# Every subgraph on a fresh PostgreSQL database of its own (janta dev reads
# JANTA_<DOMAIN>_DATABASE_URL), still one process with the in-process bus.
if [ "${POSTGRES:-0}" = 1 ]; then
  command -v psql >/dev/null || die "psql is needed for $SCENARIO-postgres"
  psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1 || die "PostgreSQL is not reachable at $PG_URL"
  for d in users catalog prescriptions orders payments notifications; do
    db="janta_bench_$$_$d"
    DATABASES+=("$db")
    PGOPTIONS=--client-min-messages=warning psql "$PG_URL" -qc "CREATE DATABASE $db" >/dev/null
    export "JANTA_${d^^}_DATABASE_URL=${PG_URL%/*}/$db"
  done
  say "every subgraph on PostgreSQL: ${PG_URL%/*}/janta_bench_$$_<domain>"
fi

PORT="$(free_base_port)"
say "starting janta dev on port $PORT (data in $RUN_DIR/data)"
env ${JANTA_BENCH_PRELOAD:+LD_PRELOAD="$JANTA_BENCH_PRELOAD"} \
  "$JANTA_BIN" dev --port "$PORT" --data-dir "$RUN_DIR/data" >"$RUN_DIR/janta.log" 2>&1 &
JANTA_PID=$!
PIDS+=("$JANTA_PID")
for _ in $(seq 1 600); do
  kill -0 "$JANTA_PID" 2>/dev/null || die "janta dev exited; see $RUN_DIR/janta.log: $(tail -5 "$RUN_DIR/janta.log")"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readiness")" = 200 ] && break
  sleep 0.1
done

ARGS=(--scenario "$SCENARIO" --port "$PORT")
if [ "$SCENARIO" = plan ]; then
  ARGS+=(--janta-bin "$JANTA_BIN" --data-dir "$RUN_DIR/data")
fi

if [ "$SCENARIO" = gateway ]; then
  command -v node >/dev/null || die "Node.js is needed for Apollo Gateway"
  if [ ! -d "$GATEWAY_DIR/node_modules/@apollo/gateway" ]; then
    say "installing @apollo/gateway and @apollo/server into $GATEWAY_DIR"
    mkdir -p "$GATEWAY_DIR"
    [ -f "$GATEWAY_DIR/package.json" ] || echo '{"name":"janta-bench-apollo-gateway","private":true}' >"$GATEWAY_DIR/package.json"
    (cd "$GATEWAY_DIR" && npm install --silent --no-audit --no-fund @apollo/gateway@2 @apollo/server@4 graphql@16)
  fi
  GATEWAY_PORT=$((PORT + 9))
  say "starting Apollo Gateway $(node -p "require('$GATEWAY_DIR/node_modules/@apollo/gateway/package.json').version") on port $GATEWAY_PORT"
  NODE_ENV=production NODE_PATH="$GATEWAY_DIR/node_modules" JANTA_PORT="$PORT" \
    GATEWAY_PORT="$GATEWAY_PORT" SUPERGRAPH="$RUN_DIR/data/supergraph.graphql" \
    node bench/apollo-gateway.cjs >"$RUN_DIR/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  for _ in $(seq 1 300); do
    kill -0 "$GATEWAY_PID" 2>/dev/null || die "Apollo Gateway exited: $(cat "$RUN_DIR/gateway.log")"
    grep -q "ready at" "$RUN_DIR/gateway.log" && break
    sleep 0.1
  done
  ARGS+=(--gateway-url "http://127.0.0.1:$GATEWAY_PORT/graphql"
    --rss-of "janta (router + subgraphs)=$JANTA_PID" --rss-of "Apollo Gateway=$GATEWAY_PID")
fi

"$JANTA_BENCH_BIN" "${ARGS[@]}" "$@"
