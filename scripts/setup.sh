#!/usr/bin/env bash
# Installs every Debian 12 package ecoact needs to build and run its tests.
# Idempotent: when everything is already installed it changes nothing and
# returns at once (the developer fast path); on a fresh Debian 12 image it runs
# apt-get as root, or through sudo.
#
# The redis-server package is installed for its binary only: integration
# tests start their own redis-server on a free port, so the system service is
# not started here.
#
# Then the web pages' npm packages (services/gateway/web, `npm ci`) whenever
# its package-lock.json is newer than what is installed.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build ccache pkg-config git ca-certificates tzdata
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libhiredis-dev libssl-dev nlohmann-json3-dev
  libcpp-httplib-dev   # the HTTP/JSON gateway (services/gateway) and its tests' HTTP client
  zlib1g-dev   # the ledger archive segments (services/archive)
  redis-server
  locales   # localedef: a test runs redis-server under en_US.UTF-8 (tests/leaderboard)
  googletest libgtest-dev libgmock-dev
  procps openssl
  nghttp2-client jq   # bench/h2load.sh (h2load, nghttp); the bench scripts read and merge JSON
  clang-14 libclang-rt-14-dev lld-14   # the sanitizer build and libFuzzer (docs/testing.md)
  chromium fonts-ipafont-gothic   # the browser tests (tests/browser): headless, Japanese glyphs in screenshots
)
# npm packages, exactly as each package-lock.json pins them, whenever the lock
# file changed since the last install: the web pages' (Chart.js;
# playwright-core for the browser tests) and the manifest check's.
NPM_DIRS=(services/gateway/web deploy/k8s)
npm_packages() {
  local repo dir stamp
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in "${NPM_DIRS[@]}"; do
    stamp="${repo}/${dir}/node_modules/.package-lock.json"
    if [[ -f "${stamp}" && ! "${repo}/${dir}/package-lock.json" -nt "${stamp}" ]]; then continue; fi
    echo "setup: npm ci in ${dir}"
    (cd "${repo}/${dir}" && npm ci --no-audit --no-fund)
  done
}

# Tools needed only as commands: the package is installed when the command is
# missing, so a machine that has it from elsewhere (a newer Node.js or
# kubectl) keeps its own and no package conflicts with it.
COMMAND_PACKAGES=(
  kubectl:kubernetes-client   # renders deploy/k8s with `kubectl kustomize` (tests/deploy)
  node:nodejs npm:npm          # the web pages' packages, browser tests, deploy/k8s/check.mjs
)

installed() {
  # `dpkg -s` also succeeds for removed packages whose configuration remains,
  # so read the status itself.
  [[ "$(dpkg -s "$1" 2>/dev/null | sed -n 's/^Status: //p')" == "install ok installed" ]]
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "${package}" || missing+=("${package}")
done
for entry in "${COMMAND_PACKAGES[@]}"; do
  command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} packages and ${#COMMAND_PACKAGES[@]} commands are installed"
  npm_packages
  exit 0
fi
echo "setup: installing ${missing[*]}"

if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and neither root nor sudo to install them" >&2
  exit 1
fi

# Keep maintainer scripts from starting services (redis-server) while
# installing: policy-rc.d answering 101 is the Debian way to say "not now".
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e "${policy}" ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "${policy}" >/dev/null
  "${as_root[@]}" chmod 755 "${policy}"
  created_policy=true
fi
cleanup() {
  if [[ "${created_policy}" == true ]]; then "${as_root[@]}" rm -f "${policy}"; fi
}
trap cleanup EXIT

"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

for package in "${PACKAGES[@]}"; do
  if ! installed "${package}"; then
    echo "setup: ${package} is still not installed" >&2
    exit 1
  fi
done
for entry in "${COMMAND_PACKAGES[@]}"; do
  if ! command -v "${entry%%:*}" >/dev/null 2>&1; then
    echo "setup: ${entry%%:*} is still missing after installing ${entry#*:}" >&2
    exit 1
  fi
done
npm_packages
echo "setup: done"
