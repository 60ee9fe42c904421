#!/usr/bin/env bash
# Two crier binaries side by side: `crier build` of one corpus into an
# empty folder on /dev/shm, alternating OLD and NEW, RUNS runs each.
# Prints the median wall time and peak RSS of each and NEW/OLD. For a
# change whose cost must stay within a bound of what it replaces (the
# templated pages against the hand-written ones: at most 10% more).
#
# usage: bench/compare.sh OLD NEW [N=100000] [RUNS=5]
#        PHOTOS=1 bench/compare.sh ...   (a photo beside one article in five)
# e.g.   git worktree add /tmp/old HEAD~3 && (cd /tmp/old && cargo build --release)
#        bench/compare.sh /tmp/old/target/release/crier target/release/crier
set -euo pipefail
OLD=${1:?usage: bench/compare.sh OLD NEW [N] [RUNS]}
NEW=${2:?usage: bench/compare.sh OLD NEW [N] [RUNS]}
N=${3:-100000}
RUNS=${4:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=/dev/shm/crier-compare
for b in "$OLD" "$NEW"; do
  [ -x "$b" ] || { echo "no crier binary at $b" >&2; exit 2; }
done
mkdir -p "$W"
if [ ! -f "$W/corpus-$N-${PHOTOS:-0}/crier.toml" ]; then
  rm -rf "$W"/corpus-*
  python3 "$ROOT/bench/corpus.py" "$N" "$W/corpus-$N-${PHOTOS:-0}" >/dev/null
fi
C=$W/corpus-$N-${PHOTOS:-0}

one() { # binary label
  rm -rf "$W/out"
  /usr/bin/time -f "%e %M" -o "$W/time" "$1" build --config "$C/crier.toml" \
    --content "$C/content" --out "$W/out" >/dev/null 2>&1
  echo "$2 $(cat "$W/time")" >>"$W/runs"
}

: >"$W/runs"
one "$OLD" warm
for _ in $(seq "$RUNS"); do
  one "$OLD" old
  one "$NEW" new
done
rm -rf "$W/out"
python3 - "$W/runs" "$N" "$RUNS" <<'EOF'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1]) if not l.startswith("warm")]
med = lambda label, i: statistics.median(float(r[i]) for r in runs if r[0] == label)
old, new = med("old", 1), med("new", 1)
print(f"crier build, {sys.argv[2]} articles, {sys.argv[3]} runs each, alternating (medians)")
print(f"  old: {old:.2f} s, peak RSS {med('old', 2) / 1024:.0f} MB")
print(f"  new: {new:.2f} s, peak RSS {med('new', 2) / 1024:.0f} MB")
print(f"  new/old: {new / old:.3f}")
EOF
