# syntax=docker/dockerfile:1
# The `janta` binary in a small Debian image (README.md, "Deploying").
# Build: docker build -t janta .
# One image runs every role: `janta serve <domain>` (a subgraph) or
# `janta router` (from /etc/janta: router-config/ and supergraph.graphql).
# No secret is baked in: production takes them from the environment.

# --- build -----------------------------------------------------------------
FROM rust:1.95-bookworm AS build
# aws-lc-sys (rustls' crypto in hive-router) may build with cmake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Downloaded crates and build output stay in BuildKit caches between builds
# (a source change does not rebuild every dependency); the binary is copied
# out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p janta \
 && install -D -m 0755 target/release/janta /out/janta

# --- runtime ---------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# CA roots for outgoing HTTPS (payment gateway, SMS, partner webhooks).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/janta /usr/local/bin/janta
# The router's configuration and the supergraph it serves, so that
# `janta router` works from /etc/janta (Kubernetes mounts its own copy).
COPY router-config/production.yaml router-config/persisted-documents.json /etc/janta/router-config/
COPY supergraph.graphql /etc/janta/supergraph.graphql
RUN groupadd --gid 10001 janta \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home janta \
 && mkdir -p /data \
 && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
ENV JANTA_DATA_DIR=/data
# Router 4000, subgraphs 4001-4006 (users, catalog, prescriptions, orders,
# payments, notifications).
EXPOSE 4000-4006
ENTRYPOINT ["janta"]
CMD ["--help"]
