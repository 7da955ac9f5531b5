package io.graphfs.neo4j;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

import org.neo4j.cli.ExecutionContext;
import org.neo4j.configuration.FulltextSettings;
import org.neo4j.commandline.admin.security.SetInitialPasswordCommand;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

import picocli.CommandLine;

/**
 * A Neo4j Community 5 DBMS for the GraphFS tests: the embedded
 * {@link DatabaseManagementService} with the Bolt connector on 127.0.0.1,
 * authentication on, no HTTP, small memory.
 *
 * <pre>
 * java -cp 'lib/*' io.graphfs.neo4j.Launcher [--home DIR] [--bolt-port PORT] [--conf FILE]
 * </pre>
 *
 * Every flag has an environment fallback: GRAPHFS_NEO4J_HOME (default ./neo4j-home),
 * GRAPHFS_NEO4J_BOLT_PORT (default 7687), GRAPHFS_NEO4J_CONF (optional extra neo4j.conf-style
 * properties, applied after the defaults below). The password of user {@code neo4j} comes from
 * GRAPHFS_NEO4J_PASSWORD (default graphfs-test-password; at least 8 characters), or
 * {@code --password PW} (visible in ps, so the scripts use the environment).
 *
 * <p>Password: on the first start (no system database under HOME/data yet) the launcher runs
 * Neo4j's own {@code neo4j-admin dbms set-initial-password} command ({@link
 * SetInitialPasswordCommand}), which writes HOME/data/dbms/auth.ini; the DBMS consumes that file
 * when it creates the system database, so {@code neo4j} gets the password with no forced change
 * and Bolt never accepts the default neo4j/neo4j. On later starts the stored password is kept (the
 * environment is not re-applied): delete HOME to change it.
 *
 * <p>Prints {@code NEO4J READY bolt://127.0.0.1:PORT} on stdout once the DBMS and the default
 * database are up and Bolt listens; on SIGTERM/SIGINT a shutdown hook stops the DBMS cleanly
 * (checkpoint) and prints {@code NEO4J STOPPED}. Exit code 1 on a startup failure.
 */
public final class Launcher {
    private static final String DEFAULT_PASSWORD = "graphfs-test-password";

    private Launcher() {}

    /** Address Bolt (and every other connector) binds. */
    private static String listen = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        Path home = Path.of(env("GRAPHFS_NEO4J_HOME", "neo4j-home"));
        int port = Integer.parseInt(env("GRAPHFS_NEO4J_BOLT_PORT", "7687"));
        String password = env("GRAPHFS_NEO4J_PASSWORD", DEFAULT_PASSWORD);
        String conf = env("GRAPHFS_NEO4J_CONF", "");
        // The official image's NEO4J_AUTH ("neo4j/PASSWORD"), which the operator
        // sets on its managed Neo4j, so this launcher's image can stand in for it.
        String auth = env("NEO4J_AUTH", "");
        if (auth.startsWith("neo4j/") && System.getenv("GRAPHFS_NEO4J_PASSWORD") == null) {
            password = auth.substring("neo4j/".length());
        }
        listen = env("GRAPHFS_NEO4J_LISTEN_ADDRESS", "127.0.0.1");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--home" -> home = Path.of(arg(args, ++i, a));
                case "--bolt-port" -> port = Integer.parseInt(arg(args, ++i, a));
                case "--password" -> password = arg(args, ++i, a);
                case "--conf" -> conf = arg(args, ++i, a);
                case "-h", "--help" -> {
                    System.out.println("usage: java -cp 'lib/*' io.graphfs.neo4j.Launcher "
                            + "[--home DIR] [--bolt-port PORT] [--password PW] [--conf FILE]\n"
                            + "env: GRAPHFS_NEO4J_HOME GRAPHFS_NEO4J_BOLT_PORT GRAPHFS_NEO4J_PASSWORD GRAPHFS_NEO4J_CONF\n"
                            + "     GRAPHFS_NEO4J_LISTEN_ADDRESS (default 127.0.0.1; 0.0.0.0 in a container) NEO4J_AUTH (neo4j/PASSWORD)");
                    return;
                }
                default -> fail("unknown argument: " + a);
            }
        }
        home = home.toAbsolutePath().normalize();
        Files.createDirectories(home);

        try {
            run(home, port, password, conf);
        } catch (Throwable t) {
            System.err.println("NEO4J FAILED: " + t);
            t.printStackTrace();
            System.out.flush();
            System.err.flush();
            // Halt: a half-started DBMS may hold non-daemon threads.
            Runtime.getRuntime().halt(1);
        }
    }

    private static void run(Path home, int port, String password, String conf) throws Exception {
        long t0 = System.nanoTime();
        if (isFirstStart(home)) {
            setInitialPassword(home, password);
            log("first start: initial password of user 'neo4j' written to data/dbms/auth.ini");
        } else {
            log("existing store under " + home + ": keeping the stored password");
        }

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                // Neo4j's user-facing log (neo4j.log of a packaged server) goes to stdout;
                // debug.log is written to HOME/logs as usual.
                .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress(listen))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(listen, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(BoltConnector.server_bolt_telemetry_enabled, false)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Small footprint for test machines.
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(96))
                .setConfig(GraphDatabaseSettings.tx_state_memory_allocation,
                        GraphDatabaseSettings.TransactionStateMemoryAllocation.ON_HEAP)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(16))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "64M size")
                // As the operator configures a managed Neo4j: the eventually consistent
                // full-text indexes refresh their readers once a second instead of after
                // each applied transaction (a new Lucene segment each time); searches
                // still wait for every earlier write (awaitEventuallyConsistentIndexRefresh).
                .setConfig(FulltextSettings.eventually_consistent_refresh_interval, Duration.ofSeconds(1))
                // Fast shutdown: do not wait long for open transactions, and cut the Bolt
                // server's grace periods (internal settings; by default its thread pool and
                // connection shutdown wait 5 s each, which made a stop take ~11 s).
                .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(2))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2));
        if (!conf.isEmpty()) {
            builder.loadPropertiesFromFile(Path.of(conf));
        }

        DatabaseManagementService dbms = builder.build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("shutting down");
            try {
                dbms.shutdown();
                System.out.println("NEO4J STOPPED");
            } catch (Throwable t) {
                System.err.println("NEO4J shutdown error: " + t);
            } finally {
                System.out.flush();
                stopped.countDown();
            }
        }, "graphfs-neo4j-shutdown"));

        // build() returns once the DBMS and the default database are started and the
        // connectors are bound; check the default database answers before announcing.
        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(Duration.ofSeconds(60).toMillis())) {
            throw new IllegalStateException("default database not available after 60 s");
        }
        db.executeTransactionally("RETURN 1");
        log(String.format("started in %.1f s (Neo4j %s, home %s)", (System.nanoTime() - t0) / 1e9,
                neo4jVersion(), home));
        System.out.println("NEO4J READY bolt://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }

    /** True when the system database has not been created yet under HOME/data. */
    private static boolean isFirstStart(Path home) throws IOException {
        Path system = home.resolve("data").resolve("databases").resolve("system");
        if (!Files.isDirectory(system)) {
            return true;
        }
        try (Stream<Path> s = Files.list(system)) {
            return s.findAny().isEmpty();
        }
    }

    /** {@code neo4j-admin dbms set-initial-password PW} against HOME (conf dir HOME/conf). */
    private static void setInitialPassword(Path home, String password) throws Exception {
        PrintStream out = System.out;
        ExecutionContext ctx = new ExecutionContext(home, home.resolve("conf"), out, System.err,
                new org.neo4j.io.fs.DefaultFileSystemAbstraction());
        SetInitialPasswordCommand cmd = new SetInitialPasswordCommand(ctx);
        CommandLine.populateCommand(cmd, password);
        cmd.execute();
    }

    private static String neo4jVersion() {
        String v = org.neo4j.kernel.internal.Version.getNeo4jVersion();
        return v == null ? "?" : v;
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    private static String arg(String[] args, int i, String flag) {
        if (i >= args.length) {
            fail(flag + " needs a value");
        }
        return args[i];
    }

    private static void fail(String msg) {
        System.err.println("Launcher: " + msg);
        System.exit(2);
    }

    private static void log(String msg) {
        System.out.println(java.time.Instant.now() + " [graphfs-neo4j] " + msg);
        System.out.flush();
    }
}
