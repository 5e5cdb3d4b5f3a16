# tern's container image (README: "Container").
#
#   docker build -t tern .        (or: podman build / buildah bud)
#   docker run -d --name tern -p 25:25 -p 465:465 -p 587:587 -p 993:993 \
#     -e TERN_DOMAIN=example.org -e TERN_HOSTNAME=mail.example.org -v tern-data:/data tern
#
# Two stages on debian:trixie-slim (mbedTLS 3.6: TLS 1.3): the first builds
# a stripped tern, the second holds only the libraries it links and the CA
# bundle. tern runs as the non-root user tern; the store, the certificates
# and an optional /data/tern.toml live in the /data volume.
#
# Ports below 1024 as a non-root user: the binary carries the file
# capability cap_net_bind_service (and no other). Docker and Podman keep
# NET_BIND_SERVICE in a container's bounding set by default, so the
# non-root process can bind 25, 143, 993...; with --cap-drop=ALL add
# --cap-add=NET_BIND_SERVICE. Nothing runs as root, so there is no
# privilege to drop and no window where it is held.

FROM debian:trixie-slim AS build
# .ci/dev's BUILD_PACKAGES, and setcap for the runtime stage's binary.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libuv1-dev libmbedtls-dev libc-ares-dev \
      libsqlite3-dev libcrypt-dev zlib1g-dev libjansson-dev libsodium-dev \
      libunistring-dev libexpat1-dev ca-certificates libcap2-bin \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release >/dev/null \
 && cmake --build /build -j"$(nproc)" --target tern \
 && strip /build/tern \
 && /build/tern version \
 && mkdir /out && cp /build/tern /etc/ssl/certs/ca-certificates.crt /out/

FROM debian:trixie-slim
ARG TERN_UID=1000
# One layer: the runtime libraries tern links (libcrypt1 is in the base
# already), the binary with its capability, the CA bundle (outbound TLS
# with [queue] verify_tls, ACME) without the ca-certificates package and
# the openssl it would bring, the user and /data. libcap2-bin is there
# only while setcap runs. (The build stage's files come by a bind mount,
# not COPY: a COPY layer would hold the binary once more, and not every
# builder keeps a file capability through COPY.)
RUN --mount=type=bind,from=build,source=/out,target=/mnt/build \
    apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libuv1t64 libmbedtls21 libmbedx509-7 libmbedcrypto16 libcares2 libsqlite3-0 \
      libjansson4 libexpat1 libsodium23 libunistring5 zlib1g libcap2-bin \
 && install -m 0755 /mnt/build/tern /usr/local/bin/tern \
 && setcap cap_net_bind_service=+ep /usr/local/bin/tern \
 && install -D -m 0644 /mnt/build/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt \
 && useradd --uid "$TERN_UID" --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin tern \
 && mkdir -p /data && chown tern:tern /data && chmod 0700 /data \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && tern version

# In the container tern listens on the standard ports on every interface
# because these say so; outside, the embedded default stays on loopback.
# A /data/tern.toml, when there is one, overrides any of them key by key
# (its [[listen]] entries replace TERN_LISTEN). 4190 (ManageSieve) is
# exposed for the day tern serves it; nothing listens there yet.
ENV TERN_DATA_DIR=/data \
    TERN_LISTEN="smtp=0.0.0.0:25 submissions=0.0.0.0:465 submission=0.0.0.0:587 pop3=0.0.0.0:110 pop3s=0.0.0.0:995 imap=0.0.0.0:143 imaps=0.0.0.0:993 http=0.0.0.0:80 https=0.0.0.0:443"
USER tern
WORKDIR /data
VOLUME ["/data"]
EXPOSE 25 465 587 110 995 143 993 80 443 4190
# GET /healthz on the plain HTTP listener (tern health picks it from the
# same configuration as tern serve).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["tern", "health", "--timeout", "5"]
# tern serve stops gracefully on SIGTERM: no new connections, sessions get
# [server] shutdown_grace (10 s) to finish, then a farewell. Give
# `docker stop` more than that: docker stop -t 20, compose.yaml's
# stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tern"]
CMD ["serve"]
