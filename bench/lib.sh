# Shared by bench/h2load.sh, bench/redis_ceiling.sh and bench/rebuild.sh
# (sourced, not run): free loopback ports, a private redis-server and
# ecoact_server, cleanup on exit, and millisecond conversions.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_build=${BUILD_DIR:-$bench_root/build}

# A loopback port nothing listens on now.
bench_free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

bench_wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

bench_need() {
  local binary
  for binary in "$@"; do
    [[ -x $binary ]] || {
      echo "missing $binary: cmake --build $bench_build --target $(basename "$binary")" >&2
      exit 1
    }
  done
}

# What the scripts started, stopped by bench_cleanup (an EXIT trap).
bench_work=""
bench_redis_ports=()
bench_pids=()
bench_cleanup() {
  local pid port
  for pid in "${bench_pids[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  for port in "${bench_redis_ports[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  [[ -n $bench_work ]] && rm -rf "$bench_work"
  return 0
}

bench_workdir() {
  [[ -n $bench_work ]] || bench_work=$(mktemp -d)
}

# bench_start_redis [redis-server options...]: a private redis-server on a
# free port, its data in the work directory; sets bench_redis_port.
bench_start_redis() {
  bench_workdir
  bench_redis_port=$(bench_free_port)
  local dir="$bench_work/redis-$bench_redis_port"
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$bench_redis_port" --dir "$dir" --save "" \
    --daemonize yes --logfile "$dir/redis.log" "$@"
  bench_redis_ports+=("$bench_redis_port")
  bench_wait_port "$bench_redis_port"
}

# bench_start_server REDIS_PORT: ecoact_server as bench/run.sh starts it;
# sets bench_server_port.
bench_start_server() {
  bench_workdir
  bench_server_port=$(bench_free_port)
  "$bench_build/services/allinone/ecoact_server" --listen="127.0.0.1:$bench_server_port" \
    --redis="127.0.0.1:$1" --rate_limits=0 >"$bench_work/server-$bench_server_port.log" 2>&1 &
  bench_pids+=($!)
  bench_wait_port "$bench_server_port"
}

# A duration as h2load prints it ("812us", "1.52ms", "2.01s") in ms.
bench_ms() {
  awk -v t="$1" 'BEGIN {
    if (t ~ /us$/) { sub(/us$/, "", t); printf "%.3f", t / 1000 }
    else if (t ~ /ms$/) { sub(/ms$/, "", t); printf "%.3f", t }
    else if (t ~ /s$/) { sub(/s$/, "", t); printf "%.3f", t * 1000 }
    else printf "null" }'
}

# bench_ratio A B: A / B with three decimals, or null.
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "null";
    else printf "%.3f", a / b }'
}
