#!/usr/bin/env bash
# The Docker image built and run for real, as docs/deployment.md says.
# Starts dockerd if none runs, provides the base images (pulled, or stood
# in: tests/docker/base-images.sh), builds the image with `docker build`,
# and asserts: /healthz 200; HEALTHCHECK reaches healthy; crier runs as uid
# 65532; the feeds volume is written by crier; an edit in the bind-mounted
# content folder is served within a second; the built-in hub's
# subscriptions survive a new container on the state volume; `docker stop`
# exits 0 in under 2 s with an idle client connected; deploy/compose.yaml
# is accepted by docker-compose and serves through its nginx cache. Prints
# the build time and the image size.
#
# usage: tests/docker/run.sh   (as root; ./test.sh runs it)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
IMAGE=crier:test
NAME=crier-test-$$
T=$(mktemp -d /var/tmp/crier-docker-test.XXXXXX)
FAILED=0
SUBSCRIBER=

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for SECONDS COMMAND...: true once COMMAND succeeds, false at the deadline.
wait_for() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

cleanup() {
  [ -n "$SUBSCRIBER" ] && kill "$SUBSCRIBER" 2>/dev/null
  docker rm -f "$NAME-a" "$NAME-b" >/dev/null 2>&1
  (cd deploy && CRIER_IMAGE=$IMAGE CRIER_CONTENT=$T/content docker-compose -f compose.yaml -p "$NAME" down -v >/dev/null 2>&1)
  docker volume rm "$NAME-feeds" "$NAME-state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT

# The engine.
if docker info >/dev/null 2>&1; then
  echo "dockerd: already running"
else
  command -v dockerd >/dev/null || { echo "tests/docker/run.sh needs dockerd: apt-get install docker.io" >&2; exit 2; }
  (dockerd >/var/log/crier-dockerd.log 2>&1 &)
  wait_for 30 docker info || { tail -20 /var/log/crier-dockerd.log >&2; exit 1; }
  echo "dockerd: started (log: /var/log/crier-dockerd.log)"
fi

bash tests/docker/base-images.sh

t0=$SECONDS
if ! docker build -t "$IMAGE" . >"$T/build.log" 2>&1; then
  tail -40 "$T/build.log"
  echo "FAIL: docker build"
  exit 1
fi
echo "docker build: $((SECONDS - t0)) s"
size=$(docker image inspect -f '{{ .Size }}' "$IMAGE")
echo "image size: $(python3 -c "print(f'{$size / 1e6:.1f} MB')")"

# A copy of the sample, and a crier.toml with the built-in hub, mounted as
# docs/deployment.md says (a content folder, your own config's folder).
PORT=$(free_port)
CB=$(free_port)
mkdir -p "$T/content" "$T/conf"
cp -r content/. "$T/content/"
{ echo 'hub = "builtin"'; echo 'hub_callbacks = ["host.docker.internal"]'; cat crier.toml; } >"$T/conf/crier.toml"
chmod -R a+rX "$T"
BASE=http://127.0.0.1:$PORT/
start() {
  docker run -d --name "$1" -p "127.0.0.1:$PORT:8080" \
    --add-host host.docker.internal:host-gateway --health-interval 1s \
    -e CRIER_BASE_URL="$BASE" -e CRIER_CONFIG=/srv/crier/conf/crier.toml \
    -v "$T/conf:/srv/crier/conf:ro" \
    -v "$T/content:/srv/crier/content:ro" \
    -v "$NAME-feeds:/srv/crier/feeds" \
    -v "$NAME-state:/srv/crier/state" \
    "$IMAGE" >/dev/null
}
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
healthz() { [ "$(status "${BASE}healthz")" = 200 ]; }
healthy() { [ "$(docker inspect -f '{{ .State.Health.Status }}' "$1")" = healthy ]; }
# edit N: a new title for Xiaodian's article, saved as editors do (rename).
edit() {
  local f=$T/content/xiaodian/2023-01-10.md
  sed "s/^title = \".*\"/title = \"小店区劳模表彰 第$1版\"/" "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}
served() { curl -s "${BASE}xiaodian/rss.xml" | grep -q "第$1版"; }

start "$NAME-a"
if wait_for 30 healthz; then ok "/healthz 200"; else fail "/healthz never answered 200"; docker logs "$NAME-a" | tail; fi
if wait_for 30 healthy "$NAME-a"; then ok "HEALTHCHECK healthy"; else fail "HEALTHCHECK never healthy"; fi

pid=$(docker inspect -f '{{ .State.Pid }}' "$NAME-a")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
if [ "$uid" = 65532 ]; then ok "runs as uid 65532"; else fail "runs as uid $uid"; fi

feeds=$(docker volume inspect -f '{{ .Mountpoint }}' "$NAME-feeds")
if wait_for 10 test -s "$feeds/xiaodian/index.html" && [ "$(stat -c %u "$feeds/rss.xml")" = 65532 ]; then
  ok "feeds volume written by crier ($(find "$feeds" -type f | wc -l) files, owner 65532)"
else
  fail "feeds volume not written"
fi

t=$(now_ms)
edit 1
if wait_for 1 served 1; then ok "edit in the bind-mounted content served in $(($(now_ms) - t)) ms"; else fail "edit not served within a second"; fi

python3 tests/docker/subscriber.py "$CB" "$T/callback.log" &
SUBSCRIBER=$!
sleep 0.3
code=$(status -d hub.mode=subscribe -d "hub.topic=${BASE}xiaodian/rss.xml" \
  -d "hub.callback=http://host.docker.internal:$CB/cb" "${BASE}websub")
state=$(docker volume inspect -f '{{ .Mountpoint }}' "$NAME-state")
# The subscription is in crier's SQLite database in the state volume (its
# write-ahead log until a checkpoint).
if [ "$code" = 202 ] && wait_for 5 grep -q "verified subscribe" "$T/callback.log" &&
  wait_for 5 grep -qs "host.docker.internal" "$state/crier.db" "$state/crier.db-wal"; then
  ok "subscribed to the built-in hub; kept in the state volume's database (owner $(stat -c %u "$state/crier.db"))"
else
  fail "subscription (status $code): $(cat "$T/callback.log" 2>/dev/null) $(docker logs "$NAME-a" 2>&1 | grep -i websub | tail -3)"
fi

# An idle client: connected, sends nothing.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
t=$(now_ms)
docker stop "$NAME-a" >/dev/null
took=$(($(now_ms) - t))
exec 3>&-
code=$(docker inspect -f '{{ .State.ExitCode }}' "$NAME-a")
if [ "$code" = 0 ] && [ "$took" -lt 2000 ]; then
  ok "docker stop with an idle client: exit 0 in $took ms"
else
  fail "docker stop with an idle client: exit $code in $took ms"
fi
docker rm "$NAME-a" >/dev/null

start "$NAME-b"
wait_for 30 healthz || fail "the new container never answered /healthz"
before=$(grep -c delivered "$T/callback.log" || true)
edit 2
if wait_for 15 served 2 && wait_for 15 test "$(grep -c delivered "$T/callback.log")" -gt "$before"; then
  ok "a new container on the state volume delivers to the old subscription: $(grep delivered "$T/callback.log" | tail -1)"
else
  fail "no delivery from the new container (served: $(served 2 && echo yes || echo no))"
  docker logs "$NAME-b" 2>&1 | tail -20
fi
docker rm -f "$NAME-b" >/dev/null

# deploy/compose.yaml: accepted, and crier served through the nginx cache.
export CRIER_IMAGE=$IMAGE CRIER_CONTENT=$T/content CRIER_PORT
CRIER_PORT=$(free_port)
if (cd deploy && docker-compose -f compose.yaml -p "$NAME" config -q); then ok "docker-compose config accepts deploy/compose.yaml"; else fail "docker-compose config"; fi
(cd deploy && docker-compose -f compose.yaml -p "$NAME" up -d >"$T/compose.log" 2>&1) || { cat "$T/compose.log"; fail "docker-compose up"; }
CACHE=http://127.0.0.1:$CRIER_PORT
cache_status() { curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "$CACHE/rss.xml" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache-status" { print $2 }'; }
if wait_for 90 test "$(status "$CACHE/rss.xml")" = 200; then
  first=$(cache_status)
  second=$(cache_status)
  if [ "$second" = HIT ]; then ok "compose: feeds served through the nginx cache ($first, then $second)"; else fail "compose: cache $first then $second"; fi
else
  fail "compose: nothing served on $CACHE"
  (cd deploy && docker-compose -f compose.yaml -p "$NAME" logs --tail 20)
fi

if [ "$FAILED" = 0 ]; then echo "docker test: all passed"; else echo "docker test: FAILED"; exit 1; fi
