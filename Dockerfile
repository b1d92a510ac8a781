# Build: the build packages scripts/setup installs (not xmlsec1 or Chromium, which only the tests use).
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      pkg-config libssl-dev libxml2-dev libxmlsec1-dev libpq-dev libclang1-14 libclang-common-14-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p idgate && cp target/release/idgate /usr/local/bin/idgate

# Run: only the shared libraries the binary links.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libpq5 libxml2 libxmlsec1 libxmlsec1-openssl libxslt1.1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/idgate --create-home idgate
COPY --from=build /usr/local/bin/idgate /usr/local/bin/idgate
USER idgate
WORKDIR /var/lib/idgate
ENV IDGATE_LISTEN=0.0.0.0:8080 \
    IDGATE_DATA_DIR=/var/lib/idgate
VOLUME /var/lib/idgate
EXPOSE 8080
ENTRYPOINT ["idgate"]
CMD ["serve"]
