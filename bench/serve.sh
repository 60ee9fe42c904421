#!/usr/bin/env bash
# Serving benchmark: crier against nginx serving the same feeds/ tree with
# gzip_static, for a gzip 200 and a 304 on /rss.xml. Runs alternate between
# the two servers; prints the median requests/second of each and the
# crier/nginx ratio. Goal: ratio >= 1.0 for both, with crier counting each
# feed's readers (docs/readers.md); a second crier with
# --no-reader-counts runs alongside, and counting's cost is their ratio.
#
# usage: bench/serve.sh [runs=5] [seconds=8] [connections=64]
# needs: nginx, wrk (apt-get install nginx wrk), a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SECS=${2:-8}
CONNS=${3:-64}
THREADS=$(nproc)
CRIER_PORT=18080
NGINX_PORT=18081
QUIET_PORT=18082

for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench/serve.sh needs $tool (apt-get install nginx wrk curl)" >&2; exit 2; }
done
cargo build --release --quiet
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers run as www-data
trap 'kill $(cat "$work"/crier.pid "$work"/quiet.pid 2>/dev/null) 2>/dev/null || true; nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

./target/release/crier build --out "$work/feeds" >/dev/null

cat > "$work/nginx.conf" <<NGINX
worker_processes $THREADS;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  # Buffered, as crier buffers its access log.
  access_log $work/nginx-access.log combined buffer=64k flush=1s;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/rss+xml xml; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $work/feeds;
    gzip_static on;
    etag on;
  }
}
NGINX
nginx -c "$work/nginx.conf"

# crier with as many server threads as nginx has workers (its default
# is one per core), its access log going to a file like nginx's.
# The counting one keeps its counts in SQLite in a temp state folder,
# written every minute as by default.
./target/release/crier serve --threads "$THREADS" --out "$work/served" \
  --state-dir "$work/state" --addr "127.0.0.1:$CRIER_PORT" 2>"$work/crier.log" &
echo $! > "$work/crier.pid"
./target/release/crier serve --threads "$THREADS" --out "$work/quiet" --no-reader-counts \
  --addr "127.0.0.1:$QUIET_PORT" 2>"$work/quiet.log" &
echo $! > "$work/quiet.pid"
for port in $CRIER_PORT $QUIET_PORT; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
done

etag() { curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}'; }
CRIER_ETAG=$(etag "http://127.0.0.1:$CRIER_PORT/rss.xml")
NGINX_ETAG=$(etag "http://127.0.0.1:$NGINX_PORT/rss.xml")
for port in $CRIER_PORT $NGINX_PORT; do
  enc=$(curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/rss.xml" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
  [ "$enc" = gzip ] || { echo "port $port does not serve gzip" >&2; exit 1; }
done

rps() { # url, extra header
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -H 'Accept-Encoding: gzip' -H "$2" "$1" \
    | awk '/Requests\/sec/{print $2}'
}
check_status() { # url, extra header, expected status
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "$2" "$1")
  [ "$got" = "$3" ] || { echo "$1 with '$2' answered $got, expected $3" >&2; exit 1; }
}
check_status "http://127.0.0.1:$CRIER_PORT/rss.xml" "If-None-Match: $CRIER_ETAG" 304
check_status "http://127.0.0.1:$NGINX_PORT/rss.xml" "If-None-Match: $NGINX_ETAG" 304

declare -A results
for run in $(seq "$RUNS"); do
  results[crier200]+="$(rps "http://127.0.0.1:$CRIER_PORT/rss.xml" 'X-Bench: 200') "
  results[nginx200]+="$(rps "http://127.0.0.1:$NGINX_PORT/rss.xml" 'X-Bench: 200') "
  results[quiet200]+="$(rps "http://127.0.0.1:$QUIET_PORT/rss.xml" 'X-Bench: 200') "
  results[crier304]+="$(rps "http://127.0.0.1:$CRIER_PORT/rss.xml" "If-None-Match: $CRIER_ETAG") "
  results[nginx304]+="$(rps "http://127.0.0.1:$NGINX_PORT/rss.xml" "If-None-Match: $NGINX_ETAG") "
  results[quiet304]+="$(rps "http://127.0.0.1:$QUIET_PORT/rss.xml" "If-None-Match: $CRIER_ETAG") "
  echo "run $run/$RUNS done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "wrk: $THREADS threads, $CONNS connections, ${SECS}s x $RUNS runs, alternating; nginx $THREADS workers, crier $THREADS threads"
for kind in 200 304; do
  c=$(echo "${results[crier$kind]}" | median)
  n=$(echo "${results[nginx$kind]}" | median)
  q=$(echo "${results[quiet$kind]}" | median)
  awk -v k="$kind" -v c="$c" -v n="$n" -v q="$q" -v cr="${results[crier$kind]}" -v nr="${results[nginx$kind]}" -v qr="${results[quiet$kind]}" 'BEGIN{
    printf "%s /rss.xml (gzip): crier %.0f req/s, nginx %.0f req/s, ratio crier/nginx %.2fx\n", k, c, n, c/n
    printf "    crier without counting readers %.0f req/s: counting on/off %.3fx, off/nginx %.2fx\n", q, c/q, q/n
    printf "    crier runs: %s\n    nginx runs: %s\n    quiet runs: %s\n", cr, nr, qr }'
done
