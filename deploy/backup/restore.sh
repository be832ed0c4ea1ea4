#!/usr/bin/env bash
# Restores a backup made by deploy/backup/backup.sh.
#
# One Redis (a pilot, deploy/local, compose): turn the snapshot into the
# append-only file of an empty data directory, then start Redis on it as usual.
#   deploy/backup/restore.sh --rdb=BACKUP/redis-H-P.rdb --data_dir=DIR
#   (deploy/local: stop.sh first, then --data_dir=.data/redis, then run.sh)
#
# Redis Cluster: copy each primary's snapshot into a running, empty cluster
# (new nodes, or the chart's fresh install) with `redis-cli --cluster import`,
# which puts every key on the primary that serves its slot now, so the new
# cluster need not have the old one's shape. Run once per .rdb of the backup.
#   deploy/backup/restore.sh --rdb=BACKUP/redis-H-P.rdb --into_cluster=HOST:PORT
#
# Then the ledger archive: copy BACKUP/archive/*.seg into the archive
# directory. After a cluster restore, rebuild the projections (ecoact_rebuild,
# and --reports): the primaries were snapshotted one after another, so boards
# and reports (on their own slots) may not match the ledger's shards exactly.
# A Redis that needs a password: export REDISCLI_AUTH (redis-cli reads it).
set -euo pipefail

die() {
  printf 'restore.sh: error: %s\n' "$*" >&2
  exit 1
}
log() { printf 'restore.sh: %s\n' "$*" >&2; }

rdb=""
data_dir=""
into_cluster=""
for arg in "$@"; do
  case "${arg}" in
  --rdb=*) rdb="${arg#*=}" ;;
  --data_dir=*) data_dir="${arg#*=}" ;;
  --into_cluster=*) into_cluster="${arg#*=}" ;;
  -h | --help)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument ${arg} (see --help)" ;;
  esac
done
[[ -f "${rdb}" ]] || die "--rdb=FILE is required and must exist (got '${rdb}')"
if [[ -n "${data_dir}" && -n "${into_cluster}" ]] || [[ -z "${data_dir}" && -z "${into_cluster}" ]]; then
  die "give exactly one of --data_dir=DIR (one Redis) and --into_cluster=HOST:PORT"
fi
for tool in redis-server redis-cli redis-check-rdb; do
  command -v "${tool}" >/dev/null || die "${tool} not found (scripts/setup.sh installs redis-server and redis-tools)"
done
# The backup's own checksums, when the file is still in its backup directory.
sums="$(dirname "${rdb}")/SHA256SUMS"
if [[ -f "${sums}" ]]; then
  line="$(grep -F "  $(basename "${rdb}")" "${sums}" || true)"
  [[ -n "${line}" ]] || die "${sums} does not list $(basename "${rdb}")"
  (cd "$(dirname "${rdb}")" && sha256sum --quiet -c - <<<"${line}") ||
    die "$(basename "${rdb}") does not match its checksum in ${sums}: the copy is damaged"
fi
redis-check-rdb "${rdb}" >/dev/null 2>&1 || die "redis-check-rdb refuses ${rdb}: not a whole snapshot"

# A temporary Redis on loopback that loads the snapshot, without AOF, and
# never writes an RDB of its own.
temp_port=""
temp_pid=""
cleanup() {
  if [[ -n "${temp_pid}" ]] && kill -0 "${temp_pid}" 2>/dev/null; then
    # -9: Redis ignores SIGTERM while it writes its first AOF; the data
    # directory is incomplete then anyway (restore.sh failed).
    kill -9 "${temp_pid}" 2>/dev/null || true
    wait "${temp_pid}" 2>/dev/null || true
  fi
}
trap cleanup EXIT

start_temp_redis() { # $1 = directory holding dump.rdb
  local dir="$1" candidate attempt
  # Another process may take the port between the check and the bind: then
  # Redis exits at once, and another port is tried.
  for attempt in 1 2 3 4 5; do
    temp_port=""
    for _ in $(seq 1 50); do
      candidate=$((10000 + RANDOM % 20000)) # below the ephemeral range
      if ! (exec 3<>"/dev/tcp/127.0.0.1/${candidate}") 2>/dev/null; then
        temp_port="${candidate}"
        break
      fi
    done
    [[ -n "${temp_port}" ]] || die "found no free loopback port"
    redis-server --bind 127.0.0.1 --port "${temp_port}" --dir "${dir}" --dbfilename dump.rdb \
      --appendonly no --save "" --appenddirname appendonlydir --appendfilename appendonly.aof \
      --logfile "${dir}/restore-redis.log" --daemonize no &
    temp_pid=$!
    # Loading a big snapshot takes minutes: no limit while Redis says
    # LOADING; 60 s if it does not answer at all.
    local silent=0 reply
    while ((silent < 600)); do
      reply="$(redis-cli -p "${temp_port}" ping 2>&1 || true)"
      [[ "${reply}" == PONG ]] && return 0
      [[ "${reply}" == *LOADING* ]] || silent=$((silent + 1))
      kill -0 "${temp_pid}" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "${temp_pid}" 2>/dev/null; then
      die "the temporary Redis did not answer within 60 s: see ${dir}/restore-redis.log"
    fi
    wait "${temp_pid}" 2>/dev/null || true
    temp_pid=""
    grep -q "Address already in use" "${dir}/restore-redis.log" 2>/dev/null ||
      die "the temporary Redis stopped: see ${dir}/restore-redis.log"
  done
  die "no free loopback port for the temporary Redis after 5 tries: see ${dir}/restore-redis.log"
}

info_field() { # $1 = field of INFO persistence
  redis-cli -p "${temp_port}" info persistence | tr -d '\r' | sed -n "s/^$1://p"
}

if [[ -n "${data_dir}" ]]; then
  mkdir -p "${data_dir}"
  if [[ -e "${data_dir}/appendonlydir" || -e "${data_dir}/dump.rdb" ]]; then
    die "${data_dir} already holds Redis data (appendonlydir or dump.rdb): restore into an empty directory, or move it aside first"
  fi
  cp "${rdb}" "${data_dir}/dump.rdb"
  start_temp_redis "${data_dir}"
  keys="$(redis-cli -p "${temp_port}" dbsize)"
  # Redis builds the AOF from memory when AOF is switched on at run time; a
  # Redis started with appendonly yes would otherwise ignore dump.rdb.
  redis-cli -p "${temp_port}" config set appendonly yes >/dev/null
  # No time limit: a big data set takes as long as it takes, and Redis
  # refuses to exit while it writes the first AOF. Done when no rewrite is
  # running or scheduled; a failed one (a full disk) stops the restore.
  while true; do
    kill -0 "${temp_pid}" 2>/dev/null || die "the temporary Redis stopped while writing the append-only file: see ${data_dir}/restore-redis.log"
    [[ "$(info_field aof_last_bgrewrite_status)" != err ]] ||
      die "Redis could not write the append-only file (disk full?): see ${data_dir}/restore-redis.log"
    if [[ "$(info_field aof_enabled)" == 1 && "$(info_field aof_rewrite_in_progress)" == 0 &&
      "$(info_field aof_rewrite_scheduled)" == 0 ]]; then
      break
    fi
    sleep 0.2
  done
  [[ "$(info_field aof_last_bgrewrite_status)" == ok ]] || die "Redis could not write the append-only file: see ${data_dir}/restore-redis.log"
  redis-cli -p "${temp_port}" shutdown nosave >/dev/null 2>&1 || true
  wait "${temp_pid}" 2>/dev/null || true
  temp_pid=""
  rm -f "${data_dir}/dump.rdb"
  log "restored ${keys} keys into ${data_dir}/appendonlydir; start Redis with --dir ${data_dir} --appendonly yes"
  exit 0
fi

work="$(mktemp -d)"
trap 'cleanup; rm -rf "${work}"' EXIT
cp "${rdb}" "${work}/dump.rdb"
start_temp_redis "${work}"
keys="$(redis-cli -p "${temp_port}" dbsize)"
log "importing ${keys} keys from ${rdb} into the cluster at ${into_cluster}"
# --cluster-copy keeps the source; without --cluster-replace a key that
# already exists in the cluster stops the import instead of being overwritten.
redis-cli --cluster import "${into_cluster}" --cluster-from "127.0.0.1:${temp_port}" --cluster-copy \
  >"${work}/import.log" 2>&1 || {
  cat "${work}/import.log" >&2
  die "redis-cli --cluster import failed (is the cluster empty and every slot served?)"
}
log "imported ${keys} keys from ${rdb}"
