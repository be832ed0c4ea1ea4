#!/usr/bin/env bash
# Backs up a running ecoact deployment: one RDB snapshot per Redis primary,
# fetched over the network with `redis-cli --rdb` (the replication protocol:
# nothing to install on the Redis host, no pause of the server), checked with
# redis-check-rdb, then the ledger archive's segment files.
#
#   deploy/backup/backup.sh --redis=HOST:PORT --out=DIR [--cluster] [--archive_dir=DIR]
#
# Writes DIR/<UTC time>/ with:
#   redis-<host>-<port>.rdb   one per primary (one file for a single Redis)
#   archive/                  a copy of the archive's *.seg files (with --archive_dir)
#   MANIFEST                  when, which node served which slots, sizes
#   SHA256SUMS                checksums of every file (restore.sh checks them)
# The backup is written under a `.partial` name and renamed when complete, so a
# directory without that suffix is a whole backup.
#
# Order matters: Redis first, then the archive. `ecoact_archive` writes a
# segment durably before it trims the entries from Redis, so every entry
# missing from the snapshot because it was already trimmed is in a segment
# copied afterwards; an entry in both is read once (readers take the archive,
# then the stream after the last archived id). The other order could miss
# entries archived and trimmed in between.
#
# A Redis that needs a password: export REDISCLI_AUTH (redis-cli reads it).
# Restore: deploy/backup/restore.sh; docs/operations.md, "Backups and restore".
set -euo pipefail

die() {
  printf 'backup.sh: error: %s\n' "$*" >&2
  exit 1
}
log() { printf 'backup.sh: %s\n' "$*" >&2; }

redis=""
out=""
cluster=false
archive_dir=""
for arg in "$@"; do
  case "${arg}" in
  --redis=*) redis="${arg#*=}" ;;
  --out=*) out="${arg#*=}" ;;
  --cluster) cluster=true ;;
  --archive_dir=*) archive_dir="${arg#*=}" ;;
  -h | --help)
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument ${arg} (see --help)" ;;
  esac
done
[[ -n "${redis}" && "${redis}" == *:* ]] || die "--redis=HOST:PORT is required"
[[ -n "${out}" ]] || die "--out=DIR is required"
[[ -z "${archive_dir}" || -d "${archive_dir}" ]] || die "--archive_dir ${archive_dir} is not a directory"
for tool in redis-cli redis-check-rdb sha256sum; do
  command -v "${tool}" >/dev/null || die "${tool} not found (scripts/setup.sh installs redis-server and redis-tools)"
done

host="${redis%:*}"
port="${redis##*:}"
# "host:port slots" for every primary to snapshot.
primaries=()
if [[ "${cluster}" == true ]]; then
  nodes="$(redis-cli -h "${host}" -p "${port}" cluster nodes)" || die "CLUSTER NODES failed on ${redis}"
  # Fields: id addr flags master ping pong epoch link slots...; addr is
  # ip:port@cport[,hostname].
  while read -r _ addr flags _ _ _ _ link slots; do
    [[ "${flags}" == *master* && "${flags}" != *fail* && "${link}" == connected ]] || continue
    [[ -n "${slots}" ]] || continue # a primary without slots holds no data
    primaries+=("${addr%%@*} ${slots}")
  done <<<"${nodes}"
  [[ ${#primaries[@]} -gt 0 ]] || die "no connected primary with slots in CLUSTER NODES of ${redis}"
  # Every slot must be on a primary we snapshot; one served by a failed
  # primary (a failover in progress) would be missing from the backup.
  covered=0
  for entry in "${primaries[@]}"; do
    read -r -a ranges <<<"${entry#* }" # no glob: "[93->-id]" would match files
    for range in "${ranges[@]}"; do
      [[ "${range}" == \[* ]] && continue # a slot being migrated: counted at its owner
      if [[ "${range}" == *-* ]]; then
        covered=$((covered + ${range#*-} - ${range%-*} + 1))
      else
        covered=$((covered + 1))
      fi
    done
  done
  [[ ${covered} -eq 16384 ]] ||
    die "connected primaries serve ${covered} of 16384 slots: wait for the failover to finish, then back up"
else
  role="$(redis-cli -h "${host}" -p "${port}" role | head -1)" || die "cannot reach Redis at ${redis}"
  [[ "${role}" == master ]] || log "note: ${redis} is a ${role}; its snapshot may lag its primary"
  primaries+=("${host}:${port} all")
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="${out}/${stamp}"
work="${final}.partial"
[[ ! -e "${final}" ]] || die "${final} already exists"
mkdir -p "${work}"
manifest="${work}/MANIFEST"
{
  echo "# ecoact backup; restore with deploy/backup/restore.sh"
  echo "started ${stamp}"
  echo "source ${redis} cluster=${cluster}"
} >"${manifest}"

for entry in "${primaries[@]}"; do
  addr="${entry%% *}"
  slots="${entry#* }"
  node_host="${addr%:*}"
  node_port="${addr##*:}"
  file="redis-${node_host}-${node_port}.rdb"
  log "snapshot of ${addr} (slots ${slots})"
  redis-cli -h "${node_host}" -p "${node_port}" --rdb "${work}/${file}" >/dev/null ||
    die "redis-cli --rdb failed for ${addr}"
  redis-check-rdb "${work}/${file}" >"${work}/${file}.check" 2>&1 ||
    die "redis-check-rdb refused ${file}: see ${work}/${file}.check"
  rm -f "${work}/${file}.check"
  echo "rdb ${file} node=${addr} slots=${slots} bytes=$(stat -c %s "${work}/${file}")" >>"${manifest}"
done

if [[ -n "${archive_dir}" ]]; then
  mkdir -p "${work}/archive"
  count=0
  # Segments are immutable once renamed into place; temp files are not part
  # of the archive (docs/operations.md, "Ledger archive").
  while IFS= read -r -d '' segment; do
    cp -p "${segment}" "${work}/archive/"
    count=$((count + 1))
  done < <(find "${archive_dir}" -maxdepth 1 -type f -name '*.seg' -print0)
  echo "archive ${count} segments from ${archive_dir}" >>"${manifest}"
  log "archive: ${count} segments"
fi

(cd "${work}" && find . -type f ! -name MANIFEST ! -name SHA256SUMS -printf '%P\0' |
  sort -z | xargs -0 -r sha256sum >SHA256SUMS)
echo "finished $(date -u +%Y%m%dT%H%M%SZ)" >>"${manifest}"
sync -f "${work}" 2>/dev/null || sync
mv "${work}" "${final}"
log "backup complete: ${final}"
echo "${final}"
