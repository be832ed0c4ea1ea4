#!/usr/bin/env bash
# The ledger archive benchmark (docs/operations.md, "Ledger archive"): a
# private redis-server gets a ledger of --entries entries written by
# bench/ledgergen (the real RecordAction script), a consumer group is set as
# caught up, and ecoact_archive moves every entry to compressed segments and
# trims the streams. Prints Redis memory per ledger entry before and after
# the trim, archive bytes per entry, and the retention a Redis size allows.
# Figures only: nothing is asserted.
#
#   bench/archive.sh                          # 200,000 entries
#   bench/archive.sh --entries=1000000 --citizens=20000
#
# Options (--name=value): --entries (200000), --citizens (5000), --days (90),
# --ledger_share (percent of Redis memory given to the ledger, 50).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT

entries=200000 citizens=5000 days=90 share=50
for arg in "$@"; do
  case $arg in
    --entries=*) entries=${arg#*=} ;;
    --citizens=*) citizens=${arg#*=} ;;
    --days=*) days=${arg#*=} ;;
    --ledger_share=*) share=${arg#*=} ;;
    *) echo "archive.sh: unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
ledgergen=$bench_build/bench/ledgergen/ledgergen
archiver=$bench_build/services/archive/ecoact_archive
bench_need "$ledgergen" "$archiver"
bench_start_redis --appendonly no
redis=127.0.0.1:$bench_redis_port
cli=(redis-cli -p "$bench_redis_port")
echo "archive.sh: redis-server :$bench_redis_port; writing $entries entries for $citizens" \
  "citizens over $days days"
"$ledgergen" --redis="$redis" --entries="$entries" --citizens="$citizens" --days="$days" >/dev/null

used() { "${cli[@]}" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}'; }
ledger_bytes() {
  local total=0
  for key in $("${cli[@]}" --scan --pattern '*:ledger'); do
    total=$((total + $("${cli[@]}" MEMORY USAGE "$key" SAMPLES 0)))
  done
  echo "$total"
}
ledger_entries=0
for key in $("${cli[@]}" --scan --pattern '*:ledger'); do
  ledger_entries=$((ledger_entries + $("${cli[@]}" XLEN "$key")))
  # Both projectors (ecoact_archive requires their groups), having read and
  # acknowledged everything.
  "${cli[@]}" XGROUP CREATE "$key" boards '$' >/dev/null
  "${cli[@]}" XGROUP CREATE "$key" reports '$' >/dev/null
done
used_before=$(used)
ledger_before=$(ledger_bytes)

archive_dir=$bench_work/archive
sleep 1.1  # the retention counts stream-id time: 1 s covers every entry
TIMEFORMAT='%R'
{ time "$archiver" --redis="$redis" --archive_dir="$archive_dir" --ledger_retention=1s \
    >"$bench_work/archive.txt"; } 2>"$bench_work/time.txt"
cat "$bench_work/archive.txt"
seconds=$(cat "$bench_work/time.txt")
used_after=$(used)
ledger_after=$(ledger_bytes)
archive_bytes=$(find "$archive_dir" -name '*.seg' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
segments=$(find "$archive_dir" -name '*.seg' | wc -l)

per() { awk -v a="$1" -v n="$ledger_entries" 'BEGIN {printf "%.1f", a / n}'; }
stream_per_entry=$(per "$ledger_before")
freed_per_entry=$(per $((used_before - used_after)))
archive_per_entry=$(per "$archive_bytes")
echo
echo "Ledger archive of $ledger_entries entries ($segments segments, ${seconds}s wall clock):"
echo "  Redis used_memory: $used_before bytes before, $used_after after the trim;" \
  "freed $freed_per_entry bytes per entry"
echo "  ledger streams (MEMORY USAGE): $ledger_before bytes before ($stream_per_entry per entry)," \
  "$ledger_after after"
echo "  archive: $archive_bytes bytes on disk, $archive_per_entry bytes per entry (zlib level 6)"
echo
echo "Days of ledger that fit in Redis, with $share% of the memory for the streams" \
  "($stream_per_entry bytes per entry):"
printf '  %-14s %12s %12s %12s\n' "actions/day" "8 GB" "32 GB" "64 GB"
for per_day in 10000 100000 1000000 10000000; do
  row=$(printf '%-14s' "$per_day")
  for gb in 8 32 64; do
    row+=$(awk -v gb="$gb" -v s="$share" -v b="$stream_per_entry" -v d="$per_day" \
      'BEGIN {printf " %12.0f", gb * 1024 * 1024 * 1024 * s / 100 / b / d}')
  done
  echo "  $row"
done
echo "Archive disk per year: $(awk -v b="$archive_per_entry" \
  'BEGIN {printf "%.1f GB at 1M actions/day", b * 1000000 * 365 / 1e9}')"
