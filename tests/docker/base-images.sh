#!/usr/bin/env bash
# Provides the base images that the Dockerfile and deploy/compose.yaml start
# FROM: pulled from their registries when one answers, else stand-ins built
# here from Debian packages (no container registry is reachable on these
# machines). Prints, per image, which it is. The Dockerfile itself stays
# what a user with a registry builds.
#
# Stand-ins (labelled crier.standin, so a later run can tell them apart):
# - rust:<v>-bookworm: a bookworm rootfs from debootstrap (with gcc for the
#   crates that build C) plus this machine's own stable Rust toolchain at
#   the official image's paths (RUSTUP_HOME=/usr/local/rustup,
#   CARGO_HOME=/usr/local/cargo), trusting the host's CA bundle so that
#   cargo reaches the crate registry;
# - gcr.io/distroless/cc-debian12:nonroot: the packages distroless cc
#   holds (glibc, libgcc, libgomp, libstdc++, libssl3, CA certificates,
#   tzdata, netbase, base-files) unpacked, the users root, nobody and
#   nonroot (65532), no shell, USER 65532;
# - nginx:<v>: the bookworm rootfs with Debian's nginx, configured as the
#   official image is (conf.d/*.conf, logs to stdout, `daemon off`).
#
# usage: tests/docker/base-images.sh   (as root, dockerd running)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${CRIER_DOCKER_WORK:-/var/tmp/crier-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$WORK"

RUST_IMAGE=$(awk 'toupper($1) == "FROM" && $2 ~ /^rust:/ { print $2; exit }' "$ROOT/Dockerfile")
RUNTIME_IMAGE=$(awk 'toupper($1) == "FROM" && $2 ~ /distroless/ { print $2; exit }' "$ROOT/Dockerfile")
NGINX_IMAGE=$(awk '$1 == "image:" && $2 ~ /^nginx:/ { print $2; exit }' "$ROOT/deploy/compose.yaml")

# debootstrap once per machine; `.done` marks a finished rootfs.
bookworm() {
  if [ ! -e "$WORK/bookworm.done" ]; then
    rm -rf "$WORK/bookworm"
    debootstrap --variant=minbase --include=ca-certificates,gcc,libc6-dev,make \
      bookworm "$WORK/bookworm" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
      { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
    chroot "$WORK/bookworm" apt-get clean
    touch "$WORK/bookworm.done"
  fi
}

# A folder as an image: `import NAME DIR --change ...`.
import() {
  local name=$1 dir=$2
  shift 2
  tar -C "$dir" --numeric-owner -c . | docker import "$@" - "$name" >/dev/null
}

standin_rust() {
  bookworm
  local dir=$WORK/rust toolchain
  toolchain=$(rustc --print sysroot)
  rm -rf "$dir" && cp -a "$WORK/bookworm" "$dir"
  mkdir -p "$dir/usr/local/rustup/toolchains/stable" "$dir/usr/local/cargo/bin"
  # The toolchain without its documentation (800 MB of HTML).
  tar -C "$toolchain" --exclude=./share/doc -c . | tar -C "$dir/usr/local/rustup/toolchains/stable" -x
  for tool in "$dir"/usr/local/rustup/toolchains/stable/bin/*; do
    ln -s "/usr/local/rustup/toolchains/stable/bin/$(basename "$tool")" "$dir/usr/local/cargo/bin/"
  done
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  import "$1" "$dir" \
    --change 'LABEL crier.standin="bookworm rootfs from debootstrap + the host Rust toolchain"' \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["bash"]'
  rm -rf "$dir"
}

standin_distroless() {
  local dir=$WORK/distroless debs=$WORK/debs
  rm -rf "$dir" "$debs" && mkdir -p "$dir" "$debs"
  (cd "$debs" && apt-get download -qq base-files netbase tzdata ca-certificates \
    libc6 libgcc-s1 libgomp1 libstdc++6 libssl3 2>&1 | grep -v '^W: ' || true)
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
  # distroless ships the bundle, not the tools that make it.
  mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/home/nonroot" "$dir/root"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$dir/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$dir/etc/group"
  chmod 1777 "$dir/tmp"
  chown 65532:65532 "$dir/home/nonroot"
  # No shell, no package manager.
  rm -rf "$dir/bin/sh" "$dir/usr/bin/sh" "$dir/usr/share/doc" "$dir/usr/share/man"
  import "$1" "$dir" \
    --change 'LABEL crier.standin="distroless cc packages from Debian, unpacked"' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'USER 65532' \
    --change 'WORKDIR /home/nonroot'
  rm -rf "$dir" "$debs"
}

standin_nginx() {
  bookworm
  local dir=$WORK/nginx
  rm -rf "$dir" && cp -a "$WORK/bookworm" "$dir"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  chroot "$dir" sh -c 'apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y nginx-light && apt-get clean && rm -rf /var/lib/apt/lists/*' \
    >"$WORK/nginx.log" 2>&1 || { tail -20 "$WORK/nginx.log" >&2; exit 1; }
  mkdir -p "$dir/var/cache/nginx"
  rm -f "$dir/etc/nginx/sites-enabled/default"
  ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
  ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
  import "$1" "$dir" \
    --change 'LABEL crier.standin="bookworm rootfs from debootstrap + Debian nginx"' \
    --change 'EXPOSE 80' \
    --change 'CMD ["nginx", "-g", "daemon off;"]'
  rm -rf "$dir"
}

provide() {
  local name=$1 build=$2 label
  if docker image inspect "$name" >/dev/null 2>&1; then
    label=$(docker image inspect -f '{{ index .Config.Labels "crier.standin" }}' "$name" 2>/dev/null || true)
    if [ -n "$label" ]; then
      echo "base image $name: stand-in ($label), built by an earlier run"
    else
      echo "base image $name: present (pulled earlier)"
    fi
  elif timeout 60 docker pull -q "$name" >/dev/null 2>&1; then
    echo "base image $name: pulled"
  else
    local t0=$SECONDS
    "$build" "$name"
    label=$(docker image inspect -f '{{ index .Config.Labels "crier.standin" }}' "$name")
    echo "base image $name: no registry answered; stand-in built in $((SECONDS - t0)) s ($label)"
  fi
}

provide "$RUST_IMAGE" standin_rust
provide "$RUNTIME_IMAGE" standin_distroless
provide "$NGINX_IMAGE" standin_nginx
