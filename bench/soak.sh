#!/usr/bin/env bash
# A soak with faults (issue 17): distributed mode (bench/distributed.sh: a
# PostgreSQL database per subgraph, NATS JetStream, two replicas of orders
# and notifications) under a mixed load (`janta-bench --scenario soak`:
# browsing, carts, checkouts, cash and online payments, cancellations,
# refunds, returns, prescription reviews) for JANTA_SOAK_SECONDS, while a
# fault injector SIGKILLs a random subgraph replica every 30-60 s and starts
# it again, kills and restarts NATS once, and freezes PostgreSQL (SIGSTOP /
# SIGCONT) for a few seconds once. Then it waits for the events to settle
# and checks, with SQL over every subgraph's database:
#
#   1. stock is never negative and every batch holds what its ledger says
#      (received + adjusted - sold + returned - expired to quarantine), and
#      its reserved packs are exactly the holds of active reservations;
#   2. every captured payment belongs to exactly one order, confirmed (or
#      further) or refunded in full; no order has two captures;
#   3. no order is confirmed (or further) without a capture or cash on delivery;
#   4. every committed event was published (outboxes drained) and consumed
#      exactly once by each consumer of its type; no consumer recorded an
#      event that was never committed;
#   5. no parked events;
#   6. each process's RSS at the end is within 20 % of its RSS after warm-up.
#
# Prints the figures and every violation; exits 1 on any violation.
# PostgreSQL and NATS are private instances the script starts (on their own
# ports, data under JANTA_SOAK_DIR), so freezing or killing them disturbs
# nothing else on the machine.
#
# Environment (all optional):
#   JANTA_SOAK_SECONDS     load duration (default 600)
#   JANTA_SOAK_CUSTOMERS   customers acting at once (default 8)
#   JANTA_SOAK_WARMUP      seconds before the first fault and the RSS
#                          baseline (default 60; also after each restart)
#   JANTA_SOAK_QUIET       fault-free seconds at the end (default 120)
#   JANTA_SOAK_PG_PAUSE    seconds PostgreSQL stays frozen (default 5)
#   JANTA_SOAK_DIR         logs and data (default $TMPDIR/janta-soak; emptied first)
#   JANTA_PORT             router port (default 4600; subgraphs on the next ports)
#   JANTA_SOAK_PG_PORT     private PostgreSQL port (default 5546)
#   JANTA_SOAK_NATS_PORT   private NATS port (default 4236)
#   JANTA_BIN, JANTA_BENCH_BIN  prebuilt binaries (default: release build in
#                          $HOME/.cache/janta/target-release, like bench/run.sh)
#
# Needs PostgreSQL's server binaries (initdb, pg_ctl: the postgresql package),
# psql, nats-server and curl.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"
cd "$(dirname "$0")/.."

SOAK_SECONDS="${JANTA_SOAK_SECONDS:-600}"
CUSTOMERS="${JANTA_SOAK_CUSTOMERS:-8}"
WARMUP="${JANTA_SOAK_WARMUP:-60}"
QUIET="${JANTA_SOAK_QUIET:-120}"
PG_PAUSE="${JANTA_SOAK_PG_PAUSE:-5}"
RUN_DIR="${JANTA_SOAK_DIR:-${TMPDIR:-/tmp}/janta-soak}"
PORT="${JANTA_PORT:-4600}"
PG_PORT="${JANTA_SOAK_PG_PORT:-5546}"
NATS_PORT="${JANTA_SOAK_NATS_PORT:-4236}"
PREFIX=janta_soak
DOMAINS=(users catalog prescriptions orders payments notifications)
REPLICATED="orders notifications"
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT"
CHECK_DB="$PG_URL/${PREFIX}_check"

say() { printf '==> %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
now() { date +%s; }

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL's server binaries are needed (apt-get install postgresql)"
command -v psql >/dev/null || die "psql is needed (apt-get install postgresql-client)"
command -v nats-server >/dev/null || die "nats-server is needed (apt-get install nats-server)"
command -v curl >/dev/null || die "curl is needed"
for p in "$PORT" "$PG_PORT" "$NATS_PORT"; do
  ! port_open "$p" || die "port $p is taken (set JANTA_PORT / JANTA_SOAK_PG_PORT / JANTA_SOAK_NATS_PORT)"
done

if [ -z "${JANTA_BIN:-}" ] || [ -z "${JANTA_BENCH_BIN:-}" ]; then
  TARGET="${JANTA_BENCH_TARGET:-$HOME/.cache/janta/target-release}"
  say "building janta and janta-bench (release, $TARGET)"
  CARGO_TARGET_DIR="$TARGET" nice cargo build --quiet --release -p janta -p janta-bench
  JANTA_BIN="${JANTA_BIN:-$TARGET/release/janta}"
  JANTA_BENCH_BIN="${JANTA_BENCH_BIN:-$TARGET/release/janta-bench}"
fi
export JANTA_BIN

# The load sends many requests per user on purpose: rate limits off.
export JANTA_RATE_LIMIT_PER_MINUTE=100000000 JANTA_PARTNER_RATE_LIMIT_PER_MINUTE=100000000
export RUST_LOG="${RUST_LOG:-warn}"

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/logs" "$RUN_DIR/rss"
FAULTS="$RUN_DIR/faults.log"
: >"$FAULTS"
DIST_DIR="$RUN_DIR/dist"
PG_DIR="$RUN_DIR/postgres"
# Processes started here (restarted replicas are read from their .pid files).
OWN_PIDS=()
AS_PG=()
[ "$(id -u)" != 0 ] || AS_PG=(runuser -u postgres --)

cleanup() {
  trap - EXIT INT TERM
  say "stopping"
  local f pid
  for pid in "${OWN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for f in "$DIST_DIR"/run/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ -e "$PG_DIR/postmaster.pid" ]; then
    kill -CONT $(postgres_pids) 2>/dev/null || true
  fi
  [ ! -e "$PG_DIR/postmaster.pid" ] || "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast stop >/dev/null 2>&1 || true
  # NATS as last (re)started, possibly by the fault injector.
  [ ! -e "$RUN_DIR/nats.pid" ] || kill -TERM "$(cat "$RUN_DIR/nats.pid")" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# ------------------------------------------------------------ PostgreSQL, NATS

start_postgres() {
  mkdir -p "$PG_DIR"
  [ "${#AS_PG[@]}" = 0 ] || chown postgres "$PG_DIR"
  "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DIR" -U postgres -A trust >"$RUN_DIR/logs/initdb.log" 2>&1
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400" \
    start >/dev/null
}

# The postmaster and every server process it forked (backends, writers).
postgres_pids() {
  local postmaster
  postmaster="$(head -1 "$PG_DIR/postmaster.pid")"
  echo "$postmaster"
  pgrep -P "$postmaster" || true
}

NATS_PID=""
start_nats() {
  mkdir -p "$RUN_DIR/nats"
  nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$RUN_DIR/nats" >>"$RUN_DIR/logs/nats.log" 2>&1 &
  NATS_PID=$!
  disown "$NATS_PID"
  echo "$NATS_PID" >"$RUN_DIR/nats.pid"
  for _ in $(seq 1 100); do port_open "$NATS_PORT" && return 0; sleep 0.1; done
  die "NATS did not start; see $RUN_DIR/logs/nats.log"
}

# ----------------------------------------------------------------- platform

db_url() { echo "$PG_URL/${PREFIX}_$1"; }

seed_databases() {
  local d
  for d in "${DOMAINS[@]}"; do
    psql "$PG_URL/postgres" -qc "CREATE DATABASE ${PREFIX}_$d" >/dev/null
    DATABASE_URL="$(db_url "$d")" JANTA_DATA_DIR="$DIST_DIR/data/$d" JANTA_MODE=dev \
      "$JANTA_BIN" seed demo "$d" >>"$RUN_DIR/logs/seed.log" 2>&1 ||
      die "seeding $d failed; see $RUN_DIR/logs/seed.log"
  done
}

start_platform() {
  JANTA_TEST_POSTGRES_URL="$PG_URL/postgres" JANTA_NATS_URL="nats://127.0.0.1:$NATS_PORT" \
    JANTA_PORT="$PORT" JANTA_REPLICATED="$REPLICATED" JANTA_DIST_DB_PREFIX="$PREFIX" \
    JANTA_DIST_DIR="$DIST_DIR" JANTA_EVENTS_NAMESPACE=soak \
    bench/distributed.sh >"$RUN_DIR/logs/distributed.log" 2>&1 &
  OWN_PIDS+=("$!")
  local launcher=$!
  for _ in $(seq 1 1800); do
    grep -q "Janta runs distributed" "$RUN_DIR/logs/distributed.log" && return 0
    kill -0 "$launcher" 2>/dev/null || { cat "$RUN_DIR/logs/distributed.log"; die "distributed mode did not start"; }
    sleep 0.1
  done
  die "distributed mode not up after 180 s"
}

# The subgraph processes that faults may hit: <domain>-<replica> names.
replicas() { (cd "$DIST_DIR/run" && ls ./*-[12].pid) | sed 's|^\./||; s|\.pid$||'; }
pid_of() { cat "$DIST_DIR/run/$1.pid"; }
listen_port_of() { grep -o 'JANTA_LISTEN=127.0.0.1:[0-9]*' "$DIST_DIR/run/$1.sh" | cut -d: -f2; }

# ------------------------------------------------------------------- faults

fault() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$FAULTS"; }

# SIGKILLs replica $1, starts it again after a moment, waits until ready.
kill_and_restart() {
  local name="$1" pid port t0
  pid="$(pid_of "$name")"
  kill -KILL "$pid" 2>/dev/null || true
  fault "SIGKILL $name (pid $pid)"
  sleep $((1 + RANDOM % 4))
  "$DIST_DIR/run/$name.sh" &
  pid=$!
  disown "$pid"
  echo "$pid" >"$DIST_DIR/run/$name.pid"
  now >"$RUN_DIR/rss/$name.$pid.since"
  port="$(listen_port_of "$name")"
  t0=$(now)
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ] && break
    sleep 0.1
  done
  fault "restarted $name (pid $pid), ready after $(($(now) - t0)) s"
}

restart_nats() {
  kill -KILL "$NATS_PID" 2>/dev/null || true
  wait "$NATS_PID" 2>/dev/null || true
  fault "SIGKILL NATS (pid $NATS_PID); down for 5 s"
  sleep 5
  start_nats
  fault "restarted NATS (pid $NATS_PID)"
}

pause_postgres() {
  local pids
  mapfile -t pids < <(postgres_pids)
  kill -STOP "${pids[@]}" 2>/dev/null || true
  fault "SIGSTOP PostgreSQL (${#pids[@]} processes) for $PG_PAUSE s"
  sleep "$PG_PAUSE"
  kill -CONT "${pids[@]}" 2>/dev/null || true
  fault "SIGCONT PostgreSQL"
}

# From WARMUP after the load starts until QUIET before it ends: a replica
# killed every 30-60 s; NATS restarted once, a third into that window, and
# PostgreSQL frozen once, two thirds into it (each right after a kill).
inject_faults() {
  local from=$((LOAD_START + WARMUP)) until=$((LOAD_START + SOAK_SECONDS - QUIET)) names
  local nats_at pg_at nats_done=0 pg_done=0
  nats_at=$((from + (until - from) / 3))
  pg_at=$((from + 2 * (until - from) / 3))
  sleep "$WARMUP"
  while :; do
    sleep $((30 + RANDOM % 31))
    [ "$(now)" -lt "$until" ] || break
    mapfile -t names < <(replicas)
    kill_and_restart "${names[RANDOM % ${#names[@]}]}"
    if [ "$nats_done" = 0 ] && [ "$(now)" -ge "$nats_at" ]; then sleep 5; restart_nats; nats_done=1; fi
    if [ "$pg_done" = 0 ] && [ "$(now)" -ge "$pg_at" ]; then sleep 5; pause_postgres; pg_done=1; fi
  done
  # A short soak may have no kill left after their time: do them now.
  [ "$nats_done" = 1 ] || restart_nats
  [ "$pg_done" = 1 ] || pause_postgres
}

# ---------------------------------------------------------------------- RSS

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Every 5 s: a process WARMUP seconds into its life (since the load began,
# or since its restart) gets its RSS recorded as its baseline.
sample_rss() {
  local name pid since rss
  while :; do
    for name in $(replicas) router; do
      pid="$(pid_of "$name" 2>/dev/null)" || continue
      [ -e "$RUN_DIR/rss/$name.$pid.since" ] || continue
      [ ! -e "$RUN_DIR/rss/$name.$pid.base" ] || continue
      since="$(cat "$RUN_DIR/rss/$name.$pid.since")"
      [ "$(now)" -ge $((since + WARMUP)) ] || continue
      rss="$(rss_kib "$pid")"
      [ -z "$rss" ] || echo "$rss" >"$RUN_DIR/rss/$name.$pid.base"
    done
    sleep 5
  done
}

VIOLATIONS=0
violation() { VIOLATIONS=$((VIOLATIONS + 1)); printf '  VIOLATION: %s\n' "$*"; }

check_rss() {
  local name pid base end pct
  echo
  echo "RSS (MiB) after warm-up and at the end of the load:"
  for name in $(replicas) router; do
    pid="$(pid_of "$name")"
    end="$(rss_kib "$pid")"
    if [ -z "$end" ]; then violation "$name (pid $pid) is not running at the end"; continue; fi
    if [ ! -e "$RUN_DIR/rss/$name.$pid.base" ]; then
      printf '  %-16s pid %-8s end %6s  (restarted less than %s s before the end: no baseline)\n' \
        "$name" "$pid" "$(mib "$end")" "$WARMUP"
      continue
    fi
    base="$(cat "$RUN_DIR/rss/$name.$pid.base")"
    pct=$(((end - base) * 100 / base))
    printf '  %-16s pid %-8s warm %6s  end %6s  %+d %%\n' "$name" "$pid" \
      "$(mib "$base")" "$(mib "$end")" "$pct"
    if [ "${pct#-}" -gt 20 ]; then violation "$name RSS changed by $pct % (more than 20 %)"; fi
  done
}

# ------------------------------------------------------------- invariants

sql() { psql "$1" -Atqc "$2"; }

# Copies the result of query $2 on database $1 into table $3 of the check database.
copy_into() {
  psql "$1" -qc "\\copy ($2) TO STDOUT" | psql "$CHECK_DB" -qc "\\copy $3 FROM STDIN"
}

# Outbox rows not yet published and sandbox webhooks not yet delivered.
backlog() {
  local d total=0 n
  for d in "${DOMAINS[@]}"; do
    n="$(sql "$(db_url "$d")" "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")"
    total=$((total + n))
  done
  n="$(sql "$(db_url payments)" "SELECT COUNT(*) FROM sandbox_webhooks WHERE delivered_at IS NULL")"
  echo $((total + n))
}

processed_total() {
  local d total=0
  for d in "${DOMAINS[@]}"; do
    total=$((total + $(sql "$(db_url "$d")" "SELECT COUNT(*) FROM processed_events")))
  done
  echo "$total"
}

# Waits (up to 5 minutes) until nothing is owed and consumers stopped moving.
settle() {
  local last=-1 p b
  for _ in $(seq 1 60); do
    b="$(backlog)"
    p="$(processed_total)"
    if [ "$b" = 0 ] && [ "$p" = "$last" ]; then return 0; fi
    last="$p"
    sleep 5
  done
  echo "  (still moving after 5 minutes: backlog $b)"
}

gather() {
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS ${PREFIX}_check" -qc "CREATE DATABASE ${PREFIX}_check" >/dev/null
  psql "$CHECK_DB" -q >/dev/null <<'SQL'
CREATE TABLE outbox_all (source TEXT, id TEXT, event_type TEXT, published BOOLEAN);
CREATE TABLE processed_all (db TEXT, consumer TEXT, event_id TEXT, event_type TEXT);
CREATE TABLE parked_all (db TEXT, consumer TEXT, event_id TEXT, event_type TEXT, error TEXT, resolved BOOLEAN);
CREATE TABLE batches (id TEXT, listing_id TEXT, batch_number TEXT, quantity BIGINT, reserved BIGINT);
CREATE TABLE movements (batch_id TEXT, kind TEXT, delta BIGINT);
CREATE TABLE holds (batch_id TEXT, quantity BIGINT);
CREATE TABLE orders (id TEXT, status TEXT, payment_method TEXT);
CREATE TABLE payments (id TEXT, order_id TEXT, method TEXT, status TEXT, amount BIGINT, captured BIGINT, refunded BIGINT);
SQL
  local d url
  for d in "${DOMAINS[@]}"; do
    url="$(db_url "$d")"
    copy_into "$url" "SELECT '$d', id, event_type, published_at IS NOT NULL FROM outbox" outbox_all
    copy_into "$url" "SELECT '$d', consumer, event_id, event_type FROM processed_events" processed_all
    copy_into "$url" "SELECT '$d', consumer, event_id, event_type, error, resolved_at IS NOT NULL FROM parked_events" parked_all
  done
  url="$(db_url catalog)"
  copy_into "$url" "SELECT id, listing_id, batch_number, quantity, reserved FROM batches" batches
  copy_into "$url" "SELECT batch_id, kind, SUM(delta) FROM stock_movements WHERE batch_id IS NOT NULL GROUP BY batch_id, kind" movements
  copy_into "$url" "SELECT a.batch_id, SUM(a.quantity) FROM reservation_allocations a JOIN reservations r ON r.order_id = a.order_id WHERE r.status = 'ACTIVE' GROUP BY a.batch_id" holds
  # The demo's history (fixed IDs 019a0000-0000-7000-…) was written by the
  # seed, not by the platform: a delivered cash order with no payment
  # record (payments has no demo data). Only what the soak did is checked.
  copy_into "$(db_url orders)" "SELECT id, status, payment_method FROM orders WHERE id NOT LIKE '019a0000-0000-7000-%'" orders
  copy_into "$(db_url payments)" "SELECT id, order_id, method, status, amount, captured, refunded FROM payments" payments
}

# Runs a query listing violations; prints the count and up to 5 rows.
expect_none() {
  local what="$1" query="$2" rows n
  rows="$(psql "$CHECK_DB" -AtqF ' | ' -c "$query")"
  n="$(printf '%s' "$rows" | grep -c . || true)"
  if [ "$n" = 0 ]; then
    printf '  ok   %s\n' "$what"
  else
    violation "$what: $n"
    printf '%s\n' "$rows" | head -5 | sed 's/^/         /'
  fi
}

check_invariants() {
  echo
  echo "Invariants:"
  psql "$CHECK_DB" -AtqF ' ' <<'SQL' | sed 's/^/  /'
SELECT 'batches', COUNT(*), 'on hand', COALESCE(SUM(quantity), 0), 'reserved', COALESCE(SUM(reserved), 0) FROM batches;
SELECT 'ledger', kind, SUM(delta) FROM movements GROUP BY kind ORDER BY kind;
SELECT 'orders', status, COUNT(*) FROM orders GROUP BY status ORDER BY status;
SELECT 'payments', method, status, COUNT(*), 'captured', SUM(captured), 'refunded', SUM(refunded) FROM payments GROUP BY method, status ORDER BY method, status;
SELECT 'events', COUNT(*), 'committed;', COUNT(*) FILTER (WHERE published), 'published' FROM outbox_all;
SELECT 'consumed', db, consumer, COUNT(*) FROM processed_all GROUP BY db, consumer ORDER BY db, consumer;
SQL
  # Packs customers returned go to quarantine, not back to a batch.
  printf '  quarantined (customer returns): %s\n' \
    "$(sql "$(db_url catalog)" "SELECT COUNT(*) || ' returns, ' || COALESCE(SUM(quantity), 0) || ' packs' FROM quarantine")"
  expect_none "stock never negative (batches with quantity < 0, reserved < 0 or reserved > quantity)" \
    "SELECT batch_number, quantity, reserved FROM batches WHERE quantity < 0 OR reserved < 0 OR reserved > quantity"
  expect_none "every batch holds received + adjusted - sold + returned - expired to quarantine" \
    "SELECT b.batch_number, b.quantity, COALESCE(SUM(m.delta), 0) AS ledger FROM batches b
       LEFT JOIN movements m ON m.batch_id = b.id GROUP BY b.id, b.batch_number, b.quantity
       HAVING b.quantity <> COALESCE(SUM(m.delta), 0)"
  expect_none "every batch's reserved packs are the holds of active reservations" \
    "SELECT b.batch_number, b.reserved, COALESCE(h.quantity, 0) FROM batches b
       LEFT JOIN holds h ON h.batch_id = b.id WHERE b.reserved <> COALESCE(h.quantity, 0)"
  expect_none "every captured payment belongs to one order, confirmed or later, or refunded in full" \
    "SELECT p.id, p.order_id, p.status, p.captured, p.refunded, o.status FROM payments p
       LEFT JOIN orders o ON o.id = p.order_id WHERE p.captured > 0 AND (o.id IS NULL OR
       (o.status NOT IN ('CONFIRMED', 'PACKED', 'OUT_FOR_DELIVERY', 'DELIVERED', 'RETURNED')
        AND p.refunded < p.captured))"
  expect_none "no order captured twice" \
    "SELECT order_id, COUNT(*) FROM payments WHERE captured > 0 GROUP BY order_id HAVING COUNT(*) > 1"
  expect_none "no order confirmed (or later) without a capture or cash on delivery" \
    "SELECT o.id, o.status, o.payment_method FROM orders o
       WHERE o.status IN ('CONFIRMED', 'PACKED', 'OUT_FOR_DELIVERY', 'DELIVERED', 'RETURNED')
       AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id
                       AND (p.captured > 0 OR p.method = 'CASH_ON_DELIVERY'))"
  expect_none "outboxes drained (committed events not yet published)" \
    "SELECT source, event_type, COUNT(*) FROM outbox_all WHERE NOT published GROUP BY source, event_type"
  # A consumer's types are those it has handled at least once; each event
  # of those types must be in its processed_events (once: the primary key).
  expect_none "every committed event consumed by each consumer of its type (missing)" \
    "WITH types AS (SELECT DISTINCT db, consumer, event_type FROM processed_all)
     SELECT t.consumer, o.event_type, COUNT(*) FROM types t JOIN outbox_all o ON o.event_type = t.event_type
     WHERE NOT EXISTS (SELECT 1 FROM processed_all p WHERE p.db = t.db AND p.consumer = t.consumer AND p.event_id = o.id)
     GROUP BY t.consumer, o.event_type"
  expect_none "no event consumed that was never committed" \
    "SELECT p.consumer, p.event_type, p.event_id FROM processed_all p
     WHERE NOT EXISTS (SELECT 1 FROM outbox_all o WHERE o.id = p.event_id)"
  expect_none "no event consumed twice" \
    "SELECT db, consumer, event_id, COUNT(*) FROM processed_all GROUP BY db, consumer, event_id HAVING COUNT(*) > 1"
  expect_none "no parked events" \
    "SELECT db, consumer, event_type, event_id, left(error, 200) FROM parked_all"
}

# ---------------------------------------------------------------------- run

say "private PostgreSQL on port $PG_PORT, NATS JetStream on port $NATS_PORT ($RUN_DIR)"
start_postgres
start_nats
say "databases ${PREFIX}_<domain>, demo data"
seed_databases
say "distributed mode (replicas of: $REPLICATED), router on port $PORT"
start_platform
sed -n '/Janta runs distributed/,/Logs:/p' "$RUN_DIR/logs/distributed.log" | sed 's/^/    /'

say "load: $SOAK_SECONDS s, $CUSTOMERS customers (janta-bench --scenario soak; log $RUN_DIR/logs/load.log)"
"$JANTA_BENCH_BIN" --scenario soak --port "$PORT" --seconds "$SOAK_SECONDS" \
  --concurrency "$CUSTOMERS" >"$RUN_DIR/logs/load.log" 2>&1 &
LOAD_PID=$!
OWN_PIDS+=("$LOAD_PID")
until grep -q "soak: load started" "$RUN_DIR/logs/load.log"; do
  kill -0 "$LOAD_PID" 2>/dev/null || { cat "$RUN_DIR/logs/load.log"; die "the load tool stopped during set-up"; }
  sleep 0.5
done
LOAD_START=$(now)
for name in $(replicas) router; do echo "$LOAD_START" >"$RUN_DIR/rss/$name.$(pid_of "$name").since"; done
sample_rss &
OWN_PIDS+=("$!")
inject_faults &
INJECTOR=$!
OWN_PIDS+=("$INJECTOR")
tail -n +1 -f "$RUN_DIR/logs/load.log" --pid "$LOAD_PID" | grep --line-buffered '^soak: ' | sed -u 's/^/    /' &
wait "$LOAD_PID" || die "the load tool failed; see $RUN_DIR/logs/load.log"
RSS_END_AT=$(now)
wait "$INJECTOR" 2>/dev/null || true
sed -n '/^soak load:/,$p' "$RUN_DIR/logs/load.log" | grep -v '^SOAK-SUMMARY'

check_rss
say "waiting for the events to settle"
settle
gather
check_invariants

summary="$(grep '^SOAK-SUMMARY' "$RUN_DIR/logs/load.log" | sed 's/^SOAK-SUMMARY //')"
kills="$(grep -c 'SIGKILL .*-[12] ' "$FAULTS" || true)"
echo
echo "Faults injected ($(grep -c 'SIGKILL\|SIGSTOP' "$FAULTS" || true)):"
sed 's/^/  /' "$FAULTS"
echo
echo "SUMMARY duration=${SOAK_SECONDS}s $summary replica_kills=$kills nats_restarts=$(grep -c 'SIGKILL NATS' "$FAULTS" || true) postgres_pauses=$(grep -c 'SIGSTOP' "$FAULTS" || true) violations=$VIOLATIONS"
echo "(RSS measured at $(date -u -d "@$RSS_END_AT" +%H:%M:%S); logs in $RUN_DIR/logs)"
[ "$VIOLATIONS" = 0 ]
