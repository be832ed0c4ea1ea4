#!/usr/bin/env bash
# The Redis ceiling (issue 7 (f), docs/benchmarks.md "Redis ceiling"):
# redis-benchmark sends the RecordAction script (EVALSHA of
# services/actions/lua/record_action.lua, loaded with SCRIPT LOAD) with the
# argument vector the server builds - written by bench/ledgergen with the
# ledger store's own code - at the load generator's concurrency, each call
# with its own request id and one of --accounts citizens, so every call takes
# the script's full write path. Prints calls/s, latency, Redis CPU per call
# and the ratio RecordAction through the server / the Redis ceiling.
#
#   bench/redis_ceiling.sh                     # own redis-server + ecoact_server,
#                                              # loadgen record, then the ceiling
#   bench/redis_ceiling.sh --redis=127.0.0.1:6390 --loadgen_results=FILE.json
#
# Options (--name=value): --redis (default: a private redis-server, AOF
# everysec, as bench/run.sh), --clients (32: redis-benchmark connections, one
# call in flight each), --requests (50000), --accounts (10000),
# --loadgen_results (default: run the loadgen's record scenario first, on a
# private stack), --out (write the figures as JSON to this file).
# Writes into the Redis it is given (citizens ubenchmrk<12 digits>, their
# totals and ledger entries): never point it at a production Redis.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT

redis="" clients=32 requests=50000 accounts=10000 loadgen_results="" out=""
for arg in "$@"; do
  case $arg in
    --redis=*) redis=${arg#*=} ;;
    --clients=*) clients=${arg#*=} ;;
    --requests=*) requests=${arg#*=} ;;
    --accounts=*) accounts=${arg#*=} ;;
    --loadgen_results=*) loadgen_results=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "redis_ceiling.sh: unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
bench_need "$bench_build/bench/ledgergen/ledgergen"
command -v redis-benchmark >/dev/null || { echo "redis_ceiling.sh: redis-benchmark missing (redis-tools)" >&2; exit 1; }
if [[ -z $redis ]]; then
  bench_start_redis --appendonly yes --appendfsync everysec
  redis=127.0.0.1:$bench_redis_port
  echo "redis_ceiling.sh: redis-server :$bench_redis_port (AOF everysec)"
fi
bench_workdir
host=${redis%:*} port=${redis##*:}
cli=(redis-cli -h "$host" -p "$port")
if [[ -z $loadgen_results ]]; then
  bench_need "$bench_build/services/allinone/ecoact_server" "$bench_build/bench/loadgen/loadgen"
  bench_start_server "$port"
  loadgen_results=$bench_work/loadgen-record.json
  "$bench_build/bench/loadgen/loadgen" --server="127.0.0.1:$bench_server_port" --suite= \
    --scenario=record --in_flight="$clients" --out="$loadgen_results"
fi
loadgen_record=$(jq -c --argjson n "$clients" \
  '[.runs[] | select(.scenario == "record" and .in_flight == $n)] | first // empty' \
  "$loadgen_results" 2>/dev/null || true)

# The call, exactly as RedisLedgerStore::Append builds it (one action of the
# load generator's kind: 1 km by train, now), and its citizens.
call=$bench_work/record-call.bin
"$bench_build/bench/ledgergen/ledgergen" --redis="$redis" --ceiling_call="$call" \
  --ceiling_accounts="$accounts"
mapfile -d '' -t argv <"$call"
sha=${argv[0]}
loaded=$("${cli[@]}" -x SCRIPT LOAD <"$bench_root/services/actions/lua/record_action.lua")
if [[ $loaded != "$sha" ]]; then
  echo "redis_ceiling.sh: SCRIPT LOAD of record_action.lua gave $loaded, the server's script is $sha" >&2
  exit 1
fi
# The shard's ledger stream (KEYS[3]): its growth counts the calls that
# wrote an entry, i.e. took the full write path.
ledger=${argv[4]}
xlen() { "${cli[@]}" XLEN "$ledger"; }
cpu() { "${cli[@]}" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.6f", s}'; }

entries_before=$(xlen)
"${cli[@]}" CONFIG RESETSTAT >/dev/null
cpu_before=$(cpu)
started=$(date +%s.%N)
csv=$(redis-benchmark -h "$host" -p "$port" -c "$clients" -n "$requests" -r "$accounts" --csv \
  EVALSHA "${argv[@]:0}")
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
cpu_after=$(cpu)
entries_after=$(xlen)
commandstats=$("${cli[@]}" INFO commandstats | tr -d '\r')
stats=$(grep '^cmdstat_evalsha:' <<<"$commandstats" || true)
# The commands the script ran (commandstats counts them too), per call, and
# the five that took the most time.
nested=$(grep '^cmdstat_' <<<"$commandstats" |
  grep -v -E '^cmdstat_(evalsha|config|info|script|xlen|command|ping|client|select):' || true)
nested_calls=$(awk -F'[:=,]' '{s += $3} END {print s + 0}' <<<"$nested")
top_commands=$(awk -F'[:=,]' '{sub(/^cmdstat_/, "", $1); print $5, $1, $3}' <<<"$nested" |
  sort -rn | head -5 | awk '{printf "%s%s %s calls %.0f us", (NR > 1 ? ", " : ""), $2, $3, $1}')
field() { tr ',:' '\n\n' <<<"$stats" | awk -F= -v k="$1" '$1 == k {print $2}'; }
calls=$(field calls) usec=$(field usec) usec_per_call=$(field usec_per_call)
failed=$(field failed_calls)
# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
read -r rps avg p50 p95 p99 max < <(tail -1 <<<"$csv" | tr -d '"' |
  awk -F, '{print $(NF-6), $(NF-5), $(NF-3), $(NF-2), $(NF-1), $NF}')
written=$((entries_after - entries_before))
cpu_us_per_call=$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$calls" \
  'BEGIN {if (n > 0) printf "%.1f", (b - a) * 1e6 / n; else print "null"}')
lg_rps=$(jq -r '.throughput_per_s // empty' <<<"${loadgen_record:-null}")
ratio=$(bench_ratio "$lg_rps" "$rps")
commands_per_call=$(bench_ratio "$nested_calls" "$calls")

echo
echo "Redis ceiling: EVALSHA record_action ($((${argv[1]})) keys, $((${#argv[@]} - 2 - argv[1])) args)," \
  "redis-benchmark -c $clients -n $requests -r $accounts (no pipelining), ${elapsed}s"
printf '  %-26s %10s %9s %9s %9s %9s\n' "" "calls/s" "p50 ms" "p95 ms" "p99 ms" "max ms"
printf '  %-26s %10s %9s %9s %9s %9s\n' "redis-benchmark EVALSHA" "$rps" "$p50" "$p95" "$p99" "$max"
printf '  %-26s %10s %9s %9s %9s %9s\n' "RecordAction (loadgen)" "${lg_rps:--}" \
  "$(jq -r '.latency_ms.p50 // "-"' <<<"${loadgen_record:-null}")" "-" \
  "$(jq -r '.latency_ms.p99 // "-"' <<<"${loadgen_record:-null}")" \
  "$(jq -r '.latency_ms.max // "-"' <<<"${loadgen_record:-null}")"
echo "  RecordAction / Redis ceiling: $ratio"
echo "  Redis: $calls EVALSHA calls ($failed failed), $written ledger entries written" \
  "(full write path), ${usec_per_call} us per call inside the script (commandstats)," \
  "${cpu_us_per_call} us of Redis CPU per call (INFO cpu, user + sys)"
echo "  inside the script: $commands_per_call Redis commands per call; most time: $top_commands"
if [[ $written -lt $((calls * 99 / 100)) ]]; then
  echo "  WARNING: fewer than 99% of the calls wrote an entry (replays, caps or unknown accounts)" >&2
fi

if [[ -n $out ]]; then
  jq -n --arg rps "$rps" --arg avg "$avg" --arg p50 "$p50" --arg p95 "$p95" --arg p99 "$p99" \
    --arg max "$max" --arg calls "$calls" --arg failed "$failed" --arg written "$written" \
    --arg usec_per_call "$usec_per_call" --arg cpu "$cpu_us_per_call" --arg ratio "$ratio" \
    --arg elapsed "$elapsed" --arg sha "$sha" --arg commands_per_call "$commands_per_call" \
    --arg top "$top_commands" \
    --argjson clients "$clients" --argjson requests "$requests" --argjson accounts "$accounts" \
    --argjson loadgen "${loadgen_record:-null}" \
    'def num: if . == "" or . == "null" then null else tonumber end;
     {script: "record_action.lua", sha: $sha, clients: $clients, requests: $requests,
      accounts: $accounts, seconds: ($elapsed | num), throughput_per_s: ($rps | num),
      latency_ms: {mean: ($avg | num), p50: ($p50 | num), p95: ($p95 | num), p99: ($p99 | num),
                   max: ($max | num)},
      evalsha_calls: ($calls | num), failed_calls: ($failed | num),
      entries_written: ($written | num), script_usec_per_call: ($usec_per_call | num),
      redis_cpu_usec_per_call: ($cpu | num), commands_per_call: ($commands_per_call | num),
      top_commands: $top, loadgen_record: $loadgen,
      ratio_record_to_ceiling: ($ratio | num)}' >"$out"
fi
