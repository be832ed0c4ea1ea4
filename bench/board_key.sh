#!/usr/bin/env bash
# The limit of one board key (issue 8, docs/benchmarks.md "One board key",
# docs/operations.md "Sizing"): a private redis-server, one sorted set filled
# to each size in turn (members "m" + 12 digits, as redis-benchmark's
# __rand_int__ writes them; 13 bytes, the load generator's account ids are
# 26), and at each size:
#   - bytes per member (used_memory before/after the fill / members),
#   - ops/s on that one key with the board's real command shapes:
#     ZADD (the projector's write: an absolute score), ZINCRBY, ZREVRANK,
#     the top page (EVALSHA board_page.lua, 20 members, as GetLeaderboard)
#     and a member's rank with neighbours (EVALSHA board_rank.lua, 5 each
#     side, as GetMyRank), each at --clients connections.
#
#   bench/board_key.sh                       # 1M, 5M and 10M members
#   bench/board_key.sh --sizes=1000000 --requests=100000 --out=FILE.json
#
# One key is served by one Redis thread: these are the ceilings of one core
# of this machine, whatever the number of nodes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT

sizes="1000000 5000000 10000000" clients=32 requests=100000 out=""
for arg in "$@"; do
  case $arg in
    --sizes=*) sizes=${arg#*=}; sizes=${sizes//,/ } ;;
    --clients=*) clients=${arg#*=} ;;
    --requests=*) requests=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "board_key.sh: unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
command -v redis-benchmark >/dev/null || { echo "board_key.sh: redis-benchmark missing (redis-tools)" >&2; exit 1; }
bench_start_redis --appendonly no
port=$bench_redis_port
cli=(redis-cli -p "$port")
lua=$bench_root/services/leaderboard/lua
page_sha=$("${cli[@]}" script load "$(cat "$lua/board_page.lua")")
rank_sha=$("${cli[@]}" script load "$(cat "$lua/board_rank.lua")")
key='ea:{b:city::all:pts}'

# Adds members [from, to) with scores spread like points (0..1,000,000).
fill='local key, from, to = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
for i = from, to - 1 do
  redis.call("ZADD", key, (i * 7919) % 1000003, string.format("m%012d", i))
end
return redis.call("ZCARD", key)'

used() { "${cli[@]}" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
# One command line at --clients connections: "ops/s us" - the rate seen
# (from redis-benchmark's CSV; bounded by this machine's load, the client
# included) and Redis's CPU per call (INFO commandstats usec_per_call,
# scripts with their commands): 1e6 / us is what the one Redis thread that
# holds the key can serve, the key's ceiling.
rate() {
  "${cli[@]}" config resetstat >/dev/null
  local ops us
  ops=$(redis-benchmark -p "$port" -c "$clients" -n "$requests" -r "$members" --csv "$@" |
    tail -1 | cut -d, -f2 | tr -d '"')
  us=$("${cli[@]}" info commandstats | tr -d '\r' |
    sed -n "s/^cmdstat_${1,,}:.*usec_per_call=\([0-9.]*\).*/\1/p")
  echo "$ops $us"
}

base=$(used)
members=0
results="[]"
for size in $sizes; do
  while ((members < size)); do
    next=$((members + 200000)); ((next > size)) && next=$size
    "${cli[@]}" eval "$fill" 1 "$key" "$members" "$next" >/dev/null
    members=$next
  done
  bytes=$(( ($(used) - base) * 10 / members ))
  per_member="$((bytes / 10)).$((bytes % 10))"
  declare -A seen
  seen[zadd]=$(rate zadd "$key" __rand_int__ m__rand_int__)
  seen[zincrby]=$(rate zincrby "$key" 10 m__rand_int__)
  seen[zrevrank]=$(rate zrevrank "$key" m__rand_int__)
  seen[top_page_20]=$(rate evalsha "$page_sha" 1 "$key" 0 20 "")
  seen[rank_with_neighbours]=$(rate evalsha "$rank_sha" 1 "$key" m__rand_int__ 5)
  # Keep the size: ZADD with __rand_int__ scores only rescored members.
  members=$("${cli[@]}" zcard "$key")
  ops="{}"
  for name in "${!seen[@]}"; do
    read -r rps us <<<"${seen[$name]}"
    ops=$(jq -c --arg n "$name" --arg rps "$rps" --arg us "$us" \
      '. + {($n): {ops_per_s: ($rps|tonumber), redis_us_per_call: ($us|tonumber),
                   ceiling_per_s: (1000000 / ($us|tonumber) | floor)}}' <<<"$ops")
  done
  line=$(jq -cn --argjson m "$members" --arg b "$per_member" --argjson c "$clients" \
    --argjson ops "$ops" '{members: $m, bytes_per_member: ($b|tonumber), clients: $c} + $ops')
  echo "$line"
  results=$(jq -c --argjson l "$line" '. + [$l]' <<<"$results")
done
if [[ -n $out ]]; then
  jq -n --argjson r "$results" --arg cpu "$(nproc)" \
    '{bench: "board_key", cpus: ($cpu|tonumber), results: $r}' >"$out"
  echo "board_key.sh: wrote $out"
fi
