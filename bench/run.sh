#!/usr/bin/env bash
# The benchmark command (README "Benchmarks", docs/benchmarks.md): starts a
# private redis-server (AOF, appendfsync everysec) and ecoact_server
# (--rate_limits=0: one load generator on one address would otherwise hit the
# per-address limits) on free loopback ports, runs the load generator's quick
# suite (noop, record, burst, board and rank at 10k, 100k and 1M members, with
# the same connection settings), stops both and prints the table and issue
# 7's figures (round trips, projector lag, CPU, memory, start-up time). Extra
# arguments go to the load generator, e.g.
#
#   bench/run.sh                                   # closed loop, 32 in flight
#   bench/run.sh --in_flight=8,32,128
#   bench/run.sh --suite= --scenario=record --mode=open --rate=2000
#
# The results file is bench/results/<UTC date>-<host>.json unless --out is
# given. BUILD_DIR (default: build) names the build directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
loadgen=$build/bench/loadgen/loadgen
server=$build/services/allinone/ecoact_server
for binary in "$loadgen" "$server"; do
  [[ -x $binary ]] || { echo "missing $binary: cmake --build $build --target loadgen ecoact_server" >&2; exit 1; }
done

# bench_free_port, bench_wait_port: shared with the scripts of the other parts.
source "$root/bench/lib.sh"

work=$(mktemp -d)
redis_port=$(bench_free_port)
server_port=$(bench_free_port)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work" --appendonly yes \
  --appendfsync everysec --save "" --daemonize yes --logfile "$work/redis.log"
bench_wait_port "$redis_port"
# The burst scenario signs in as admin to create staff and an event. The
# load generator measures the start-up time: from here to the first SERVING
# health check (it waits for the port itself).
admin_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
started_ns=$(date +%s%N)
"$server" --listen="127.0.0.1:$server_port" --redis="127.0.0.1:$redis_port" --rate_limits=0 \
  --admin_password="$admin_password" >"$work/server.log" 2>&1 &
server_pid=$!

mkdir -p "$root/bench/results"
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
out=$root/bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)-$(hostname).json
args=(--server="127.0.0.1:$server_port" --redis="127.0.0.1:$redis_port" --suite=quick
      --out="$out" --git_commit="$commit" --server_pid="$server_pid"
      --server_started_unix_ns="$started_ns" --admin_password="$admin_password")
echo "redis-server :$redis_port (AOF everysec), ecoact_server :$server_port (--rate_limits=0)"
"$loadgen" "${args[@]}" "$@"

# Cross-checks and ceilings on the same server and Redis, then the rebuild
# on a Redis of its own (docs/benchmarks.md; each script also runs alone).
# Their figures are merged into the loadgen's results file under "h2load",
# "redis_ceiling" and "rebuild". Environment: BENCH_H2LOAD=0 and
# BENCH_REDIS_CEILING=0 skip those, BENCH_REBUILD_ENTRIES=N sizes the
# rebuild's ledger (default 1000000; 0 skips it).
results=$out
for arg in "$@"; do
  [[ $arg == --out=* ]] && results=${arg#--out=}
done
extra=$work/extra
mkdir -p "$extra"
# The concurrency of the loadgen's closed-loop runs: 32 if it ran at 32.
in_flight=$(jq -r '[.runs[] | select(.mode == "closed") | .in_flight] |
  if index(32) then 32 else (first // 32) end' "$results" 2>/dev/null || echo 32)
if [[ ${BENCH_H2LOAD:-1} != 0 ]]; then
  "$root/bench/h2load.sh" --server="127.0.0.1:$server_port" --in_flight="$in_flight" \
    --loadgen_results="$results" --out="$extra/h2load.json" || echo "h2load cross-check failed" >&2
fi
if [[ ${BENCH_REDIS_CEILING:-1} != 0 ]]; then
  "$root/bench/redis_ceiling.sh" --redis="127.0.0.1:$redis_port" --clients="$in_flight" \
    --loadgen_results="$results" --out="$extra/redis_ceiling.json" ||
    echo "Redis ceiling failed" >&2
fi
if [[ ${BENCH_REBUILD_ENTRIES:-1000000} != 0 ]]; then
  echo
  "$root/bench/rebuild.sh" --entries="${BENCH_REBUILD_ENTRIES:-1000000}" \
    --out="$extra/rebuild.json" || echo "rebuild benchmark failed" >&2
fi
for part in h2load redis_ceiling rebuild; do
  [[ -s $extra/$part.json && -s $results ]] || continue
  jq --arg key "$part" --slurpfile value "$extra/$part.json" '.[$key] = $value[0]' "$results" \
    >"$extra/merged.json" && mv "$extra/merged.json" "$results"
done
echo "results: $results"
