# Catalyst server image: multi-stage, runs as an unprivileged user on debian-slim.
#   docker build -t catalyst .
#   docker run -p 8080:8080 -e CATALYST_DATA_KEY=… -e DATABASE_URL=postgres://… catalyst
# docs/operations.md describes the settings, probes and volumes. CI does not build this image
# (its machine reaches no container registry); deploy/compose.yaml is the tested-by-hand example.

FROM rust:1.95-slim-bookworm AS build
# libpq is built from source (pq-sys "bundled") against the system OpenSSL; SQLite is bundled.
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev make perl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p catalyst \
    && install -m 0755 target/release/catalyst /usr/local/bin/catalyst

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/catalyst --create-home catalyst
COPY --from=build /usr/local/bin/catalyst /usr/local/bin/catalyst
USER 10001:10001
WORKDIR /var/lib/catalyst
# SQLite and the generated data key live in /var/lib/catalyst unless DATABASE_URL and
# CATALYST_DATA_KEY say otherwise; mount a volume there to keep them.
ENV CATALYST_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/catalyst/catalyst.db \
    CATALYST_LOG_FORMAT=json
VOLUME ["/var/lib/catalyst"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/catalyst"]
CMD ["serve"]
