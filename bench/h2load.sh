#!/usr/bin/env bash
# The h2load cross-check (issue 7, docs/benchmarks.md "h2load cross-check"):
# h2load (Debian's nghttp2-client), an HTTP/2 load tool independent of gRPC,
# sends grpc.health.v1.Health/Check - the load generator's noop scenario - to
# ecoact_server at the same concurrency and duration, and its figures are
# printed next to the load generator's noop figures of the same run.
#
#   bench/h2load.sh                          # own redis-server + ecoact_server,
#                                            # loadgen noop, then h2load
#   bench/h2load.sh --server=127.0.0.1:7700 --loadgen_results=FILE.json
#
# Options (--name=value): --server (default: start a private stack),
# --in_flight (32; h2load runs --clients connections with in_flight/clients
# streams each), --clients (16, the load generator's channels), --threads (2),
# --duration (10 s), --warmup (2 s), --loadgen_results (a loadgen results
# file to compare with; default: run the loadgen's noop scenario first),
# --out (write the figures as JSON to this file).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT

server="" in_flight=32 clients=16 threads=2 duration=10 warmup=2 loadgen_results="" out=""
for arg in "$@"; do
  case $arg in
    --server=*) server=${arg#*=} ;;
    --in_flight=*) in_flight=${arg#*=} ;;
    --clients=*) clients=${arg#*=} ;;
    --threads=*) threads=${arg#*=} ;;
    --duration=*) duration=${arg#*=} ;;
    --warmup=*) warmup=${arg#*=} ;;
    --loadgen_results=*) loadgen_results=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "h2load.sh: unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
command -v h2load >/dev/null && command -v nghttp >/dev/null || {
  echo "h2load.sh: h2load and nghttp missing: apt-get install nghttp2-client (scripts/setup.sh)" >&2
  exit 1
}
if [[ -z $server ]]; then
  bench_need "$bench_build/services/allinone/ecoact_server" "$bench_build/bench/loadgen/loadgen"
  bench_start_redis --appendonly yes --appendfsync everysec
  bench_start_server "$bench_redis_port"
  server=127.0.0.1:$bench_server_port
  echo "h2load.sh: redis-server :$bench_redis_port, ecoact_server :$bench_server_port (--rate_limits=0)"
fi
bench_workdir
if [[ -z $loadgen_results ]]; then
  bench_need "$bench_build/bench/loadgen/loadgen"
  loadgen_results=$bench_work/loadgen-noop.json
  "$bench_build/bench/loadgen/loadgen" --server="$server" --suite= --scenario=noop \
    --in_flight="$in_flight" --duration="${duration}s" --warmup="${warmup}s" --out="$loadgen_results"
fi
# The load generator's closed-loop noop run at this concurrency.
loadgen_noop=$(jq -c --argjson n "$in_flight" \
  '[.runs[] | select(.scenario == "noop" and .in_flight == $n)] | first // empty' \
  "$loadgen_results" 2>/dev/null || true)

# The request: HTTP/2 POST, gRPC framing of an empty HealthCheckRequest
# (flag 0, length 0). A SERVING reply is 7 bytes of DATA (5 of framing, the
# 2-byte HealthCheckResponse); a gRPC error is a trailers-only reply with
# HTTP status 200 and no DATA, which h2load would count as a success.
body=$bench_work/health-check.bin
printf '\0\0\0\0\0' >"$body"
url="http://$server/grpc.health.v1.Health/Check"
headers=(-H 'content-type: application/grpc' -H 'te: trailers')

# One call with nghttp to see the trailers: grpc-status must be 0.
status=$(nghttp -v "${headers[@]}" -d "$body" "$url" 2>&1 | grep -a -o 'grpc-status: [0-9]*' |
  head -1 | awk '{print $2}')
if [[ $status != 0 ]]; then
  echo "h2load.sh: Health/Check through nghttp answered grpc-status '${status:-none}', not 0" >&2
  exit 1
fi

streams=$(( (in_flight + clients - 1) / clients ))
h2=(h2load -c "$clients" -m "$streams" -t "$threads" "${headers[@]}" -d "$body")
# A check run of a fixed count, no warm-up: h2load counts HTTP 200 as
# success, so count the DATA bytes too - 7 per call means every call got a
# HealthCheckResponse. (In a timed run with a warm-up, h2load's traffic
# counters include the warm-up, so the timed run cannot be checked this way.)
check=$bench_work/h2load-check.txt
check_calls=20000
"${h2[@]}" -n "$check_calls" "$url" >"$check" 2>&1 || { cat "$check" >&2; exit 1; }
check_ok=$(awk '/^requests:/ {print $8}' "$check")
check_data=$(awk '/^traffic:/ {for (i = 1; i <= NF; i++) if ($(i+1) == "data") {gsub(/[()]/, "", $i); print $i}}' "$check")
bytes_per_reply=$(bench_ratio "$check_data" "$check_ok")
if [[ $check_ok != "$check_calls" || $bytes_per_reply != 7.000 ]]; then
  echo "h2load.sh: check run: $check_ok of $check_calls succeeded, $bytes_per_reply DATA bytes" \
    "per reply (7 = a HealthCheckResponse in each): not every call was a gRPC success" >&2
  cat "$check" >&2
  exit 1
fi

log=$bench_work/h2load.txt
"${h2[@]}" -D "$duration" --warm-up-time="$warmup" "$url" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }

rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$log")
read -r total succeeded failed errored < <(awk '/^requests:/ {print $2, $8, $10, $12}' "$log")
status_2xx=$(awk '/^status codes:/ {print $3}' "$log")
read -r lat_min lat_max lat_mean lat_sd < <(awk '/^time for request:/ {print $4, $5, $6, $7}' "$log")
lat_min=$(bench_ms "$lat_min") lat_max=$(bench_ms "$lat_max")
lat_mean=$(bench_ms "$lat_mean") lat_sd=$(bench_ms "$lat_sd")
lg_rps=$(jq -r '.throughput_per_s // empty' <<<"${loadgen_noop:-null}")
lg_mean=$(jq -r '.latency_ms.mean // empty' <<<"${loadgen_noop:-null}")
lg_p50=$(jq -r '.latency_ms.p50 // empty' <<<"${loadgen_noop:-null}")
lg_p99=$(jq -r '.latency_ms.p99 // empty' <<<"${loadgen_noop:-null}")
ratio=$(bench_ratio "$rps" "$lg_rps")

echo
echo "h2load cross-check: grpc.health.v1.Health/Check, $clients connections x $streams streams" \
  "($((clients * streams)) in flight), $threads threads, ${warmup}s warm-up + ${duration}s"
printf '  %-8s %10s %9s %9s %9s %9s %9s\n' tool "calls/s" "mean ms" "sd ms" "p50 ms" "p99 ms" "max ms"
printf '  %-8s %10.0f %9.3f %9.3f %9s %9s %9.2f\n' h2load "$rps" "$lat_mean" "$lat_sd" - - "$lat_max"
if [[ -n $lg_rps ]]; then
  printf '  %-8s %10.0f %9.3f %9s %9.3f %9.3f %9.2f\n' loadgen "$lg_rps" "$lg_mean" - "$lg_p50" \
    "$lg_p99" "$(jq -r '.latency_ms.max' <<<"$loadgen_noop")"
else
  echo "  loadgen: no closed-loop noop run at $in_flight in flight in $loadgen_results"
fi
echo "  h2load / loadgen: $ratio. h2load: $succeeded of $total succeeded ($failed failed," \
  "$errored errored, $status_2xx HTTP 2xx); gRPC OK checked by nghttp (grpc-status $status)" \
  "and a $check_calls-call run with $bytes_per_reply DATA bytes per reply (7 = a response message)"

if [[ -n $out ]]; then
  jq -n --arg rps "$rps" --arg total "$total" --arg succeeded "$succeeded" --arg failed "$failed" \
    --arg errored "$errored" --arg status_2xx "$status_2xx" --arg bpr "$bytes_per_reply" \
    --arg check_calls "$check_calls" --arg min "$lat_min" --arg max "$lat_max" \
    --arg mean "$lat_mean" --arg sd "$lat_sd" --arg ratio "$ratio" --arg grpc_status "$status" \
    --argjson clients "$clients" --argjson streams "$streams" --argjson threads "$threads" \
    --argjson duration "$duration" --argjson warmup "$warmup" --argjson loadgen "${loadgen_noop:-null}" \
    'def num: if . == "" or . == "null" then null else tonumber end;
     {rpc: "grpc.health.v1.Health/Check", clients: $clients, streams_per_client: $streams,
      in_flight: ($clients * $streams), threads: $threads, duration_s: $duration,
      warmup_s: $warmup, throughput_per_s: ($rps | num), requests: ($total | num),
      succeeded: ($succeeded | num), failed: ($failed | num), errored: ($errored | num),
      http_2xx: ($status_2xx | num), grpc_status_probe: ($grpc_status | num),
      check_run: {calls: ($check_calls | num), data_bytes_per_reply: ($bpr | num)},
      latency_ms: {min: ($min | num), max: ($max | num), mean: ($mean | num), sd: ($sd | num)},
      loadgen_noop: $loadgen, ratio_to_loadgen: ($ratio | num)}' >"$out"
fi
