#!/usr/bin/env bash
# deploy/compose/compose.yaml: runs the Redis service's command as written
# in the file (no Docker needed), behind a stand-in for the redis image's
# docker-entrypoint.sh, which puts `--protected-mode no` right after
# `redis-server` when no config file comes first. Checks that Redis starts,
# requires the password from the secret file, and has the AOF on.
# ctest: deploy.ComposeRedisCommand.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  [[ -n "${pid}" ]] && kill -9 "${pid}" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "${tmp}"
}
trap cleanup EXIT
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# The block scalar under the redis service's `command:`, unindented, with
# compose's `$$` escapes undone and the secret in a temp dir.
script="$(awk '
  /^  redis:$/ { in_redis = 1; next }
  in_redis && /^  [a-z]/ { in_redis = 0 }
  in_redis && /^    command:$/ { in_command = 1; next }
  in_command && /^      - \|$/ { in_block = 1; next }
  in_block && /^        / { print substr($0, 9); next }
  in_block { exit }
' "${repo}/deploy/compose/compose.yaml")"
[[ "${script}" == *redis-server* ]] || fail "no redis-server command found in compose.yaml: '${script}'"
script="${script//\$\$/\$}"
script="${script//\/run\/secrets\//${tmp}/secrets/}"
mkdir -p "${tmp}/secrets" "${tmp}/bin" "${tmp}/data"
printf 'compose-test-secret\n' >"${tmp}/secrets/redis_password"

cat >"${tmp}/bin/docker-entrypoint.sh" <<SHIM
#!/bin/sh
# Like the image's entrypoint (no config file first: protected mode off,
# inserted right after redis-server); the port and directory are this
# test's, inserted at the same place.
if [ "\$1" = redis-server ] && [ ! -f "\$2" ]; then
  shift
  set -- redis-server --protected-mode no --bind 127.0.0.1 --port "\${TEST_PORT}" --dir ${tmp}/data "\$@"
fi
exec "\$@"
SHIM
chmod +x "${tmp}/bin/docker-entrypoint.sh"

# Ports below the kernel's ephemeral range (32768 and up), where no client
# connection of a parallel test can hold one; another port when one is
# taken anyway between the check and the bind.
port=""
for attempt in 1 2 3 4 5; do
  candidate=""
  for _ in $(seq 1 100); do
    candidate=$((10000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/${candidate}") 2>/dev/null || break
  done
  TEST_PORT="${candidate}" PATH="${tmp}/bin:${PATH}" sh -c "${script}" >"${tmp}/redis.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    [[ "$(redis-cli -p "${candidate}" ping 2>&1)" =~ PONG|NOAUTH ]] && port="${candidate}" && break 2
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
  pid=""
  grep -q "Address already in use" "${tmp}/redis.out" || fail "Redis did not start: $(tail -5 "${tmp}/redis.out")"
done
[[ -n "${port}" ]] || fail "no free port after 5 tries"
reply="$(redis-cli -p "${port}" ping 2>&1)"
[[ "${reply}" == *NOAUTH* ]] || fail "Redis answered without the password: ${reply}"
[[ "$(REDISCLI_AUTH=compose-test-secret redis-cli -p "${port}" ping)" == PONG ]] ||
  fail "the password from the secret file is not accepted"
aof="$(REDISCLI_AUTH=compose-test-secret redis-cli -p "${port}" config get appendonly | tail -1)"
[[ "${aof}" == yes ]] || fail "appendonly is ${aof}"
policy="$(REDISCLI_AUTH=compose-test-secret redis-cli -p "${port}" config get maxmemory-policy | tail -1)"
[[ "${policy}" == noeviction ]] || fail "maxmemory-policy is ${policy}"
! grep -q compose-test-secret "/proc/${pid}/cmdline" 2>/dev/null || fail "the password is on Redis's command line"
echo "PASS"
