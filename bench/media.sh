#!/usr/bin/env bash
# Media benchmark: a 5 MB photo served to 64 clients by crier (from the
# file, a piece at a time) and by nginx (sendfile) from the same feeds/
# tree, in alternating runs; prints the median MB/s of each, their ratio,
# and crier's peak memory (VmHWM) after the runs, with 1 GB of media in
# the content folder (200 files of 5 MB) so that the memory figure shows
# files are not held.
#
# usage: bench/media.sh [runs=5] [seconds=8] [connections=64]
# needs: nginx, wrk, curl (apt-get install nginx wrk curl), a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SECS=${2:-8}
CONNS=${3:-64}
THREADS=$(nproc)
CRIER_PORT=18090
NGINX_PORT=18091
FILES=${FILES:-200}

for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench/media.sh needs $tool (apt-get install nginx wrk curl)" >&2; exit 2; }
done
cargo build --release --quiet
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers run as www-data
trap 'kill $(cat "$work"/crier.pid 2>/dev/null) 2>/dev/null || true; nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

cp -r content crier.toml "$work/"
mkdir -p "$work/content/xiaodian"
# Random bytes: a photo does not compress either.
head -c 5000000 /dev/urandom > "$work/content/xiaodian/photo.jpg"
for i in $(seq 2 "$FILES"); do
  cp "$work/content/xiaodian/photo.jpg" "$work/content/xiaodian/photo-$i.jpg"
done
(cd "$work" && "$OLDPWD/target/release/crier" build --out "$work/feeds" >/dev/null)

cat > "$work/nginx.conf" <<NGINX
worker_processes $THREADS;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log $work/nginx-access.log combined buffer=64k flush=1s;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { image/jpeg jpg; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $work/feeds;
    etag on;
  }
}
NGINX
nginx -c "$work/nginx.conf"

(cd "$work" && exec "$OLDPWD/target/release/crier" serve --threads "$THREADS" --out "$work/served" \
  --addr "127.0.0.1:$CRIER_PORT" 2>"$work/crier.log") &
echo $! > "$work/crier.pid"
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$CRIER_PORT/healthz" >/dev/null && break
  sleep 0.1
done
for port in $CRIER_PORT $NGINX_PORT; do
  got=$(curl -s "http://127.0.0.1:$port/xiaodian/photo.jpg" | cmp - "$work/content/xiaodian/photo.jpg" && echo same)
  [ "$got" = same ] || { echo "port $port does not serve the photo whole" >&2; exit 1; }
done

mbs() { # url: MB/s over the run
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$1" | awk '/Transfer\/sec/{
    v=$2; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2)+0
    if (u=="GB") n*=1024; else if (u=="KB") n/=1024; print n }'
}
declare -A results
for run in $(seq "$RUNS"); do
  results[crier]+="$(mbs "http://127.0.0.1:$CRIER_PORT/xiaodian/photo.jpg") "
  results[nginx]+="$(mbs "http://127.0.0.1:$NGINX_PORT/xiaodian/photo.jpg") "
  echo "run $run/$RUNS done" >&2
done
hwm=$(awk '/^VmHWM:/{print int($2/1024)}' "/proc/$(cat "$work/crier.pid")/status")

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
c=$(echo "${results[crier]}" | median)
n=$(echo "${results[nginx]}" | median)
echo "wrk: $THREADS threads, $CONNS connections, ${SECS}s x $RUNS runs, alternating; a 5 MB photo; $FILES media files ($((FILES * 5)) MB) in content/"
awk -v c="$c" -v n="$n" -v cr="${results[crier]}" -v nr="${results[nginx]}" 'BEGIN{
  printf "crier %.0f MB/s, nginx %.0f MB/s, ratio crier/nginx %.2fx\n    crier runs: %s\n    nginx runs: %s\n", c, n, c/n, cr, nr }'
echo "crier peak RSS (VmHWM): $hwm MB"
