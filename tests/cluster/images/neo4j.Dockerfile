# Neo4j Community 5 for the test cluster: the jars tests/neo4j/install.sh
# fetches from Maven Central and its launcher, on a JRE base made from
# Debian's openjdk-17-jre-headless. It honours what the operator sets on the
# official image: NEO4J_AUTH=neo4j/PASSWORD and the data volume at /data.
ARG BASE=localhost/graphfs/jre:17
FROM ${BASE}
ARG VERSION=test
LABEL org.opencontainers.image.title="graphfs-test-neo4j" \
      org.opencontainers.image.description="Neo4j Community 5 with the GraphFS test launcher, for the GraphFS test cluster" \
      org.opencontainers.image.source="https://github.com/graphfs/graphfs" \
      org.opencontainers.image.licenses="GPL-3.0-only" \
      org.opencontainers.image.version="${VERSION}"
COPY lib /opt/neo4j/lib
ENV GRAPHFS_NEO4J_HOME=/data \
    GRAPHFS_NEO4J_LISTEN_ADDRESS=0.0.0.0 \
    GRAPHFS_NEO4J_BOLT_PORT=7687
USER 1000:1000
EXPOSE 7687
ENTRYPOINT ["java", "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", \
            "-XX:+ExitOnOutOfMemoryError", \
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED", \
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-Dio.netty.tryReflectionSetAccessible=true", \
            "-Djdk.nio.maxCachedBufferSize=1024", "-Dlog4j2.disable.jmx=true", \
            "-cp", "/opt/neo4j/lib/*", "io.graphfs.neo4j.Launcher"]
