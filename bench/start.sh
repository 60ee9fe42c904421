#!/usr/bin/env bash
# Start-up benchmark: how long `crier serve` takes to serve a large corpus
# from nothing and from its own complete output, against the time it takes
# just to read the corpus once.
#
# usage: bench/start.sh [N=100000] [RUNS=3]
#        PHOTOS=1 bench/start.sh ...   (a photo beside one article in five: bench/corpus.py)
#        CRIER=/path/to/crier bench/start.sh ...   (use that binary, no build)
#
# bench/corpus.py writes N articles to /dev/shm. Each run, in this order
# (RUNS runs, alternating, medians reported):
#  - floor: `find content -type f -print0 | xargs -0 -P2 cat >/dev/null` in
#    the corpus folder, page cache warm (run once untimed first), wall s;
#  - cold start: feeds/ removed, `crier serve` started; time from the
#    process start until /healthz and /rss.xml both answer 200 (polled
#    every 5 ms), and until the log says the output folder is written (a
#    line with "output folder complete" when the binary has
#    one, else the first "site updated" line); peak RSS (VmHWM) read just
#    before SIGTERM;
#  - restart: serve again over the complete feeds/ it left: the same times
#    and VmHWM;
#  - no-change build: `crier build` into that complete feeds/
#    (/usr/bin/time -f "%e %M").
# Then, on one server, edit latency: 10 of xiaodian's newest articles saved
# one at a time (temp file + rename, the title changed to a unique token);
# time from the rename until GET /xiaodian/rss.xml shows the token, with
# --debounce-ms 100. Prints a table with the goals: cold <= 1.5x floor,
# restart and no-change build <= 0.3x floor, peak RSS <= 300 MB, edit
# latency <= debounce + 30 ms.
set -euo pipefail
N=${1:-100000}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=18300
DEBOUNCE=100
EDITS=10
TIMEOUT=${TIMEOUT:-1800}   # seconds any one wait may take before the script gives up
W=/dev/shm/crier-start
if [ -z "${CRIER:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  CRIER=$ROOT/target/release/crier
fi
[ -x "$CRIER" ] || { echo "no crier binary at $CRIER" >&2; exit 2; }
for tool in python3 curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/start.sh needs $tool (apt-get install curl time)" >&2; exit 2; }
done
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  echo "something already listens on port $PORT" >&2; exit 2
fi

cleanup() {
  local pid
  pid=$(cat "$W/serve.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$W"
mkdir -p "$W"
echo "corpus: $N articles in $W/corpus" >&2
python3 "$ROOT/bench/corpus.py" "$N" "$W/corpus"
C=$W/corpus

# Which line says the output folder is written: "output folder complete"
# (crier serve logs it when its background writing is done), or with an
# older binary the first "site updated".
if grep -a -q -e 'output folder complete' "$CRIER"; then
  WRITTEN_RE='output folder complete'
else
  WRITTEN_RE='site updated'
fi
echo "written = first log line matching: $WRITTEN_RE" >&2

# serve.py MODE RESULT LOG [extra serve args]: starts `crier serve` itself
# (so the clock starts with the process), writes its pid to $W/serve.pid.
#  MODE start: appends "ready_s written_s hwm_mb" to RESULT, then SIGTERM.
#  MODE edit: waits until written, then appends one latency in ms per edit.
cat >"$W/serve.py" <<'PY'
import http.client, os, pathlib, re, signal, subprocess, sys, time

mode, result, log = sys.argv[1], sys.argv[2], sys.argv[3]
crier, corpus, port, debounce, timeout, written_re, edits, pidfile = (
    os.environ[k] for k in ("CRIER", "C", "PORT", "DEBOUNCE", "TIMEOUT", "WRITTEN_RE", "EDITS", "PIDFILE"))
port, timeout, edits = int(port), float(timeout), int(edits)
written_re = re.compile(written_re)

def get(path):
    """Status and body of GET path on a fresh connection, None if refused."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    except OSError:
        return None, b""
    finally:
        c.close()

def hwm_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

class Log:
    """The server's log, read incrementally (access lines make it grow at
    every poll): whether the written line came, how many "site updated"."""
    def __init__(self):
        self.f, self.rest, self.tail = open(log, "rb"), b"", []
        self.written, self.updates = False, 0
    def poll(self):
        data = self.rest + self.f.read()
        lines = data.split(b"\n")
        self.rest = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if "crier::access" in line:
                continue
            self.tail = (self.tail + [line])[-20:]
            self.written |= bool(written_re.search(line))
            self.updates += "site updated" in line
        return self

with open(log, "w") as err:
    t0 = time.perf_counter()
    p = subprocess.Popen([crier, "serve", "--config", f"{corpus}/crier.toml", "--content", f"{corpus}/content",
                          "--out", f"{corpus}/feeds", "--addr", f"127.0.0.1:{port}", "--debounce-ms", debounce],
                         stdout=subprocess.DEVNULL, stderr=err)
pathlib.Path(pidfile).write_text(str(p.pid))
server_log = Log()

def check(what):
    if p.poll() is not None:
        sys.exit(f"crier serve exited ({p.returncode}) while waiting for {what}; log:\n" + "\n".join(server_log.poll().tail))
    if time.perf_counter() - t0 > timeout:
        p.terminate()
        sys.exit(f"gave up waiting {timeout:.0f} s for {what}")

try:
    ready = written = None
    while ready is None or written is None:
        if written is None and server_log.poll().written:
            written = time.perf_counter() - t0
        if ready is None and get("/healthz")[0] == 200 and get("/rss.xml")[0] == 200:
            ready = time.perf_counter() - t0
        check("/healthz + /rss.xml 200" if ready is None else "the written log line")
        time.sleep(0.005)
    if mode == "start":
        hwm = hwm_mb(p.pid)
        with open(result, "a") as f:
            f.write(f"{ready:.3f} {written:.3f} {hwm:.1f}\n")
    else:
        folder = pathlib.Path(corpus) / "content" / "xiaodian"
        newest = sorted(folder.glob("*.md"))[-edits:]
        updated = lambda: server_log.poll().updates
        for i, art in enumerate(newest):
            text = art.read_text("utf-8")
            token = f"编辑{i}x{time.time_ns()}"
            new, n = re.subn(r'^title = "', f'title = "{token} ', text, count=1, flags=re.M)
            assert n == 1, f"no title line in {art}"
            before = updated()
            tmp = folder / f".{art.name}.tmp"
            tmp.write_text(new, "utf-8")
            t = time.perf_counter()
            os.rename(tmp, art)
            while token.encode() not in get("/xiaodian/rss.xml")[1]:
                check(f"token {token} in /xiaodian/rss.xml")
                time.sleep(0.002)
            ms = (time.perf_counter() - t) * 1000
            with open(result, "a") as f:
                f.write(f"{ms:.1f}\n")
            # Let this update finish (written too) before the next save.
            while updated() <= before:
                check("site updated after an edit")
                time.sleep(0.005)
            time.sleep(0.2)
finally:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    pathlib.Path(pidfile).unlink(missing_ok=True)
PY
export CRIER C PORT DEBOUNCE TIMEOUT WRITTEN_RE EDITS PIDFILE=$W/serve.pid

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { awk -v c="$1" '{print $c}' "$2" | median; }
now() { date +%s.%N; }

: >"$W/floor.t"
: >"$W/cold.t"
: >"$W/restart.t"
: >"$W/build.t"
: >"$W/edit.t"
(cd "$C" && find content -type f -print0 | xargs -0 -P2 cat >/dev/null)   # warm the page cache
for run in $(seq "$RUNS"); do
  t=$(now)
  (cd "$C" && find content -type f -print0 | xargs -0 -P2 cat >/dev/null)
  echo "$(now) $t" | awk '{printf "%.3f\n", $1 - $2}' >>"$W/floor.t"

  rm -rf "$C/feeds"
  python3 "$W/serve.py" start "$W/cold.t" "$W/cold.log"
  python3 "$W/serve.py" start "$W/restart.t" "$W/restart.log"

  /usr/bin/time -f "%e %M" -o "$W/build.one" "$CRIER" build --config "$C/crier.toml" --content "$C/content" \
    --out "$C/feeds" >"$W/build.log" 2>&1 || { cat "$W/build.log" >&2; exit 1; }
  cat "$W/build.one" >>"$W/build.t"
  echo "run $run/$RUNS: floor $(tail -1 "$W/floor.t") s; cold (ready written MB) $(tail -1 "$W/cold.t");" \
    "restart $(tail -1 "$W/restart.t"); no-change build (s KB) $(tail -1 "$W/build.t")" >&2
done
echo "  cold start log:   $(grep -E "$WRITTEN_RE" "$W/cold.log" | head -1 | cut -c1-220)" >&2
echo "  restart log:      $(grep -E "$WRITTEN_RE" "$W/restart.log" | head -1 | cut -c1-220)" >&2
echo "  no-change build:  $(tail -1 "$W/build.log" | cut -c1-220)" >&2

python3 "$W/serve.py" edit "$W/edit.t" "$W/edit.log"
echo "edit latencies (ms): $(tr '\n' ' ' <"$W/edit.t")" >&2

floor=$(col 1 "$W/floor.t")
cold=$(col 1 "$W/cold.t")
coldw=$(col 2 "$W/cold.t")
coldm=$(col 3 "$W/cold.t")
rest=$(col 1 "$W/restart.t")
restw=$(col 2 "$W/restart.t")
restm=$(col 3 "$W/restart.t")
build=$(col 1 "$W/build.t")
buildm=$(awk '{print $2 / 1024}' "$W/build.t" | median)
edit=$(col 1 "$W/edit.t")

echo
echo "crier start-up, $N articles, $RUNS runs (medians), binary $CRIER"
awk -v f="$floor" -v c="$cold" -v cw="$coldw" -v cm="$coldm" -v r="$rest" -v rw="$restw" -v rm="$restm" \
  -v b="$build" -v bm="$buildm" -v e="$edit" -v d="$DEBOUNCE" -v wre="$WRITTEN_RE" 'BEGIN {
  printf "| figure | value | x floor | goal |\n| --- | --- | --- | --- |\n"
  printf "| floor: read the corpus (find, xargs -P2 cat) | %.3f s | 1.00 | |\n", f
  printf "| cold start: /healthz + /rss.xml 200 | %.3f s | %.2f | <= 1.5x %s |\n", c, c / f, (c / f <= 1.5) ? "ok" : "MISSED"
  printf "| cold start: written (\"%s\") | %.3f s | %.2f | |\n", wre, cw, cw / f
  printf "| restart: /healthz + /rss.xml 200 | %.3f s | %.2f | <= 0.3x %s |\n", r, r / f, (r / f <= 0.3) ? "ok" : "MISSED"
  printf "| restart: written | %.3f s | %.2f | |\n", rw, rw / f
  printf "| no-change build | %.3f s | %.2f | <= 0.3x %s |\n", b, b / f, (b / f <= 0.3) ? "ok" : "MISSED"
  printf "| peak RSS, cold start | %.0f MB | | <= 300 MB %s |\n", cm, (cm <= 300) ? "ok" : "MISSED"
  printf "| peak RSS, restart | %.0f MB | | <= 300 MB %s |\n", rm, (rm <= 300) ? "ok" : "MISSED"
  printf "| peak RSS, no-change build | %.0f MB | | |\n", bm
  printf "| edit latency (debounce %d ms) | %.0f ms | | <= %d ms %s |\n", d, e, d + 30, (e <= d + 30) ? "ok" : "MISSED"
}'
