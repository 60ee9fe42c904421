#!/usr/bin/env bash
# Memory of counting readers: `crier serve` on the sample, then N fetches
# of /rss.xml each with a User-Agent of its own (N distinct direct
# readers, by wrk and a Lua script); prints crier's resident memory
# before, after (the new readers' hashes also waiting to be written) and
# once they are written to the database (SQLite, in a temp state folder,
# every 20 s here), and what /metrics counts then.
#
# usage: bench/readers.sh [N=100000]
# needs: wrk (apt-get install wrk), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
PORT=18090
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench/readers.sh needs $tool" >&2; exit 2; }
done
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $(cat "$work"/crier.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
RUST_LOG=warn ./target/release/crier serve --out "$work/feeds" --addr "127.0.0.1:$PORT" \
  --state-dir "$work/state" --reader-flush-seconds 20 2>"$work/crier.log" &
echo $! > "$work/crier.pid"
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
rss() { awk '/VmRSS/{print $2}' "/proc/$(cat "$work/crier.pid")/status"; }
# Warm: the feed's set exists, the first allocations are made.
curl -sf -A warm "http://127.0.0.1:$PORT/rss.xml" >/dev/null
before=$(rss)
cat > "$work/readers.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  if n > $N then wrk.thread:stop() end
  return wrk.format(nil, nil, { ["User-Agent"] = "reader/" .. n })
end
LUA
# One thread, so the N User-Agents are N distinct ones.
wrk -t1 -c16 -d120s -s "$work/readers.lua" "http://127.0.0.1:$PORT/rss.xml" >/dev/null
after=$(rss)
direct=0
for _ in $(seq 120); do
  direct=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/crier_feed_subscribers\{feed="\/rss.xml",source="direct"\}/{print $2}')
  [ "${direct:-0}" -gt "$N" ] && break
  sleep 1
done
written=$(rss)
echo "direct readers counted on /rss.xml: $direct ($N + 1 asked for; wrk's open connections may send a few more)"
echo "crier VmRSS: $before KB before, $after KB after ($((after - before)) KB for the readers, with their hashes waiting to be written), $written KB once written ($((written - before)) KB)"
