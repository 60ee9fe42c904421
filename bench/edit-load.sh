#!/usr/bin/env bash
# Serving under edits: /rss.xml throughput and tail latency while editors
# keep saving articles, against the same server idle.
#
# usage: bench/edit-load.sh [N=100000]
#        CRIER=/path/to/crier bench/edit-load.sh ...   (use that binary, no build)
# needs: wrk, curl, python3 (apt-get install wrk curl).
#
# bench/corpus.py writes N articles to /dev/shm; one `crier serve`
# (--debounce-ms 100) starts on it and the benchmark waits until it serves
# (/healthz 200) and has written its output (an "output folder
# complete" log line when the binary has one, else the first
# "site updated"). Then wrk on /rss.xml with Accept-Encoding: gzip, 64
# connections, 2 threads, 10 s, --latency: once idle, once while a
# background script saves 10 articles a second (temp file + rename in the
# same folder; each picked uniformly from all districts and ages; each
# save changes the title or appends a line to the body). The pair runs 3
# times, alternating; prints the medians of requests/s and p99 latency,
# idle and under edits, and the ratios edits/idle (goals: requests/s ratio
# >= 0.8, p99 ratio <= 2).
set -euo pipefail
N=${1:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=18400
DEBOUNCE=100
PAIRS=3
SECS=10
CONNS=64
THREADS=2
RATE=10                    # saves per second during the edit runs
TIMEOUT=${TIMEOUT:-1800}   # seconds to wait for the server's first build
W=/dev/shm/crier-edit-load
if [ -z "${CRIER:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  CRIER=$ROOT/target/release/crier
fi
[ -x "$CRIER" ] || { echo "no crier binary at $CRIER" >&2; exit 2; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "bench/edit-load.sh needs $tool (apt-get install wrk curl)" >&2; exit 2; }
done
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  echo "something already listens on port $PORT" >&2; exit 2
fi

SERVER=
EDITOR_PID=
cleanup() {
  if [ -n "$EDITOR_PID" ]; then kill -TERM "$EDITOR_PID" 2>/dev/null || true; wait "$EDITOR_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$W"
mkdir -p "$W"
echo "corpus: $N articles in $W/corpus" >&2
python3 "$ROOT/bench/corpus.py" "$N" "$W/corpus"
C=$W/corpus

if grep -a -q -e 'output folder complete' "$CRIER"; then
  WRITTEN_RE='output folder complete'
else
  WRITTEN_RE='site updated'
fi

"$CRIER" serve --config "$C/crier.toml" --content "$C/content" --out "$C/feeds" \
  --addr "127.0.0.1:$PORT" --debounce-ms "$DEBOUNCE" 2>"$W/serve.log" &
SERVER=$!
started=$(date +%s.%N)
ready=
until [ -n "$ready" ] && grep -q -E "$WRITTEN_RE" "$W/serve.log"; do
  kill -0 "$SERVER" 2>/dev/null || { echo "crier serve exited; log:" >&2; tail -20 "$W/serve.log" >&2; exit 1; }
  if [ -z "$ready" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; then
    ready=$(echo "$(date +%s.%N) - $started" | bc)
  fi
  [ "$(echo "$(date +%s.%N) - $started > $TIMEOUT" | bc)" = 0 ] || { echo "gave up after $TIMEOUT s" >&2; exit 1; }
  sleep 0.05
done
echo "serving after $(printf %.2f "$ready") s, written (\"$WRITTEN_RE\") after $(printf %.2f "$(echo "$(date +%s.%N) - $started" | bc)") s" >&2
enc=$(curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT/rss.xml" | tr -d '\r' |
  awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
echo "/rss.xml with Accept-Encoding: gzip answers Content-Encoding: ${enc:-none}" >&2

# editor.py CONTENT RATE READY: lists the articles, creates READY, then
# saves RATE articles a second until SIGTERM and prints how many it saved
# in how many seconds.
cat >"$W/editor.py" <<'PY'
import os, pathlib, random, re, signal, sys, time
content, rate, ready = pathlib.Path(sys.argv[1]), float(sys.argv[2]), pathlib.Path(sys.argv[3])
files = sorted(content.glob("*/*.md"))
ready.touch()
rng = random.Random()
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
saved, start = 0, time.monotonic()
while not stop:
    art = rng.choice(files)
    text = art.read_text("utf-8")
    token = f"{os.getpid()}-{saved}-{time.time_ns()}"
    if rng.random() < 0.5:
        text = re.sub(r'^title = "[^"\n]*"', f'title = "改稿 {token}"', text, count=1, flags=re.M)
    else:
        text = text.rstrip("\n") + f"\n\n补充 {token}。\n"
    tmp = art.parent / f".{art.name}.{os.getpid()}.tmp"
    tmp.write_text(text, "utf-8")
    os.rename(tmp, art)
    saved += 1
    delay = start + saved / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(saved, f"{time.monotonic() - start:.1f}")
PY

# wrk_run NAME: one wrk run; appends "requests/s p99_ms" to $W/NAME.t.
wrk_run() {
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -H 'Accept-Encoding: gzip' \
    "http://127.0.0.1:$PORT/rss.xml" >"$W/wrk.out"
  awk '
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                  p99 = v * (u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 0) }
    /Non-2xx|Socket errors/ { err = err " " $0 }
    END { printf "%s %s\n", rps, p99; if (err != "") print "wrk:" err > "/dev/stderr" }
  ' "$W/wrk.out" >>"$W/$1.t"
}

: >"$W/idle.t"
: >"$W/edits.t"
for pair in $(seq "$PAIRS"); do
  wrk_run idle
  before=$(grep -c -F "site updated" "$W/serve.log" || true)
  rm -f "$W/editor.ready"
  python3 "$W/editor.py" "$C/content" "$RATE" "$W/editor.ready" >"$W/editor.out" &
  EDITOR_PID=$!
  until [ -e "$W/editor.ready" ]; do
    kill -0 "$EDITOR_PID" 2>/dev/null || { echo "editor.py failed" >&2; exit 1; }
    sleep 0.01
  done
  wrk_run edits
  kill -TERM "$EDITOR_PID"
  wait "$EDITOR_PID"
  EDITOR_PID=
  after=$(grep -c -F "site updated" "$W/serve.log" || true)
  echo "pair $pair/$PAIRS: idle (req/s p99 ms) $(tail -1 "$W/idle.t"); edits $(tail -1 "$W/edits.t");" \
    "$(cut -d' ' -f1 "$W/editor.out") saves in $(cut -d' ' -f2 "$W/editor.out") s, $((after - before)) site updates" >&2
  sleep 1   # the last saves' update settles before the next idle run
done
echo "  last update: $(grep "site updated" "$W/serve.log" | tail -1 | cut -c1-220)" >&2
errors=$(grep -c -E " (ERROR|WARN) " "$W/serve.log" || true)
[ "$errors" = 0 ] || { echo "  server logged $errors warnings/errors, e.g.:" >&2; grep -E " (ERROR|WARN) " "$W/serve.log" | head -3 >&2; }

kill -TERM "$SERVER"
wait "$SERVER" || true
SERVER=

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { awk -v c="$1" '{print $c}' "$2" | median; }
ir=$(col 1 "$W/idle.t")
ip=$(col 2 "$W/idle.t")
er=$(col 1 "$W/edits.t")
ep=$(col 2 "$W/edits.t")
echo
echo "crier /rss.xml (gzip) under edits, $N articles: wrk $THREADS threads, $CONNS connections, ${SECS} s, $PAIRS pairs (medians); $RATE saves/s, debounce $DEBOUNCE ms"
awk -v ir="$ir" -v ip="$ip" -v er="$er" -v ep="$ep" 'BEGIN {
  printf "| | idle | during edits | ratio edits/idle | goal |\n| --- | --- | --- | --- | --- |\n"
  printf "| requests/s | %.0f | %.0f | %.2f | >= 0.8 %s |\n", ir, er, er / ir, (er / ir >= 0.8) ? "ok" : "MISSED"
  printf "| p99 latency | %.2f ms | %.2f ms | %.2f | <= 2 %s |\n", ip, ep, ep / ip, (ep / ip <= 2) ? "ok" : "MISSED"
}'
