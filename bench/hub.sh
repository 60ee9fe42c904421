#!/usr/bin/env bash
# The built-in hub's fan-out: N subscribers (default 10,000) of one feed,
# each a callback of a small Python server here that confirms its
# subscription and counts the deliveries whose X-Hub-Signature checks
# out; then a change to the feed, and the time until every subscriber
# has it. Prints the time, the deliveries (good signatures, twice-made)
# and crier's peak resident memory (VmHWM).
#
# usage: bench/hub.sh [N=10000]
# needs: python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
PORT=18095
CB=18096
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
cp crier.toml "$work/crier.toml"
cp -r content "$work/content"
python3 - "$work/crier.toml" <<'PY'
import sys
p = sys.argv[1]
top, rest = open(p).read().split("\n[", 1)
open(p, "w").write(top + '\nhub = "builtin"\nhub_callbacks = ["127.0.0.1"]\n\n[' + rest)
PY
root=$(pwd)
# exec: the pid is crier's own.
(cd "$work" && RUST_LOG=warn exec "$root/target/release/crier" serve --addr "127.0.0.1:$PORT" \
  --state-dir "$work/state" --no-reader-counts 2>"$work/crier.log") &
echo $! > "$work/crier.pid"
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
python3 - "$N" "$PORT" "$CB" "$work" <<'PY'
import hashlib, hmac, sys, threading, time, urllib.parse, urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

n, port, cb, work = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
topic = "http://127.0.0.1:8080/xiaodian/rss.xml"
secret = b"bench-secret"
lock = threading.Lock()
verified, good, bad, seen = set(), set(), 0, {}

class Callback(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        body = q["hub.challenge"][0].encode()
        with lock: verified.add(self.path.split("?")[0])
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        global bad
        body = self.rfile.read(int(self.headers["Content-Length"]))
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        with lock:
            if self.headers.get("X-Hub-Signature") == want and "基准" in body.decode():
                good.add(self.path); seen[self.path] = seen.get(self.path, 0) + 1
            else:
                bad += 1
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", cb), Callback)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()

def subscribe(i):
    data = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.topic": topic,
        "hub.callback": f"http://127.0.0.1:{cb}/cb/{i}", "hub.secret": secret.decode()}).encode()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/websub", data, timeout=30).read()

t = time.time()
with ThreadPoolExecutor(32) as pool:
    list(pool.map(subscribe, range(n)))
while len(verified) < n and time.time() - t < 300: time.sleep(0.2)
time.sleep(2)
print(f"{len(verified)} subscriptions verified in {time.time() - t:.1f} s")
path = f"{work}/content/xiaodian/2023-01-10.md"
open(path, "a").write("\n基准。\n")
t = time.time()
while len(good) < n and time.time() - t < 120: time.sleep(0.05)
took = time.time() - t
print(f"delivered to {len(good)} of {n} subscribers in {took:.2f} s "
      f"(bad signatures or bodies: {bad}; made twice: {sum(1 for v in seen.values() if v > 1)})")
PY
echo "crier peak memory (VmHWM): $(awk '/VmHWM/{print $2, $3}' "/proc/$(cat "$work/crier.pid")/status")"
