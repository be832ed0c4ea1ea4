#!/bin/sh
# Runs one libFuzzer target for a bounded time: run.sh BINARY SECONDS CORPUS SCRATCH.
# The committed CORPUS is only read; inputs the run finds go to SCRATCH, which
# starts empty, and so does a crashing input (SCRATCH/crash-*), whose path
# libFuzzer prints. The output is also kept in SCRATCH.log (scripts/test.sh
# prints the executions from it). Exits non-zero on a crash, leak, UB report
# or an input slower than 5 s.
set -u
binary=$1 seconds=$2 corpus=$3 scratch=$4
rm -rf "${scratch}"
mkdir -p "${scratch}"
"${binary}" -max_total_time="${seconds}" -timeout=5 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="${scratch}/" "${scratch}" "${corpus}" \
  >"${scratch}.log" 2>&1
status=$?
cat "${scratch}.log"
exit "${status}"
