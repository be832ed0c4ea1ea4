#!/usr/bin/env bash
# Stops what deploy/local/run.sh started, in order: the HTTP gateway, then the
# server or, after `run.sh --split`, every service's process (SIGTERM: each
# stops accepting calls and lets in-flight ones finish), then Redis
# (`redis-cli shutdown`, which flushes and fsyncs the append-only file).
# Only the processes named in .data/*.pid are touched. Nothing running: no-op.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="${repo}/.data"

log() { printf 'stop.sh: %s\n' "$*" >&2; }

# Prints the pid in .data/NAME.pid if that process is alive and is still the
# program started (a pid file can outlive its process, and pids are reused).
live_pid() {
  local file="${data}/$1.pid" program=$2 pid
  [[ -s "${file}" ]] || return 1
  pid="$(<"${file}")"
  if [[ "${pid}" =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null &&
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null || echo "${program}")" == "${program:0:15}"* ]]; then
    echo "${pid}"
    return 0
  fi
  rm -f "${file}"
  return 1
}

# Waits up to SECONDS for PID to exit; then SIGKILL.
await_exit() {
  local name=$1 pid=$2 seconds=$3
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "${pid}" 2>/dev/null || return 0
    sleep 0.1
  done
  log "${name} (pid ${pid}) still running after ${seconds}s; sending SIGKILL"
  kill -KILL "${pid}" 2>/dev/null || true
}

stopped=false
if pid="$(live_pid gateway ecoact_gateway)"; then
  log "stopping the gateway (pid ${pid})"
  kill -TERM "${pid}" 2>/dev/null || true
  await_exit gateway "${pid}" 15
  rm -f "${data}/gateway.pid"
  stopped=true
fi

if pid="$(live_pid server ecoact_server)"; then
  log "stopping the server (pid ${pid})"
  kill -TERM "${pid}" 2>/dev/null || true
  await_exit server "${pid}" 20 # the server's --shutdown_grace (10s) and some margin
  rm -f "${data}/server.pid"
  stopped=true
fi

# The split deployment's services: SIGTERM to all, then wait for each.
split_pids=()
for name in identity actions catalog leaderboard events rewards surveys reports; do
  if pid="$(live_pid "${name}" "${name}_server")"; then
    log "stopping ${name}_server (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    split_pids+=("${name}:${pid}")
  fi
done
for entry in "${split_pids[@]}"; do
  await_exit "${entry%%:*}" "${entry#*:}" 20
  rm -f "${data}/${entry%%:*}.pid"
  stopped=true
done
rm -f "${data}/routes"

if pid="$(live_pid redis redis-server)"; then
  redis_port="$(cat "${data}/redis.port" 2>/dev/null || echo "${ECOACT_REDIS_PORT:-6390}")"
  log "stopping Redis (pid ${pid}, port ${redis_port})"
  if ! redis-cli -p "${redis_port}" shutdown >/dev/null 2>&1; then
    kill -TERM "${pid}" 2>/dev/null || true # also a clean shutdown for Redis
  fi
  await_exit redis "${pid}" 30
  rm -f "${data}/redis.pid" "${data}/redis.port"
  stopped=true
fi

if [[ "${stopped}" == true ]]; then log "stopped"; else log "nothing was running"; fi
