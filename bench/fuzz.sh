#!/usr/bin/env bash
# Fuzzes the GraphQL API through the router with Schemathesis
# (hypothesis-graphql underneath): starts `janta dev` on a free port with a
# fresh SQLite data directory, logs in as each role and, for each, sends a
# bounded number of generated operations per query/mutation field of the
# published schema (schema/janta.graphql) with that role's bearer token.
#
# Checks on every response (bench/fuzz/checks.py): no 5xx and a
# well-formed GraphQL body (`data` and/or `errors`, each error with a
# message) without any `extensions.code == "INTERNAL"`. The router's rate
# limit is lifted for the run (JANTA_RATE_LIMIT_PER_MINUTE), or most
# requests would only meet RATE_LIMITED; the summary still counts 429s.
# Afterwards the platform's log is searched for panics. Prints, per role,
# the examples run (requests sent: Schemathesis' examples, coverage and
# stateful phases), 5xx responses, INTERNAL errors and malformed bodies, then
# the panics; exits non-zero if any is not zero. Failing requests are kept in
# $WORK/stats.jsonl (printed path) to be replayed with curl.
#
# Usage:
#   bench/fuzz.sh                    # every role, 20 examples per operation
#   FUZZ_EXAMPLES=5 bench/fuzz.sh    # a quicker smoke
#
# Environment (all optional):
#   FUZZ_EXAMPLES   examples per operation and role (default 20)
#   FUZZ_ROLES      roles to run, space-separated (default
#                   "anonymous customer vendor pharmacist admin")
#   FUZZ_SEED       Schemathesis seed (default 1, so runs repeat)
#   FUZZ_WORKERS    concurrent Schemathesis workers (default 2)
#   FUZZ_KEEP=1     keep the work directory (data, logs, reports)
#   JANTA_BIN       a built janta binary (default: `nice cargo build -p janta`,
#                   then $CARGO_TARGET_DIR/debug/janta)
#   JANTA_PORT      router port (default: a free one; the six subgraphs take
#                   the next six ports)
#
# Installs Schemathesis from PyPI into $HOME/.cache/janta/fuzz-venv the
# first time (needs python3 with venv, curl and jq).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

EXAMPLES="${FUZZ_EXAMPLES:-20}"
ROLES="${FUZZ_ROLES:-anonymous customer vendor pharmacist admin}"
SEED="${FUZZ_SEED:-1}"
WORKERS="${FUZZ_WORKERS:-2}"
VENV="$HOME/.cache/janta/fuzz-venv"
SCHEMATHESIS_VERSION="4.32.5"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/janta-fuzz.XXXXXX")"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is needed"
command -v jq >/dev/null || die "jq is needed"
command -v python3 >/dev/null || die "python3 is needed"

DEV_PID=""
cleanup() {
  if [ -n "$DEV_PID" ]; then kill "$DEV_PID" 2>/dev/null || true; wait "$DEV_PID" 2>/dev/null || true; fi
  if [ "${FUZZ_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a port P with P..P+6 all free (router and six subgraphs),
# below Linux's ephemeral range (32768-60999): a port there can be the local
# end of some outgoing connection, which a connect test does not see and
# which makes the listener's bind fail.
free_port() {
  local p i ok
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000))
    ok=1
    for i in 0 1 2 3 4 5 6; do port_free $((p + i)) || { ok=0; break; }; done
    [ "$ok" = 1 ] && { echo "$p"; return 0; }
  done
  die "no free port range found"
}

ensure_schemathesis() {
  if [ -x "$VENV/bin/schemathesis" ]; then return 0; fi
  say "installing Schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
}

ensure_binary() {
  if [ -z "${JANTA_BIN:-}" ]; then
    say "building janta (debug)"
    nice cargo build --quiet -p janta
    JANTA_BIN="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/debug/janta"
  fi
  [ -x "$JANTA_BIN" ] || die "no janta binary at $JANTA_BIN"
  # A private link (or copy): a rebuild of the shared target directory while
  # this runs must not pull the binary from under `janta dev`, which
  # re-executes itself as the router.
  ln -f "$JANTA_BIN" "$WORK/janta" 2>/dev/null || cp "$JANTA_BIN" "$WORK/janta"
  JANTA_BIN="$WORK/janta"
}

start_platform() {
  PORT="${JANTA_PORT:-$(free_port)}"
  URL="http://127.0.0.1:$PORT/graphql"
  say "starting janta dev on port $PORT (data in $WORK/data, log $WORK/dev.log)"
  JANTA_RATE_LIMIT_PER_MINUTE=100000000 \
    "$JANTA_BIN" dev --port "$PORT" --data-dir "$WORK/data" >"$WORK/dev.log" 2>&1 &
  DEV_PID=$!
  for _ in $(seq 1 480); do
    if curl -sf "$URL" -H 'content-type: application/json' -d '{"query":"{ __typename }"}' >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$DEV_PID" 2>/dev/null || { tail -20 "$WORK/dev.log" >&2; die "janta dev exited"; }
    sleep 0.5
  done
  die "janta dev did not answer on $URL"
}

# login EMAIL: prints an access token of that demo account.
login() {
  local body
  body="$(jq -n --arg e "$1" '{query: "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }", variables: {e: $e, p: "demo-password-1"}}')"
  curl -sS "$URL" -H 'content-type: application/json' -d "$body" | jq -er '.data.login.accessToken' \
    || die "could not log in as $1"
}

email_of() {
  case "$1" in
    customer) echo customer@janta.test ;;
    vendor) echo vendor.ka@janta.test ;;
    pharmacist) echo pharmacist.ka@janta.test ;;
    admin) echo admin@janta.test ;;
    *) die "unknown role $1" ;;
  esac
}

# fuzz_role ROLE: one Schemathesis run with that role's token (none for anonymous).
fuzz_role() {
  local role="$1" auth=()
  if [ "$role" != anonymous ]; then
    # Logged in right before its run: fuzzed mutations of an earlier role
    # (logout, password changes) cannot have spent this token.
    auth=(-H "Authorization: Bearer $(login "$(email_of "$role")")")
  fi
  say "fuzzing as $role ($EXAMPLES examples per operation)"
  FUZZ_ROLE="$role" FUZZ_STATS="$WORK/stats.jsonl" \
    SCHEMATHESIS_HOOKS=checks PYTHONPATH="$ROOT/bench/fuzz" \
    "$VENV/bin/schemathesis" run "$ROOT/schema/janta.graphql" --url "$URL" \
    "${auth[@]}" \
    --checks graphql_well_formed_without_internal \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers "$WORKERS" \
    --generation-database none --continue-on-failure --no-color \
    --suppress-health-check all --request-timeout 30 \
    >"$WORK/schemathesis-$role.log" 2>&1 || true
  tail -n 3 "$WORK/schemathesis-$role.log" | sed 's/^/    /'
}

summarise() {
  local failed=0 role line panics
  [ -f "$WORK/stats.jsonl" ] || : >"$WORK/stats.jsonl"
  printf '\n%-12s %9s %6s %9s %10s %6s\n' role examples 5xx INTERNAL malformed 429
  for role in $ROLES; do
    line="$(jq -rs --arg r "$role" '[.[] | select(.role == $r)] |
      [length, ([.[] | select(.status >= 500)] | length),
       ([.[] | .internal] | add // 0), ([.[] | select(.malformed != null)] | length),
       ([.[] | select(.status == 429)] | length)] | @tsv' \
      "$WORK/stats.jsonl")"
    # shellcheck disable=SC2086
    printf '%-12s %9s %6s %9s %10s %6s\n' "$role" $line
    read -r _ e5 ei em _ <<<"$line"
    [ "$e5" = 0 ] && [ "$ei" = 0 ] && [ "$em" = 0 ] || failed=1
  done
  panics="$(grep -c -E 'panicked at|RUST_BACKTRACE' "$WORK/dev.log" || true)"
  printf 'panics in the platform log: %s\n' "$panics"
  [ "$panics" = 0 ] || { grep -E -A3 'panicked at' "$WORK/dev.log" | head -40; failed=1; }
  if [ "$failed" != 0 ]; then
    printf '\nfailing requests (operation, status, request):\n'
    jq -c 'select(.status >= 500 or .internal > 0 or .malformed != null) | {role, operation, status, request, response}' \
      "$WORK/stats.jsonl" | head -40
    FUZZ_KEEP=1
    printf '\nwork directory kept: %s\n' "$WORK"
  fi
  return "$failed"
}

ensure_schemathesis
ensure_binary
start_platform
started="$(date +%s)"
for role in $ROLES; do fuzz_role "$role"; done
say "fuzzing took $(($(date +%s) - started)) s"
summarise
