#!/usr/bin/env bash
# deploy/backup: back up a real Redis (and a real 3-primary Redis Cluster),
# lose it, restore, and check that exactly what the backup held came back,
# consumer groups and pending entries included. ctest: deploy.BackupRestore.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
backup="${repo}/deploy/backup/backup.sh"
restore="${repo}/deploy/backup/restore.sh"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "${pid}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "${tmp}"
}
trap cleanup EXIT

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
expect_eq() { # $1 = what, $2 = expected, $3 = actual
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
  printf 'ok: %s = %s\n' "$1" "$3"
}

free_port() {
  local candidate
  for _ in $(seq 1 100); do
    # Below the kernel's ephemeral range (32768 and up, bus port included),
    # where a parallel test's client connection can hold a port.
    candidate=$((10000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/${candidate}") 2>/dev/null &&
      ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + 10000))") 2>/dev/null; then
      echo "${candidate}"
      return 0
    fi
  done
  fail "no free port"
}

started_port=""
start_redis() { # $1 = dir, then extra redis-server arguments
  local dir="$1" port pid attempt
  shift
  mkdir -p "${dir}"
  # Other tests on this machine pick ports too: a port taken between the
  # check and the bind means another try on another port.
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    redis-server --bind 127.0.0.1 --port "${port}" --dir "${dir}" --appendonly yes \
      --appenddirname appendonlydir --save "" --logfile "${dir}/redis.log" \
      --repl-diskless-sync-delay 0 "$@" &
    pid=$!
    # PONG, or NOAUTH from a Redis with a password: either way it serves.
    for _ in $(seq 1 400); do
      [[ "$(redis-cli -p "${port}" ping 2>/dev/null)" =~ PONG|NOAUTH ]] && break
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.05
    done
    if [[ "$(redis-cli -p "${port}" ping 2>/dev/null)" =~ PONG|NOAUTH ]]; then
      pids+=("${pid}")
      started_port="${port}"
      return 0
    fi
    kill -9 "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  fail "redis in ${dir} did not start: $(tail -5 "${dir}/redis.log" 2>/dev/null)"
}

# Ledger-like data: a shard stream with a consumer group and one entry
# delivered but not acknowledged, a board, a hash.
seed() { # $@ = redis-cli connection arguments
  local shard
  for shard in 0 1 2 3; do
    for i in 1 2 3; do
      redis-cli "$@" xadd "ea:{s${shard}}:ledger" '*' account "a${shard}${i}" grams "$((shard * 100 + i))" >/dev/null
    done
    redis-cli "$@" xgroup create "ea:{s${shard}}:ledger" leaderboard 0 >/dev/null
    redis-cli "$@" xreadgroup group leaderboard p count 1 streams "ea:{s${shard}}:ledger" '>' >/dev/null
    redis-cli "$@" zadd "ea:{b${shard}}:city:points" "$((shard + 10))" "a${shard}1" >/dev/null
    redis-cli "$@" hset "ea:{s${shard}}:totals:a${shard}1" grams "$((shard * 100 + 1))" >/dev/null
  done
}
check_seeded() { # $1 = label, then redis-cli connection arguments
  local label="$1" shard
  shift
  for shard in 0 1 2 3; do
    expect_eq "${label} ledger shard ${shard} length" 3 "$(redis-cli "$@" xlen "ea:{s${shard}}:ledger")"
    expect_eq "${label} shard ${shard} pending" 1 \
      "$(redis-cli "$@" xpending "ea:{s${shard}}:ledger" leaderboard | head -1)"
    expect_eq "${label} board score ${shard}" "$((shard + 10))" \
      "$(redis-cli "$@" zscore "ea:{b${shard}}:city:points" "a${shard}1")"
    expect_eq "${label} totals ${shard}" "$((shard * 100 + 1))" \
      "$(redis-cli "$@" hget "ea:{s${shard}}:totals:a${shard}1" grams)"
  done
}

echo "== one Redis"
start_redis "${tmp}/live"
live_port="${started_port}"
live_pid="${pids[-1]}"
seed -p "${live_port}"
mkdir -p "${tmp}/archive"
echo segment >"${tmp}/archive/s0_1-0_2-0_2_deadbeef.seg"
echo partial >"${tmp}/archive/.tmp-s0_3-0"
made="$("${backup}" --redis="127.0.0.1:${live_port}" --out="${tmp}/backups" --archive_dir="${tmp}/archive")"
[[ -d "${made}" && "${made}" != *.partial ]] || fail "backup.sh did not print a complete backup directory: ${made}"
(cd "${made}" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the files"
expect_eq "archive segments copied" "s0_1-0_2-0_2_deadbeef.seg" "$(ls "${made}/archive")"
grep -q "^rdb redis-127.0.0.1-${live_port}.rdb node=127.0.0.1:${live_port} slots=all" "${made}/MANIFEST" ||
  fail "MANIFEST lacks the snapshot line: $(cat "${made}/MANIFEST")"

# Written after the backup: must not come back.
redis-cli -p "${live_port}" set ea:after-backup 1 >/dev/null
# The disaster: Redis and its disk are gone.
kill -9 "${live_pid}"
wait "${live_pid}" 2>/dev/null || true
rm -rf "${tmp}/live"

rdb="${made}/redis-127.0.0.1-${live_port}.rdb"
"${restore}" --rdb="${rdb}" --data_dir="${tmp}/restored"
[[ -d "${tmp}/restored/appendonlydir" ]] || fail "restore.sh wrote no appendonlydir"
[[ ! -e "${tmp}/restored/dump.rdb" ]] || fail "restore.sh left dump.rdb behind"
if "${restore}" --rdb="${rdb}" --data_dir="${tmp}/restored" 2>"${tmp}/refused.txt"; then
  fail "restore.sh overwrote a data directory that already holds Redis data"
fi
grep -q "already holds Redis data" "${tmp}/refused.txt" || fail "unclear refusal: $(cat "${tmp}/refused.txt")"

# Started as in production (appendonly yes): the data comes from the AOF.
start_redis "${tmp}/restored"
check_seeded "restored" -p "${started_port}"
expect_eq "key written after the backup" 0 "$(redis-cli -p "${started_port}" exists ea:after-backup)"
# And it stays after a restart: it is in the AOF, not only in memory.
redis-cli -p "${started_port}" shutdown >/dev/null 2>&1 || true
sleep 0.2
start_redis "${tmp}/restored"
check_seeded "restarted" -p "${started_port}"

if "${backup}" --redis=127.0.0.1:1 --out="${tmp}/backups" 2>"${tmp}/unreachable.txt"; then
  fail "backup.sh succeeded against a Redis that is not there"
fi
grep -q "cannot reach Redis at 127.0.0.1:1" "${tmp}/unreachable.txt" || fail "unclear error: $(cat "${tmp}/unreachable.txt")"
[[ -z "$(find "${tmp}/backups" -name '*.partial')" ]] || fail "a failed backup left a .partial directory"

# A damaged copy of the snapshot is refused before anything is written.
cp -r "${made}" "${tmp}/damaged"
damaged="${tmp}/damaged/$(basename "${rdb}")"
printf 'X' | dd of="${damaged}" bs=1 seek=20 conv=notrunc status=none
if "${restore}" --rdb="${damaged}" --data_dir="${tmp}/from-damaged" 2>"${tmp}/damaged.txt"; then
  fail "restore.sh restored a snapshot that does not match its checksum"
fi
grep -q "does not match its checksum" "${tmp}/damaged.txt" || fail "unclear refusal: $(cat "${tmp}/damaged.txt")"
[[ ! -e "${tmp}/from-damaged/appendonlydir" ]] || fail "a refused restore wrote an AOF"

echo "== a Redis with a password (REDISCLI_AUTH, as the docs say)"
start_redis "${tmp}/locked" --requirepass backup-test-secret
locked_port="${started_port}"
REDISCLI_AUTH=backup-test-secret redis-cli -p "${locked_port}" set ea:locked 7 >/dev/null
if "${backup}" --redis="127.0.0.1:${locked_port}" --out="${tmp}/locked-backups" 2>/dev/null; then
  fail "backup.sh succeeded without the password"
fi
made_locked="$(REDISCLI_AUTH=backup-test-secret "${backup}" --redis="127.0.0.1:${locked_port}" --out="${tmp}/locked-backups")"
"${restore}" --rdb="${made_locked}/redis-127.0.0.1-${locked_port}.rdb" --data_dir="${tmp}/locked-restored"
start_redis "${tmp}/locked-restored"
expect_eq "value backed up with a password" 7 "$(redis-cli -p "${started_port}" get ea:locked)"

echo "== Redis Cluster"
make_cluster() { # $1 = name; prints "port1 port2 port3"
  local name="$1" ports=() n
  for n in 1 2 3; do
    start_redis "${tmp}/${name}${n}" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000 >/dev/null
    ports+=("${started_port}")
  done
  redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" \
    --cluster-replicas 0 --cluster-yes >"${tmp}/${name}-create.log" 2>&1 || fail "cluster create: $(cat "${tmp}/${name}-create.log")"
  for _ in $(seq 1 200); do
    local ok=0
    for n in "${ports[@]}"; do
      redis-cli -p "${n}" cluster info | grep -q 'cluster_state:ok' && ok=$((ok + 1))
    done
    [[ ${ok} -eq 3 ]] && break
    sleep 0.05
  done
  cluster_ports="${ports[*]}"
}
cluster_ports=""
make_cluster old
read -r -a old_ports <<<"${cluster_ports}"
seed -c -p "${old_ports[0]}"
made="$("${backup}" --redis="127.0.0.1:${old_ports[1]}" --cluster --out="${tmp}/cluster-backups")"
expect_eq "one snapshot per primary" 3 "$(ls "${made}"/*.rdb | wc -l)"

make_cluster new
read -r -a new_ports <<<"${cluster_ports}"
for file in "${made}"/*.rdb; do
  "${restore}" --rdb="${file}" --into_cluster="127.0.0.1:${new_ports[0]}"
done
check_seeded "cluster restored" -c -p "${new_ports[2]}"
# The import put each key on the primary serving its slot in the new cluster.
total=0
for port in "${new_ports[@]}"; do
  total=$((total + $(redis-cli -p "${port}" dbsize)))
done
expect_eq "keys in the new cluster" 12 "${total}"
echo "PASS"
