#!/usr/bin/env bash
# Distributed mode on one machine: every subgraph as its own process
# (`janta serve <domain>`) with its own PostgreSQL database, events between
# them over NATS JetStream, a second replica of some subgraphs, and the router
# (`janta router`) from router-config/production.yaml and supergraph.graphql.
# Stays in the foreground; Ctrl-C stops every process it started.
#
# Environment (all optional):
#   JANTA_TEST_POSTGRES_URL  server on which the databases are created
#                            (default postgres://postgres@127.0.0.1:5432/postgres)
#   JANTA_NATS_URL           NATS with JetStream (default nats://127.0.0.1:4222)
#   JANTA_PORT               router port (default 4000); subgraphs listen on the
#                            next six ports, second replicas on port+11…port+16
#   JANTA_REPLICATED         subgraphs that get a second replica (default "users
#                            notifications"; an absent one is skipped)
#   JANTA_DIST_DB_PREFIX     database names are <prefix>_<domain> (default janta_dist)
#   JANTA_DIST_FRESH=1       drop and recreate those databases first
#   JANTA_EVENTS_NAMESPACE   NATS streams/subjects prefix (default janta)
#   JANTA_DIST_DIR           logs and data files (default $TMPDIR/janta-distributed)
#   JANTA_BIN                a built janta binary (default: cargo build, debug)
#
# Needs psql and curl. PostgreSQL and NATS must be running (./scripts/test
# starts both when absent; or: nats-server -js).
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"
cd "$(dirname "$0")/.."

PG_URL="${JANTA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
NATS_URL="${JANTA_NATS_URL:-nats://127.0.0.1:4222}"
PORT="${JANTA_PORT:-4000}"
REPLICATED="${JANTA_REPLICATED:-users notifications}"
PREFIX="${JANTA_DIST_DB_PREFIX:-janta_dist}"
NAMESPACE="${JANTA_EVENTS_NAMESPACE:-janta}"
RUN_DIR="${JANTA_DIST_DIR:-${TMPDIR:-/tmp}/janta-distributed}"
DOMAINS=(users catalog prescriptions orders payments notifications)

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

command -v psql >/dev/null || die "psql is needed (apt-get install postgresql-client)"
command -v curl >/dev/null || die "curl is needed"
psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1 || die "PostgreSQL is not reachable at $PG_URL"
nats_port="${NATS_URL##*:}"
port_open "${nats_port%%/*}" || die "NATS is not reachable at $NATS_URL (start it: nats-server -js)"

if [ -z "${JANTA_BIN:-}" ]; then
  say "building janta"
  cargo build --quiet --bin janta
  target_dir="$(cargo metadata --format-version 1 --no-deps | sed -e 's/.*"target_directory":"\([^"]*\)".*/\1/')"
  JANTA_BIN="$target_dir/debug/janta"
fi
[ -x "$JANTA_BIN" ] || die "no janta binary at $JANTA_BIN"

mkdir -p "$RUN_DIR/logs"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  if [ "${#PIDS[@]}" -gt 0 ]; then
    say "stopping ${#PIDS[@]} processes"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

db_url() { echo "${PG_URL%/*}/${PREFIX}_$1"; }
port_of() { # domain replica(1|2)
  local i
  for i in "${!DOMAINS[@]}"; do
    if [ "${DOMAINS[$i]}" = "$1" ]; then
      echo $((PORT + 1 + i + ($2 - 1) * 10))
      return
    fi
  done
}

# Every process gets the addresses of all the others (service calls, JWKS).
PEERS=(JANTA_JWKS_URL="http://127.0.0.1:$(port_of users 1)/.well-known/jwks.json")
for d in "${DOMAINS[@]}"; do
  PEERS+=("JANTA_${d^^}_URL=http://127.0.0.1:$(port_of "$d" 1)/graphql")
done

for d in "${DOMAINS[@]}"; do
  db="${PREFIX}_$d"
  if [ "${JANTA_DIST_FRESH:-0}" = 1 ]; then
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  fi
  if [ -z "$(psql "$PG_URL" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    psql "$PG_URL" -qc "CREATE DATABASE $db" >/dev/null
  fi
done

# Each subgraph process also gets $RUN_DIR/run/<domain>-<replica>.sh, which
# starts it again exactly so (appending to its log), and a .pid file with
# its process ID: bench/soak.sh kills and restarts replicas through them.
start_subgraph() { # domain replica
  local d="$1" r="$2" port log command
  port="$(port_of "$d" "$r")"
  log="$RUN_DIR/logs/$d-$r.log"
  mkdir -p "$RUN_DIR/data/$d" "$RUN_DIR/run"
  command=(env "${PEERS[@]}"
    DATABASE_URL="$(db_url "$d")"
    JANTA_LISTEN="127.0.0.1:$port"
    JANTA_PUBLIC_URL="http://127.0.0.1:$port"
    JANTA_NATS_URL="$NATS_URL"
    JANTA_EVENTS_NAMESPACE="$NAMESPACE"
    JANTA_MODE=dev
    JANTA_DATA_DIR="$RUN_DIR/data/$d"
    "$JANTA_BIN" serve "$d")
  {
    echo '#!/usr/bin/env bash'
    printf 'exec'
    printf ' %q' "${command[@]}"
    printf ' >>%q 2>&1\n' "$log"
  } >"$RUN_DIR/run/$d-$r.sh"
  chmod +x "$RUN_DIR/run/$d-$r.sh"
  "${command[@]}" >"$log" 2>&1 &
  echo "$!" >"$RUN_DIR/run/$d-$r.pid"
  PIDS+=("$!")
  STARTED+=("$d:$r:$port:$!")
}

STARTED=()
for d in "${DOMAINS[@]}"; do
  start_subgraph "$d" 1
  for r in $REPLICATED; do
    if [ "$r" = "$d" ]; then start_subgraph "$d" 2; fi
  done
done

RUNNING=()
for entry in "${STARTED[@]}"; do
  IFS=: read -r d r port pid <<<"$entry"
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -q "unknown subgraph" "$RUN_DIR/logs/$d-$r.log"; then
        say "$d: not part of this build yet, skipped"
        continue 2
      fi
      die "$d (replica $r) exited; see $RUN_DIR/logs/$d-$r.log"
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ]; then
      RUNNING+=("$d replica $r: http://127.0.0.1:$port/graphql (pid $pid)")
      continue 2
    fi
    sleep 0.1
  done
  die "$d (replica $r) not ready after 60 s; see $RUN_DIR/logs/$d-$r.log"
done

say "starting the router"
env "${PEERS[@]}" PORT="$PORT" \
  "$JANTA_BIN" router --config router-config/production.yaml --supergraph supergraph.graphql \
  >"$RUN_DIR/logs/router.log" 2>&1 &
router_pid=$!
echo "$router_pid" >"$RUN_DIR/run/router.pid"
PIDS+=("$router_pid")
for _ in $(seq 1 600); do
  kill -0 "$router_pid" 2>/dev/null || die "the router exited; see $RUN_DIR/logs/router.log"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readiness")" = 200 ] && break
  sleep 0.1
done

echo
echo "Janta runs distributed."
echo "  Router:   http://127.0.0.1:$PORT/graphql"
for line in "${RUNNING[@]}"; do echo "  $line"; done
echo "  Events:   $NATS_URL (streams ${NAMESPACE^^}_<DOMAIN>)"
echo "  Databases: ${PREFIX}_<domain> on ${PG_URL%/*}"
echo "  Logs:     $RUN_DIR/logs"
echo
echo "Press Ctrl-C to stop."
wait "$router_pid"
