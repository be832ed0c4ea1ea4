#!/usr/bin/env bash
# Runs ecoact on this machine: installs what is missing (scripts/setup.sh),
# builds (scripts/build.sh), then starts Redis on loopback with the append-only
# file on, the all-in-one server in front of it, and the HTTP/JSON gateway
# with the web console in front of that. Works on a fresh Debian 12.
#
#   deploy/local/run.sh            run in the foreground; Ctrl-C stops everything
#   deploy/local/run.sh --detach   return once all is up; deploy/local/stop.sh stops it
#   deploy/local/run.sh --split    the split deployment (also ECOACT_SPLIT=1): each
#       service's own binary (identity_server, actions_server, ...) as its own
#       process on its own loopback port, ECOACT_PORT+1 .. ECOACT_PORT+8
#       (7701 identity, 7702 actions, 7703 catalog, 7704 leaderboard, 7705
#       events, 7706 rewards, 7707 surveys, 7708 reports), the gateway routed
#       to them (--routes); the CLI needs ECOACT_ROUTES, which .data/routes
#       holds. The leaderboard process runs the boards' projector, the
#       reports process the reports' projector.
#
# Environment:
#   ECOACT_PORT (7700), ECOACT_REDIS_PORT (6390)   loopback ports
#   ECOACT_HTTP_PORT (8080)   the gateway's loopback port: http://127.0.0.1:8080/
#   ECOACT_REDIS_FSYNC (everysec)   Redis's appendfsync: `always` fsyncs the
#       append-only file before every reply, so no acknowledged action is lost
#       even to a power cut (docs/operations.md, "Durability")
#   ECOACT_ADMIN_LOGIN (admin), ECOACT_ADMIN_PASSWORD   the first admin, created
#       at start-up if missing; without a password, one is generated once into
#       .data/admin-password
#   ECOACT_TOKEN_KEYS   token signing keys; without it, one key is generated
#       once into .data/token-keys, so that tokens survive restarts
#   ECOACT_SERVER_SECRET   derives citizen credentials, check-in codes and
#       refresh tokens and must never change (docs/security.md, "Server
#       secret"); without it, one is kept in .data/server-secret: generated
#       once, or, for a .data that already holds accounts, the signing key
#       the server defaulted to before
#   any other ECOACT_<FLAG> (ECOACT_TIME_ZONE, ...) reaches the server as is;
#   e.g. ECOACT_TLS_CERT_FILE and ECOACT_TLS_KEY_FILE for TLS (docs/security.md);
#   the gateway then needs ECOACT_UPSTREAM_TLS_CA_FILE (and for mutual TLS
#   ECOACT_UPSTREAM_TLS_CERT_FILE, ECOACT_UPSTREAM_TLS_KEY_FILE). Other
#   gateway flags the same way (ECOACT_CALL_TIMEOUT, ...);
#   ECOACT_WEB_ROOT (services/gateway/web) is the directory served at /.
#   ECOACT_VENDOR_ROOT (services/gateway/web/node_modules, filled by npm ci in
#       scripts/setup.sh) is served at /vendor/: Chart.js for the dashboard.
#   For `ecoact demo` (README, "See a living system"): ECOACT_RATE_LIMITS=0
#   ECOACT_MAX_BACKDATE=2160h ECOACT_IDEMPOTENCY_TTL=2184h (a season of history).
#   BUILD_DIR (build)   as in scripts/build.sh
#
# Everything the run keeps is under .data/: redis/ (the AOF), *.pid, *.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
cd "${repo}"
data="${repo}/.data"
port="${ECOACT_PORT:-7700}"
redis_port="${ECOACT_REDIS_PORT:-6390}"
http_port="${ECOACT_HTTP_PORT:-8080}"
redis_fsync="${ECOACT_REDIS_FSYNC:-everysec}"
build_dir="${BUILD_DIR:-build}"
server_bin="${build_dir}/services/allinone/ecoact_server"
gateway_bin="${build_dir}/services/gateway/ecoact_gateway"

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() {
  printf 'run.sh: error: %s\n' "$*" >&2
  exit 1
}

detach=false
split=false
case "${ECOACT_SPLIT:-0}" in
  0 | "") ;;
  1) split=true ;;
  *) die "ECOACT_SPLIT must be 0 or 1, got '${ECOACT_SPLIT}'" ;;
esac
for arg in "$@"; do
  case "${arg}" in
    --detach) detach=true ;;
    --split) split=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "usage: deploy/local/run.sh [--detach] [--split]" >&2
      exit 2
      ;;
  esac
done
# The split deployment: NAME:SERVICE:PORT of each service's own process.
split_services=()
if [[ "${split}" == true ]]; then
  offset=1
  for entry in identity:IdentityService actions:ActionsService catalog:CatalogService \
    leaderboard:LeaderboardService events:EventsService rewards:RewardsService \
    surveys:SurveysService reports:ReportsService; do
    split_services+=("${entry%%:*}:ecoact.v1.${entry#*:}:$((port + offset))")
    offset=$((offset + 1))
  done
fi
service_ports=()
for entry in "${split_services[@]}"; do service_ports+=("${entry##*:}"); done
for p in "${port}" "${redis_port}" "${http_port}" "${service_ports[@]}"; do
  if ! [[ "${p}" =~ ^[0-9]{1,5}$ ]] || ((p == 0 || p > 65535)); then
    die "bad port '${p}' in ECOACT_PORT, ECOACT_REDIS_PORT or ECOACT_HTTP_PORT"
  fi
done
[[ "${port}" != "${redis_port}" ]] || die "ECOACT_PORT and ECOACT_REDIS_PORT are both ${port}"
[[ "${http_port}" != "${port}" && "${http_port}" != "${redis_port}" ]] ||
  die "ECOACT_HTTP_PORT ${http_port} is also ECOACT_PORT or ECOACT_REDIS_PORT"
for p in "${service_ports[@]}"; do
  [[ "${p}" != "${redis_port}" && "${p}" != "${http_port}" ]] ||
    die "the split services' ports $((port + 1))-$((port + ${#service_ports[@]})) include" \
      "ECOACT_REDIS_PORT or ECOACT_HTTP_PORT; pick other ports"
done
case "${redis_fsync}" in
  everysec | always) ;;
  *) die "ECOACT_REDIS_FSYNC must be everysec or always, got '${redis_fsync}'" ;;
esac

# --- refuse to start twice or on a busy port ------------------------------------

mkdir -p "${data}/redis"
chmod 700 "${data}"

# A pid file can outlive its process (a reboot) and pids are reused: only a
# live process that is still the program we started counts.
for entry in gateway:ecoact_gateway server:ecoact_server redis:redis-server \
  identity:identity_server actions:actions_server catalog:catalog_server \
  leaderboard:leaderboard_server events:events_server rewards:rewards_server \
  surveys:surveys_server reports:reports_server; do
  name="${entry%%:*}" program="${entry#*:}"
  pid="$(cat "${data}/${name}.pid" 2>/dev/null || true)"
  if [[ "${pid}" =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null &&
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null || echo "${program}")" == "${program:0:15}"* ]]; then
    die "ecoact is already running (${name} pid ${pid}); stop it with deploy/local/stop.sh"
  fi
  rm -f "${data}/${name}.pid"
done

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in "${redis_port}" "${port}" "${http_port}" "${service_ports[@]}"; do
  if listening "${p}"; then
    owner="$(ss -Hltnp "sport = :${p}" 2>/dev/null | grep -o 'users:.*' | head -n1 || true)"
    die "something already listens on 127.0.0.1:${p}${owner:+ (${owner})}; stop it, or pick" \
      "another port with ECOACT_PORT / ECOACT_REDIS_PORT / ECOACT_HTTP_PORT"
  fi
done

# --- set-up and build --------------------------------------------------------

if [[ -f scripts/setup.sh ]]; then
  bash scripts/setup.sh
fi
bash scripts/build.sh
[[ -x "${server_bin}" ]] || die "${server_bin} was not built; see the output of scripts/build.sh above"
[[ -x "${gateway_bin}" ]] || die "${gateway_bin} was not built; see the output of scripts/build.sh above"
for entry in "${split_services[@]}"; do
  name="${entry%%:*}"
  bin="${build_dir}/services/${name}/${name}_server"
  [[ -x "${bin}" ]] || die "${bin} was not built; see the output of scripts/build.sh above"
done
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  die "redis-server or redis-cli not found; scripts/setup.sh installs them (package redis-server)"
fi

# --- secrets, generated once and kept in .data (mode 0600) ------------------------

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

if [[ -z "${ECOACT_ADMIN_PASSWORD:-}" ]]; then
  if [[ ! -s "${data}/admin-password" ]]; then
    (umask 077 && random_hex 16 >"${data}/admin-password")
    log "generated the first admin's password into .data/admin-password"
  fi
  ECOACT_ADMIN_PASSWORD="$(<"${data}/admin-password")"
  admin_password_source=".data/admin-password"
  admin_password_input=" < .data/admin-password"
else
  admin_password_source="ECOACT_ADMIN_PASSWORD"
  admin_password_input="" # typed at the prompt
fi
if [[ -z "${ECOACT_TOKEN_KEYS:-}" ]]; then
  if [[ ! -s "${data}/token-keys" ]]; then
    (umask 077 && printf 'local1=%s\n' "$(random_hex 32)" >"${data}/token-keys")
    log "generated a token signing key into .data/token-keys"
  fi
  ECOACT_TOKEN_KEYS="$(<"${data}/token-keys")"
fi
if [[ -z "${ECOACT_SERVER_SECRET:-}" ]]; then
  if [[ ! -s "${data}/server-secret" ]]; then
    if [[ -n "$(ls -A "${data}/redis" 2>/dev/null)" ]]; then
      # An existing run: the server derived everything from the signing
      # secret of ECOACT_TOKEN_KEYS (ECOACT_TOKEN_KEY_ID's, else the first).
      signing="${ECOACT_TOKEN_KEYS%%,*}"
      if [[ -n "${ECOACT_TOKEN_KEY_ID:-}" ]]; then
        IFS=',' read -ra entries <<<"${ECOACT_TOKEN_KEYS}"
        for entry in "${entries[@]}"; do
          if [[ "${entry%%=*}" == "${ECOACT_TOKEN_KEY_ID}" ]]; then signing="${entry}"; fi
        done
      fi
      (umask 077 && printf '%s' "${signing#*=}" >"${data}/server-secret")
      log "kept the server secret this .data was using in .data/server-secret"
    else
      (umask 077 && random_hex 32 >"${data}/server-secret")
      log "generated the server secret into .data/server-secret"
    fi
  fi
  ECOACT_SERVER_SECRET="$(<"${data}/server-secret")"
fi
# Passed through the environment, not the command line, to stay out of `ps`.
export ECOACT_ADMIN_PASSWORD ECOACT_TOKEN_KEYS ECOACT_SERVER_SECRET
export ECOACT_ADMIN_LOGIN="${ECOACT_ADMIN_LOGIN:-admin}"

# --- start ----------------------------------------------------------------------

# Until the run is up (or for good in the foreground), leaving this script
# stops whatever it started. The children run in their own session (setsid),
# so that Ctrl-C reaches only this script, which stops the server first and
# Redis last.
# shellcheck disable=SC2317  # invoked by the trap
stop() { "${here}/stop.sh" || true; }
trap stop EXIT
trap 'echo >&2; log "stopping"; exit 0' INT TERM

wait_until() {  # NAME PID SECONDS COMMAND...: polls COMMAND while PID lives
  local name=$1 pid=$2 seconds=$3
  shift 3
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" && return 0
    kill -0 "${pid}" 2>/dev/null || die "${name} exited at start-up; last lines of .data/${name}.log:
$(tail -n 20 "${data}/${name}.log")"
    sleep 0.1
  done
  die "${name} not ready after ${seconds}s; see .data/${name}.log"
}
# shellcheck disable=SC2317  # invoked through wait_until
redis_ready() { [[ "$(redis-cli -p "${redis_port}" ping 2>/dev/null)" == PONG ]]; }

printf '\n--- %s: run.sh starting redis on port %s, appendfsync %s\n' "$(date -Is)" "${redis_port}" \
  "${redis_fsync}" >>"${data}/redis.log"
setsid redis-server "${here}/redis.conf" --port "${redis_port}" --dir "${data}/redis" \
  --appendfsync "${redis_fsync}" >>"${data}/redis.log" 2>&1 </dev/null &
redis_pid=$!
echo "${redis_pid}" >"${data}/redis.pid"
echo "${redis_port}" >"${data}/redis.port"
wait_until redis "${redis_pid}" 10 redis_ready

routes=""
pids=("${redis_pid}")
if [[ "${split}" == false ]]; then
  printf '\n--- %s: run.sh starting the server on port %s\n' "$(date -Is)" "${port}" >>"${data}/server.log"
  setsid "${server_bin}" --listen="127.0.0.1:${port}" --redis="127.0.0.1:${redis_port}" \
    >>"${data}/server.log" 2>&1 </dev/null &
  server_pid=$!
  echo "${server_pid}" >"${data}/server.pid"
  pids+=("${server_pid}")
  wait_until server "${server_pid}" 30 listening "${port}"
  servers="server 127.0.0.1:${port} (pid ${server_pid})"
else
  # Every service at once, then the waits.
  servers="one process per service:"
  for entry in "${split_services[@]}"; do
    IFS=: read -r name service service_port <<<"${entry}"
    printf '\n--- %s: run.sh starting %s on port %s\n' "$(date -Is)" "${name}_server" \
      "${service_port}" >>"${data}/${name}.log"
    setsid "${build_dir}/services/${name}/${name}_server" --listen="127.0.0.1:${service_port}" \
      --redis="127.0.0.1:${redis_port}" >>"${data}/${name}.log" 2>&1 </dev/null &
    echo "$!" >"${data}/${name}.pid"
    pids+=("$!")
    routes+="${routes:+,}${service}=127.0.0.1:${service_port}"
    servers+=" ${name} ${service_port} (pid $!),"
  done
  for entry in "${split_services[@]}"; do
    IFS=: read -r name service service_port <<<"${entry}"
    wait_until "${name}" "$(<"${data}/${name}.pid")" 30 listening "${service_port}"
  done
  servers="${servers%,}"
  echo "${routes}" >"${data}/routes"
fi

printf '\n--- %s: run.sh starting the gateway on port %s\n' "$(date -Is)" "${http_port}" \
  >>"${data}/gateway.log"
setsid "${gateway_bin}" --http_listen="127.0.0.1:${http_port}" --upstream="127.0.0.1:${port}" \
  --routes="${routes}" --web_root="${ECOACT_WEB_ROOT:-${repo}/services/gateway/web}" \
  --vendor_root="${ECOACT_VENDOR_ROOT:-${repo}/services/gateway/web/node_modules}" \
  >>"${data}/gateway.log" 2>&1 </dev/null &
gateway_pid=$!
echo "${gateway_pid}" >"${data}/gateway.pid"
pids+=("${gateway_pid}")
wait_until gateway "${gateway_pid}" 10 listening "${http_port}"

cli="${build_dir}/cli/ecoact"
[[ "${port}" == 7700 ]] || cli+=" --server=127.0.0.1:${port}"
# With TLS the CLI needs the CA that signed the server's certificate.
[[ -z "${ECOACT_TLS_CERT_FILE:-}" ]] || cli+=" --tls_ca_file=CA.pem"
[[ -z "${ECOACT_TLS_CLIENT_CA_FILE:-}" ]] || cli+=" --tls_cert_file=CLIENT.pem --tls_key_file=CLIENT.key"
if [[ "${split}" == true ]]; then
  cat <<EOF

The split deployment: the CLI finds each service through ECOACT_ROUTES (or --routes):
  export ECOACT_ROUTES="\$(cat .data/routes)"
EOF
fi
cat <<EOF

ecoact is running: ${servers}, Redis 127.0.0.1:${redis_port} (pid ${redis_pid}, appendfsync ${redis_fsync}).
Web console and HTTP/JSON API: http://127.0.0.1:${http_port}/ (gateway pid ${gateway_pid}).
Data and logs: .data/ (redis/ holds the append-only file; server.log or one log per service, gateway.log, redis.log).

Try it, from ${repo}:
  ${cli} wards
  ${cli} register --nickname=Mika --ward=nakahara
  ${cli} catalog
  ${cli} record clothing_reuse 2.5
  ${cli} board --period=week
  ${cli} help
  curl -s http://127.0.0.1:${http_port}/api/ecoact.v1.IdentityService/ListWards -d '{}'

The first admin is '${ECOACT_ADMIN_LOGIN}', password in ${admin_password_source}. Keep the admin
session apart from your citizen one:
  ${cli} --session=.data/admin-session.json login --account=${ECOACT_ADMIN_LOGIN}${admin_password_input}

EOF

if [[ "${detach}" == true ]]; then
  trap - EXIT INT TERM
  echo "Stop with: deploy/local/stop.sh"
  exit 0
fi
echo "Press Ctrl-C to stop."
# Returns when any process exits (unexpectedly) or a signal runs the trap.
set +e
wait -n "${pids[@]}"
status=$?
set -e
name=redis
for entry in gateway server "${split_services[@]}"; do
  entry="${entry%%:*}"
  pid="$(cat "${data}/${entry}.pid" 2>/dev/null || true)"
  if [[ -n "${pid}" ]] && ! kill -0 "${pid}" 2>/dev/null; then name="${entry}"; fi
done
die "${name} exited (status ${status}); last lines of .data/${name}.log:
$(tail -n 20 "${data}/${name}.log")"
