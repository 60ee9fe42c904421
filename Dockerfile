# crier: build with the official Rust image, run on distroless (no shell,
# no package manager), as a non-root user.

# Dependencies are compiled in their own layer (cargo-chef), so a change to
# crier's code does not rebuild them.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin crier \
    && mkdir -p /out/state

# distroless "nonroot" is uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /srv/crier
COPY --from=builder /src/target/release/crier /usr/local/bin/crier
COPY --chown=65532:65532 crier.toml ./crier.toml
COPY --chown=65532:65532 content ./content
COPY --chown=65532:65532 feeds ./feeds
# The built-in WebSub hub's subscriptions and the readers' database and
# secret (not in feeds/). Owned by the runtime user so that a new volume is too.
COPY --from=builder --chown=65532:65532 /out/state ./state
USER 65532:65532
ENV CRIER_ADDR=0.0.0.0:8080 \
    CRIER_CONFIG=/srv/crier/crier.toml \
    CRIER_CONTENT=/srv/crier/content \
    CRIER_OUT=/srv/crier/feeds \
    CRIER_WEBSUB_STATE=/srv/crier/state/websub.json \
    CRIER_STATE_DIR=/srv/crier/state \
    RUST_LOG=info
EXPOSE 8080
VOLUME ["/srv/crier/content", "/srv/crier/feeds", "/srv/crier/state"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/crier", "healthcheck"]
# Exec form: crier is PID 1 and gets SIGTERM itself.
ENTRYPOINT ["/usr/local/bin/crier"]
CMD ["serve"]
