#!/usr/bin/env bash
# crier build against Hugo on the same corpus, and crier's rebuilds on disk.
#
# usage: bench/build.sh [SIZES] [RUNS]      e.g. bench/build.sh "1000 10000 100000" 3
#        PHOTOS=1 bench/build.sh ...   (a photo beside one article in five: bench/corpus.py)
#
# For each size: bench/corpus.py writes the corpus to /dev/shm; Hugo (from
# Debian, `apt-get install hugo`) and `crier build` each build it RUNS
# times, alternating, into an empty folder on /dev/shm (creating 100,000
# small files on these disks takes 8 to 40 s and varies too much to compare
# generators). Prints the median wall time and peak RSS of each and the
# ratios crier/Hugo. Then, with the corpus and the output on disk
# ($DISK, default /var/tmp/crier-bench): crier's full build, a rebuild with
# nothing changed, and a rebuild after the newest article changed (medians;
# DISK=none skips them).
#
# Hugo's site: HTML and RSS for the home page and the sections, HTML for
# pages, services.rss.limit = 50, tiny layouts listing 50 headlines (as
# crier's index pages do), and, as crier makes topics, sitemaps and
# robots.txt, a page and an RSS feed per tag, the sitemap and robots.txt.
# HUGO_KINDS=basic leaves those out (the site of issue 12's figures, made
# before crier had topics and sitemaps).
set -euo pipefail

SIZES=${1:-"1000 10000 100000"}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHM=/dev/shm/crier-bench
DISK=${DISK:-/var/tmp/crier-bench}
CRIER=$ROOT/target/release/crier

command -v hugo >/dev/null || { echo "hugo not found: apt-get install hugo" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 2; }
(cd "$ROOT" && cargo build --release --quiet)

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# measure OUTFILE CMD...: appends "seconds kilobytes" of one run.
measure() {
    local out=$1
    shift
    /usr/bin/time -f "%e %M" -o "$out.one" "$@" >"$out.log" 2>"$out.err" || {
        cat "$out.err" >&2
        exit 1
    }
    cat "$out.one" >>"$out"
}

hugo_site() {
    local site=$1 content=$2
    rm -rf "$site"
    mkdir -p "$site/layouts/_default"
    ln -s "$content" "$site/content"
    local disabled='["404"]'
    [ "${HUGO_KINDS:-all}" = basic ] && disabled='["taxonomy", "term", "sitemap", "robotsTXT", "404"]'
    cat >"$site/hugo.toml" <<EOF
baseURL = "https://news.example.cn/"
languageCode = "zh-CN"
title = "太原新闻"
enableRobotsTXT = true
disableKinds = $disabled
[taxonomies]
tag = "tags"
[outputs]
home = ["HTML", "RSS"]
section = ["HTML", "RSS"]
page = ["HTML"]
taxonomy = ["HTML"]
term = ["HTML", "RSS"]
[services.rss]
limit = 50
EOF
    cat >"$site/layouts/_default/single.html" <<'EOF'
<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1><time>{{ .Date.Format "2006-01-02" }}</time>{{ .Content }}</body></html>
EOF
    cat >"$site/layouts/_default/list.html" <<'EOF'
<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1><ul>{{ range first 50 .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></body></html>
EOF
}

col() { awk -v c="$1" '{print $c}' "$2" | median; }

printf '\n| articles | Hugo s | Hugo MB | crier s | crier MB | time ratio | memory ratio | disk: full s | no change s | one change s |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for n in $SIZES; do
    rm -rf "$SHM"
    mkdir -p "$SHM"
    python3 "$ROOT/bench/corpus.py" "$n" "$SHM/corpus"
    hugo_site "$SHM/hugo" "$SHM/corpus/content"
    : >"$SHM/hugo.t"
    : >"$SHM/crier.t"
    for _ in $(seq "$RUNS"); do
        rm -rf "$SHM/hugo-out"
        (cd "$SHM/hugo" && measure "$SHM/hugo.t" hugo --quiet -d "$SHM/hugo-out")
        rm -rf "$SHM/crier-out"
        (cd "$SHM/corpus" && measure "$SHM/crier.t" "$CRIER" build --out "$SHM/crier-out")
    done
    hs=$(col 1 "$SHM/hugo.t")
    hk=$(col 2 "$SHM/hugo.t")
    cs=$(col 1 "$SHM/crier.t")
    ck=$(col 2 "$SHM/crier.t")
    rm -rf "$SHM"

    # On disk: a fresh build, then rebuilds into the same folder
    # (DISK=none leaves this out).
    if [ "$DISK" = none ]; then
        awk -v n="$n" -v hs="$hs" -v hk="$hk" -v cs="$cs" -v ck="$ck" 'BEGIN {
            printf "| %d | %.2f | %.0f | %.2f | %.0f | %.3f | %.3f | - | - | - |\n",
                n, hs, hk / 1024, cs, ck / 1024, cs / hs, ck / hk
        }'
        continue
    fi
    rm -rf "$DISK"
    mkdir -p "$DISK"
    python3 "$ROOT/bench/corpus.py" "$n" "$DISK/corpus"
    : >"$DISK/full.t"
    : >"$DISK/same.t"
    : >"$DISK/one.t"
    # The newest article: its page and the feeds that show it change.
    districts=(xiaodian jiancaoping gujiao loufan yingze wanbailin qingxu zonggai xinghualing jinyuan yangqu zhongbei)
    one=$DISK/corpus/content/${districts[$(((n - 1) % 12))]}/$(printf '%06d' $((n - 1))).md
    for i in $(seq "$RUNS"); do
        rm -rf "$DISK/out"
        sync
        (cd "$DISK/corpus" && measure "$DISK/full.t" "$CRIER" build --out "$DISK/out")
        # The full build's writes reach the disk first: a rebuild is timed
        # on a quiet disk, not against the previous build's write-back.
        sync
        (cd "$DISK/corpus" && measure "$DISK/same.t" "$CRIER" build --out "$DISK/out")
        printf '\n修订 %s。\n' "$i" >>"$one"
        sync
        (cd "$DISK/corpus" && measure "$DISK/one.t" "$CRIER" build --out "$DISK/out")
    done
    echo "  $n, no change: $(grep -o '[0-9]* written.*' "$DISK/same.t.log")" >&2
    echo "  $n, one change: $(grep -o '[0-9]* written.*' "$DISK/one.t.log")" >&2
    df=$(col 1 "$DISK/full.t")
    ds=$(col 1 "$DISK/same.t")
    do=$(col 1 "$DISK/one.t")
    rm -rf "$DISK"

    awk -v n="$n" -v hs="$hs" -v hk="$hk" -v cs="$cs" -v ck="$ck" -v df="$df" -v ds="$ds" -v dn="$do" 'BEGIN {
        printf "| %d | %.2f | %.0f | %.2f | %.0f | %.3f | %.3f | %.2f | %.2f | %.2f |\n",
            n, hs, hk / 1024, cs, ck / 1024, cs / hs, ck / hk, df, ds, dn
    }'
done
