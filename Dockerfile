# syntax=docker/dockerfile:1.7
# The pingan image: one binary, `pingan serve <service>` per Deployment (see helm/pingan), or
# `pingan dev` (the default command) for all six services in one container on SQLite.
#
#   docker build -t pingan:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 pingan:0.1.0
#
# Builder and runtime share a Debian release so the binary finds the glibc it was linked
# against: change both arguments together (e.g. trixie and debian13).
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
ARG DISTROLESS=cc-debian12

# --- build ------------------------------------------------------------------------------------
FROM docker.io/library/rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# Only what the build reads (a .dockerignore keeping target/ and .tools/ out of the context makes
# the upload small; it does not change the result).
COPY Cargo.toml Cargo.lock ./
COPY proto ./proto
COPY services ./services
COPY tests ./tests
# protox compiles the .proto files in build.rs: no protoc needed. The caches keep the registry and
# the incremental target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --profile dist --locked -p pingan \
    && install -D -m 0755 target/dist/pingan /out/pingan

# --- runtime ----------------------------------------------------------------------------------
# distroless/cc: glibc, libgcc, CA certificates and tzdata; no shell, no package manager. The
# :nonroot variant runs as uid/gid 65532, the ids the chart's securityContext uses.
FROM gcr.io/distroless/${DISTROLESS}:nonroot
LABEL org.opencontainers.image.title="pingan" \
      org.opencontainers.image.description="Pingan command-and-dispatch platform: six gRPC services in one binary" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/pingan /usr/local/bin/pingan
# `pingan dev` keeps its SQLite files under ./data: the nonroot user's home is writable.
WORKDIR /home/nonroot
USER 65532:65532
# gRPC, Prometheus metrics.
EXPOSE 50051 9464
ENTRYPOINT ["pingan"]
CMD ["dev", "--listen", "0.0.0.0:50051", "--metrics-listen", "0.0.0.0:9464"]
