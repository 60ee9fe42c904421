#!/usr/bin/env bash
# A long day: `crier serve` on N articles under wrk for MINUTES, with one
# edit a second and one new article every 10 s, sampling its memory and
# open files every 10 s.
#
# usage: bench/soak.sh [N=100000] [MINUTES=30]
#        CRIER=/path/to/crier bench/soak.sh ...   (use that binary, no build)
# needs: wrk, curl, python3 (apt-get install wrk curl); a PNG of the
# samples if matplotlib is installed (pip install matplotlib).
#
# bench/corpus.py writes the corpus to /dev/shm; the server starts on it
# (--debounce-ms 100) and the run begins once its output folder is
# written. wrk: 64 connections, 2 threads, a mix of the combined and
# district feeds (gzip, br, identity), district pages, article pages, and
# a third of the feed requests conditional (If-None-Match with the ETag
# the feed had at the start: 304 until an edit changes it). Every 10 s:
# VmRSS, open file descriptors, and the status counts so far. At the end
# it prints the samples, their growth after the first 5 minutes (goal:
# RSS and descriptors at most +10%), the responses other than 2xx/304
# (goal: none) and the log's warnings and errors (goal: none), and writes
# the samples to $OUT (default bench/soak-samples.csv) and, with
# matplotlib, $OUT.png.
set -euo pipefail
N=${1:-100000}
MINUTES=${2:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=18500
W=/dev/shm/crier-soak
OUT=${OUT:-$ROOT/bench/soak-samples.csv}
if [ -z "${CRIER:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  CRIER=$ROOT/target/release/crier
fi
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "bench/soak.sh needs $tool (apt-get install wrk curl)" >&2; exit 2; }
done
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  echo "something already listens on port $PORT" >&2; exit 2
fi

SERVER= EDITOR= WRK=
cleanup() {
  for p in $EDITOR $WRK $SERVER; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$W" && mkdir -p "$W"
python3 "$ROOT/bench/corpus.py" "$N" "$W/corpus"
cd "$W/corpus"
: >"$W/serve.log"
# The access log is written (its cost is part of the load) but only its
# other lines are kept: 30 minutes of access lines would be gigabytes.
"$CRIER" serve --addr "127.0.0.1:$PORT" --debounce-ms 100 \
  > >(grep --line-buffered -v ' crier::access: ' >"$W/serve.log") 2>&1 &
SERVER=$!
until grep -q "output folder complete" "$W/serve.log"; do
  kill -0 "$SERVER" 2>/dev/null || { cat "$W/serve.log" >&2; exit 1; }
  sleep 1
done
ETAG=$(curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT/rss.xml" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
# (awk reads to the end: `head` would close the pipe early, and under
# pipefail the SIGPIPE of `ls` ends the script silently)
ARTICLES=$(cd content && ls xiaodian | awk 'NR <= 200 { sub(/\.md$/, ""); printf "%s ", $0 }')

# The request mix; wrk counts the answers of status 400 and above.
cat >"$W/mix.lua" <<LUA
local paths = {}
for _, p in ipairs({"/rss.xml", "/atom.xml", "/feed.json", "/xiaodian/rss.xml", "/jiancaoping/atom.xml", "/", "/xiaodian/"}) do
  paths[#paths + 1] = p
end
for a in string.gmatch("$ARTICLES", "%S+") do paths[#paths + 1] = "/xiaodian/" .. a .. ".html" end
local encodings = {"gzip", "br", "identity"}
local n = 0
function request()
  n = n + 1
  if n % 3 == 0 then
    return wrk.format("GET", "/rss.xml", {["Accept-Encoding"] = "gzip", ["If-None-Match"] = '$ETAG'})
  end
  local p = paths[(n * 7919) % #paths + 1]
  return wrk.format("GET", p, {["Accept-Encoding"] = encodings[n % 3 + 1]})
end
function done(summary, latency, requests)
  io.write(string.format("requests %d, errors connect %d read %d write %d timeout %d, non-2xx/3xx %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

# An edit a second, a new article every 10 s (temp file + rename).
cat >"$W/editor.py" <<'PY'
import os, pathlib, random, sys, time
content = pathlib.Path("content")
files = sorted((content / "xiaodian").glob("*.md"))
rng = random.Random(7)
i = 0
while True:
    f = rng.choice(files)
    text = f.read_text("utf-8")
    tmp = f.with_name(".soak.tmp")
    tmp.write_text(text.replace('title = "', f'title = "改{i} ', 1), "utf-8")
    os.replace(tmp, f)
    if i % 10 == 0:
        new = content / "jiancaoping" / f"soak-{i:06d}.md"
        tmp = new.with_name(".soak-new.tmp")
        tmp.write_text(f'+++\ntitle = "新稿 {i}"\ndate = 2026-01-01T08:00:00+08:00\n+++\n\n第{i}篇新稿的正文。\n', "utf-8")
        os.replace(tmp, new)
    i += 1
    time.sleep(1)
PY
python3 "$W/editor.py" &
EDITOR=$!
SECS=$((MINUTES * 60))
wrk -t2 -c64 -d"${SECS}s" --timeout 5s -s "$W/mix.lua" "http://127.0.0.1:$PORT" >"$W/wrk.txt" 2>&1 &
WRK=$!

echo "seconds,rss_mb,open_fds" >"$OUT"
start=$(date +%s)
while kill -0 "$WRK" 2>/dev/null; do
  now=$(( $(date +%s) - start ))
  rss=$(awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$SERVER/status")
  fds=$(ls "/proc/$SERVER/fd" | wc -l)
  echo "$now,$rss,$fds" >>"$OUT"
  sleep 10
done
wait "$WRK" || true
WRK=
kill -TERM "$EDITOR" 2>/dev/null || true

cat "$W/wrk.txt"
python3 - "$OUT" "$W/serve.log" <<'PY'
import csv, sys
rows = [(int(r["seconds"]), float(r["rss_mb"]), int(r["open_fds"])) for r in csv.DictReader(open(sys.argv[1]))]
late = [r for r in rows if r[0] >= 300] or rows
def growth(i):
    base = late[0][i]
    return 100.0 * (max(r[i] for r in late) - base) / base if base else 0.0
print(f"samples: {len(rows)}; RSS {rows[0][1]:.0f} -> {rows[-1][1]:.0f} MB (max {max(r[1] for r in rows):.0f}); fds {rows[0][2]} -> {rows[-1][2]}")
print(f"growth after 5 min: RSS {growth(1):+.1f}%, fds {growth(2):+.1f}% (goal <= +10%)")
bad = [l for l in open(sys.argv[2], errors="replace") if " WARN " in l or " ERROR " in l]
print(f"log warnings and errors: {len(bad)}")
for l in bad[:10]:
    print("  " + l.rstrip())
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([r[0] / 60 for r in rows], [r[1] for r in rows], label="RSS (MB)")
    ax2 = ax.twinx()
    ax2.plot([r[0] / 60 for r in rows], [r[2] for r in rows], color="tab:orange", label="open fds")
    ax.set_xlabel("minutes"); ax.set_ylabel("RSS (MB)"); ax2.set_ylabel("open file descriptors")
    fig.legend(loc="lower right"); fig.tight_layout()
    fig.savefig(sys.argv[1] + ".png")
    print(f"plot: {sys.argv[1]}.png")
except ImportError:
    print("no matplotlib: no plot (pip install matplotlib)")
PY
