#!/usr/bin/env bash
# Live-update benchmark: for each corpus size, starts `crier serve` on a
# generated corpus (bench/corpus.py, in /dev/shm), then saves one article
# at a time (temp file + rename, as editors do) and measures
#  - change-to-served latency: from the rename until GET /xiaodian/rss.xml
#    shows the new title (debounce window included), and
#  - incremental rebuild time, from crier's own "site updated" log line:
#    until the new site is served (read, render, compress, swap) and until
#    feeds/ is written too.
# Prints the median of each per size.
#
# usage: bench/watch.sh [sizes="1000 100000"] [changes=15] [debounce_ms=100]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-"1000 100000"}
CHANGES=${2:-15}
DEBOUNCE=${3:-100}
PORT=18200
cargo build --release --quiet
printf "%-8s %-14s %-30s %-28s %-12s %s\n" articles "first build" "latency median" "rebuild: served / written" "files read" "serve RSS"
for n in $SIZES; do
  dir=/dev/shm/crier-watch-$n
  python3 bench/corpus.py "$n" "$dir"
  ./target/release/crier serve --config "$dir/crier.toml" --content "$dir/content" --out "$dir/feeds" \
    --addr 127.0.0.1:$PORT --debounce-ms "$DEBOUNCE" 2>"$dir/log" &
  pid=$!
  started=$(date +%s.%N)
  until grep -q "site updated" "$dir/log" 2>/dev/null; do sleep 0.2; done
  first=$(echo "$(date +%s.%N) - $started" | bc)
  latency=$(python3 - "$dir" "$PORT" "$CHANGES" <<'PY'
import http.client, os, pathlib, statistics, sys, time
d, port, changes = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
folder = d / "content" / "xiaodian"
newest = sorted(folder.iterdir())[-1]
text = newest.read_text("utf-8")
conn = http.client.HTTPConnection("127.0.0.1", port)
def feed():
    conn.request("GET", "/xiaodian/rss.xml")
    return conn.getresponse().read().decode()
times = []
for i in range(changes):
    token = f"改动{i}-{time.time_ns()}"
    new = text.replace('title = "', f'title = "{token}', 1)
    tmp = folder / f".{newest.name}.tmp"
    tmp.write_text(new, "utf-8")
    t0 = time.perf_counter()
    os.rename(tmp, newest)
    while token not in feed():
        time.sleep(0.002)
    times.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.3)
print(f"{statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f})")
PY
)
  sleep 0.5
  med() { sort -g | awk '{a[NR]=$1} END{printf "%.1f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  updates=$(grep "site updated files_read=" "$dir/log" | tail -n +2)
  rebuild="$(echo "$updates" | grep -o " served_ms=[0-9.]*" | cut -d= -f2 | med) / $(echo "$updates" | grep -o " millis=[0-9.]*" | cut -d= -f2 | med) ms"
  files=$(grep "site updated files_read=" "$dir/log" | tail -n +2 | grep -o "files_read=[0-9]*" | cut -d= -f2 | sort -u | tr '\n' ' ')
  rss=$(awk '/VmHWM/{printf "%.0f MB", $2/1024}' /proc/$pid/status)
  kill -TERM $pid; wait $pid || true
  printf "%-8s %-14s %-30s %-28s %-12s %s\n" "$n" "$(printf %.1f "$first") s" "$latency" "$rebuild" "$files" "$rss"
  rm -rf "$dir"
done
