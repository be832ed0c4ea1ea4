#!/usr/bin/env bash
# The rebuild benchmark (issue 7 (e), docs/benchmarks.md "Rebuild"): a
# private redis-server gets a ledger of --entries entries written by
# bench/ledgergen (the real RecordAction script, pipelined), then
# `ecoact_rebuild --rewards` recomputes every projection from it - all
# boards, then badges, streaks and campaign progress - and is timed.
# Prints entries/s (issue 7 target: >= 200,000/s) and Redis memory per
# ledger entry.
#
#   bench/rebuild.sh                       # 1,000,000 entries (a minute or two to write)
#   bench/rebuild.sh --entries=100000 --citizens=1000
#
# Options (--name=value): --entries (1000000), --citizens (5000), --days
# (90), --out (write the figures as JSON to this file), --perf (record the
# rebuild with `perf record -g` into bench/results/rebuild-perf.data).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT

entries=1000000 citizens=5000 days=90 out="" perf=0
for arg in "$@"; do
  case $arg in
    --entries=*) entries=${arg#*=} ;;
    --citizens=*) citizens=${arg#*=} ;;
    --days=*) days=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    --perf) perf=1 ;;
    *) echo "rebuild.sh: unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
ledgergen=$bench_build/bench/ledgergen/ledgergen
rebuild=$bench_build/services/leaderboard/ecoact_rebuild
bench_need "$ledgergen" "$rebuild"
# No AOF: writing the ledger would log every command of every script (GBs
# for a million entries) and the rebuild's own writes are a few board
# pipelines; the figure is the rebuild's reading and computing.
bench_start_redis --appendonly no
redis=127.0.0.1:$bench_redis_port
cli=(redis-cli -p "$bench_redis_port")
echo "rebuild.sh: redis-server :$bench_redis_port (no persistence); writing $entries entries" \
  "for $citizens citizens over $days days"
"$ledgergen" --redis="$redis" --entries="$entries" --citizens="$citizens" --days="$days"

# Memory: the whole dataset, and the ledger streams alone.
used=$("${cli[@]}" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
ledger_bytes=0 ledger_entries=0
for key in $("${cli[@]}" --scan --pattern '*:ledger'); do
  ledger_bytes=$((ledger_bytes + $("${cli[@]}" MEMORY USAGE "$key" SAMPLES 0)))
  ledger_entries=$((ledger_entries + $("${cli[@]}" XLEN "$key")))
done

log=$bench_work/rebuild.txt
run=("$rebuild" --redis="$redis" --rewards)
if [[ $perf == 1 ]]; then
  mkdir -p "$bench_root/bench/results"
  run=(perf record -g -o "$bench_root/bench/results/rebuild-perf.data" -- "${run[@]}")
fi
redis_cpu() { "${cli[@]}" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.3f", s}'; }
redis_cpu_before=$(redis_cpu)
# Wall clock and the command's own CPU (user + sys): on a busy machine the
# wall clock mostly measures the wait for a core.
TIMEFORMAT='%R %U %S'
failed=0
{ time "${run[@]}" >"$log" 2>&1 || failed=1; } 2>"$bench_work/time.txt"
[[ $failed == 0 ]] || { cat "$log" >&2; exit 1; }
read -r seconds cpu_user cpu_sys <"$bench_work/time.txt"
cpu_seconds=$(awk -v u="$cpu_user" -v s="$cpu_sys" 'BEGIN {printf "%.3f", u + s}')
redis_cpu_seconds=$(awk -v a="$redis_cpu_before" -v b="$(redis_cpu)" 'BEGIN {printf "%.3f", b - a}')
cat "$log"
# "... from N ledger entries in S s (R entries/s) ..." (boards, with the 1 s
# pause for an in-flight projector)
boards_seconds=$(grep -o 'entries in [0-9.]* s' "$log" | awk '{print $3}')
rate=$(awk -v n="$ledger_entries" -v s="$seconds" 'BEGIN {printf "%.0f", n / s}')
cpu_rate=$(awk -v n="$ledger_entries" -v s="$cpu_seconds" 'BEGIN {printf "%.0f", n / s}')
boards_rate=$(awk -v n="$ledger_entries" -v s="$boards_seconds" 'BEGIN {printf "%.0f", n / s}')
boards_rate_np=$(awk -v n="$ledger_entries" -v s="$boards_seconds" 'BEGIN {if (s > 1) printf "%.0f", n / (s - 1); else print "null"}')
rewards_seconds=$(awk -v a="$seconds" -v b="$boards_seconds" 'BEGIN {printf "%.3f", a - b}')
per_entry=$(awk -v a="$used" -v n="$ledger_entries" 'BEGIN {printf "%.0f", a / n}')
ledger_per_entry=$(awk -v a="$ledger_bytes" -v n="$ledger_entries" 'BEGIN {printf "%.0f", a / n}')

echo
echo "Rebuild of all projections from $ledger_entries ledger entries (target >= 200,000 entries/s):"
echo "  boards + rewards: ${seconds}s, $rate entries/s (the whole command, wall clock)"
echo "  CPU: ecoact_rebuild ${cpu_seconds}s ($cpu_rate entries per CPU second), Redis ${redis_cpu_seconds}s"
echo "  boards: ${boards_seconds}s, $boards_rate entries/s ($boards_rate_np without the 1 s pause" \
  "for an in-flight projector); rewards: ${rewards_seconds}s"
echo "  Redis memory: $used bytes in all, $per_entry per ledger entry; the ledger streams" \
  "$ledger_bytes bytes, $ledger_per_entry per entry"
[[ $perf == 1 ]] && echo "  profile: perf report -i bench/results/rebuild-perf.data --no-children"

if [[ -n $out ]]; then
  jq -n --argjson entries "$ledger_entries" --argjson citizens "$citizens" --argjson days "$days" \
    --argjson seconds "$seconds" --argjson rate "$rate" --argjson boards_seconds "$boards_seconds" \
    --argjson boards_rate "$boards_rate" --argjson rewards_seconds "$rewards_seconds" \
    --argjson used "$used" --argjson ledger_bytes "$ledger_bytes" \
    --argjson cpu_seconds "$cpu_seconds" --argjson redis_cpu_seconds "$redis_cpu_seconds" \
    --arg output "$(cat "$log")" \
    '{entries: $entries, citizens: $citizens, days: $days, seconds: $seconds,
      entries_per_s: $rate, rebuild_cpu_seconds: $cpu_seconds,
      entries_per_cpu_s: ($entries / $cpu_seconds | floor), redis_cpu_seconds: $redis_cpu_seconds,
      boards_seconds: $boards_seconds, boards_entries_per_s: $boards_rate,
      rewards_seconds: $rewards_seconds, redis_used_memory: $used,
      redis_bytes_per_entry: ($used / $entries | floor), ledger_stream_bytes: $ledger_bytes,
      ledger_stream_bytes_per_entry: ($ledger_bytes / $entries | floor),
      rebuild_output: $output}' >"$out"
fi
