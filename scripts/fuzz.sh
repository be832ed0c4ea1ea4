#!/usr/bin/env bash
# A deep fuzz run: builds the fuzz targets in the sanitizer build
# (./build-san, SAN_BUILD_DIR overrides), then runs each for SECONDS
# (default 300) and prints its executions, e.g.
#   scripts/fuzz.sh              every target, 5 minutes each
#   scripts/fuzz.sh 3600 catalog_fuzzer
# Each target starts from its committed corpus (fuzz/corpus/<target>) plus
# what earlier deep runs found (build-san/fuzz/<target>.deep, kept between
# runs). A crash stops that target and leaves the input in
# build-san/fuzz/<target>.deep/crash-*; the script then exits non-zero. To
# keep a found input as a regression test, copy it to
# fuzz/regressions/<target>/ (replayed by ctest as fuzz.<target>.regressions).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-300}"
shift || true
san_dir="${SAN_BUILD_DIR:-build-san}"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=($(sed -n 's/^ecoact_add_fuzzer(\([a-z_]*\) .*/\1/p' fuzz/CMakeLists.txt))
fi

scripts/setup.sh
cmake -S . -B "${san_dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECOACT_SANITIZE=ON >/dev/null
cmake --build "${san_dir}" --parallel "$(nproc)" --target "${targets[@]}"

export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:${UBSAN_OPTIONS}}"
failed=()
summary=()
for target in "${targets[@]}"; do
  found="${san_dir}/fuzz/${target}.deep"
  log="${san_dir}/fuzz/${target}.deep.log"
  mkdir -p "${found}"
  echo "fuzz: ${target} for ${seconds} s (log ${log})"
  status=ok
  "${san_dir}/fuzz/${target}" -max_total_time="${seconds}" -timeout=5 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="${found}/" "${found}" "fuzz/corpus/${target}" \
    >"${log}" 2>&1 || { status=FAILED; failed+=("${target}"); tail -40 "${log}"; }
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)"
  summary+=("$(printf '%-24s %12s executions  %s' "${target}" "${runs:-?}" "${status}")")
done
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: crashes in ${failed[*]}; inputs in ${san_dir}/fuzz/<target>.deep/crash-*" >&2
  exit 1
fi
