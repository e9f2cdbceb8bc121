# A static authelia-secrets in a minimal image: a kpt container function (ResourceList on
# stdin) and, for Argo CD, an init container that copies itself into the repo-server:
#   authelia-secrets install-plugin --dir /custom-tools/plugins
# Not built by this project's CI (its machines have no Docker engine).
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin authelia-secrets \
 && strip target/release/authelia-secrets

FROM scratch
COPY --from=build /src/target/release/authelia-secrets /usr/local/bin/authelia-secrets
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/authelia-secrets"]
