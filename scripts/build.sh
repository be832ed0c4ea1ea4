#!/usr/bin/env bash
# Installs the dependencies if needed, then configures and builds everything
# (services, CLI, tests) in ./build. BUILD_DIR overrides the directory; extra
# arguments go to cmake's configure step (scripts/test.sh passes
# -DECOACT_SANITIZE=ON for ./build-san).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "${build_dir}" --parallel "$(nproc)"
