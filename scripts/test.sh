#!/usr/bin/env bash
# Builds, then runs the test suite. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L unit          only the unit tests
#   scripts/test.sh -R Leaderboard   tests whose name matches
# Exits non-zero if a test fails, or if the selection matches no test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
build_dir="${BUILD_DIR:-build}"
ctest --test-dir "${build_dir}" --output-on-failure --timeout 300 -j2 --no-tests=error "$@"
