#!/usr/bin/env bash
# Builds, then runs the test suite. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L unit          only the unit tests
#   scripts/test.sh -R Leaderboard   tests whose name matches
# Exits non-zero if a test fails, or if the selection matches no test.
#
# Then the integration tests run a second time against a Redis Cluster
# (unless ECOACT_CLUSTER_TESTS=0), and, unless ECOACT_SANITIZERS=0, the sanitizer build (./build-san, clang
# with ASan + UBSan, docs/testing.md) runs the unit and integration tests
# again and every fuzz target for ECOACT_FUZZ_SECONDS (default 20) over its
# committed corpus; the same ctest arguments narrow that run too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
build_dir="${BUILD_DIR:-build}"
ctest --test-dir "${build_dir}" --output-on-failure --timeout 300 -j2 --no-tests=error "$@"

# The integration suite again, unchanged, against a Redis Cluster of 3
# primaries per test (tests/support/redis_server.h; docs/testing.md). Each
# test pays about 2 s for the cluster to form. ECOACT_CLUSTER_TESTS=0 skips it.
if [[ "${ECOACT_CLUSTER_TESTS:-1}" != 0 ]]; then
  ECOACT_TEST_REDIS_CLUSTER=1 ctest --test-dir "${build_dir}" --output-on-failure --timeout 300 \
    -j2 --no-tests=ignore -L integration -LE cluster "$@"
fi

if [[ "${ECOACT_SANITIZERS:-1}" == 0 ]]; then exit 0; fi
san_dir="${SAN_BUILD_DIR:-build-san}"
BUILD_DIR="${san_dir}" scripts/build.sh -DECOACT_SANITIZE=ON \
  -DECOACT_FUZZ_SECONDS="${ECOACT_FUZZ_SECONDS:-20}"
# Any UB report is fatal (-fno-sanitize-recover) and shows where it came from.
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:${UBSAN_OPTIONS}}"
rm -f "${san_dir}"/fuzz/*.new.log
ctest --test-dir "${san_dir}" --output-on-failure --timeout 300 -j2 --no-tests=ignore \
  -L 'unit|integration|fuzz' "$@"
for log in "${san_dir}"/fuzz/*.new.log; do
  [[ -e "${log}" ]] || continue
  echo "fuzz: $(basename "${log}" .new.log): $(sed -n 's/^stat::number_of_executed_units: *//p' "${log}") executions, no crash"
done
