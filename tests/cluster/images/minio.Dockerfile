# MinIO for the test cluster: the binary tests/minio/install.sh builds from
# its Go module, on the distroless-like base. The operator's managed MinIO
# runs it as `minio server /data --address :9000` (args from the StatefulSet).
ARG BASE=localhost/graphfs/base:bookworm
FROM ${BASE}
ARG VERSION=test
LABEL org.opencontainers.image.title="graphfs-test-minio" \
      org.opencontainers.image.description="MinIO built from its Go module, for the GraphFS test cluster" \
      org.opencontainers.image.source="https://github.com/graphfs/graphfs" \
      org.opencontainers.image.licenses="AGPL-3.0-only" \
      org.opencontainers.image.version="${VERSION}"
COPY minio /usr/local/bin/minio
USER 1000:1000
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/minio"]
