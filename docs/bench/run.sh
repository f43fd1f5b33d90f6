#!/usr/bin/env bash
# Runs `nexus bench` for every scenario against one freshly started `nexus serve`, each
# with its ceiling, and writes one JSON report per scenario. BENCHMARKS.md says how the
# database is seeded first and how the figures in its table come from these files.
#
#   docs/bench/run.sh OUT_DIR [SCENARIO...]   (default: read-hot read-hot list search write mixed)
#
# The server's database is whatever the environment says, as for `nexus serve`
# (NEXUS_DATA_DIR for SQLite, DATABASE_URL for PostgreSQL, REDIS_URL for the shared cache
# and limits). BENCH_CONNECTIONS (64), BENCH_DURATION (10) and BENCH_WARMUP (2) shape each
# run; BENCH_BIN names the executable
# (target/release/nexus; not NEXUS_…, which `nexus serve` would read as configuration).
set -euo pipefail
out=${1:?usage: docs/bench/run.sh OUT_DIR [SCENARIO...]}
shift
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(read-hot read-hot list search write mixed)
bin=${BENCH_BIN:-target/release/nexus}
mkdir -p "$out"

# The limiter stays on, so its cost is measured, but with budgets the harness cannot
# exhaust: the GCRA interval floors at 1 ms, so a day-long period gives a burst of 86.4
# million requests per client. Sign-in is raised because write and mixed log in each run.
export NEXUS_RATE_LIMIT__READ='{limit=4000000000,period_secs=86400}'
export NEXUS_RATE_LIMIT__WRITE='{limit=4000000000,period_secs=86400}'
export NEXUS_RATE_LIMIT__SEARCH='{limit=4000000000,period_secs=86400}'
export NEXUS_RATE_LIMIT__AUTH='{limit=1000,period_secs=60}'
# Production logging: one JSON line per request, to a file.
export NEXUS_LOG_FORMAT=${NEXUS_LOG_FORMAT:-json}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
started=$(date +%s.%N)
"$bin" serve --bind "127.0.0.1:$port" 2>"$out/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" || { echo "nexus serve exited; see $out/server.log" >&2; exit 1; }
  sleep 0.05
done
ready=$(date +%s.%N)
python3 -c "print(f'ready in {$ready - $started:.2f} s')" | tee "$out/ready.txt"

declare -A ran
for s in "${scenarios[@]}"; do
  # A scenario named twice runs twice against the same process; the second report is
  # `<scenario>-again`, e.g. read-hot with the note cache already filled by the first.
  name=$s
  [ -n "${ran[$s]:-}" ] && name=$s-again
  ran[$s]=1
  "$bin" bench --url "http://127.0.0.1:$port" --scenario "$s" \
    --connections "${BENCH_CONNECTIONS:-64}" --duration "${BENCH_DURATION:-10}" \
    --warmup "${BENCH_WARMUP:-2}" --ceiling --server-pid "$pid" --json "$out/$name.json" \
    | tee "$out/$name.txt"
done
