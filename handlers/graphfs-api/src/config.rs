//! Command-line flags. Every setting is also an environment variable
//! (`GRAPHFS_…`), which is how the operator configures pods.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "graphfs",
    version,
    about = "GraphFS: a semantic file system of files, tags and the graph between them"
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and web page (with an in-process tagging worker
    /// unless --tagger-concurrency is 0).
    Serve(ServeArgs),
    /// Run only the tagging handler against the same storage.
    Tagger(TaggerArgs),
    /// Create a bearer token for a user and print it (once).
    Token(TokenArgs),
    /// Internal: extract one file's content in an isolated child process.
    #[command(hide = true)]
    ExtractWorker,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(long, env = "GRAPHFS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Log filter (tracing-subscriber EnvFilter syntax).
    #[arg(long, env = "GRAPHFS_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Folder of the embedded backends (objects/ for file bytes, graph.db for
    /// the graph index) and of scratch files.
    #[arg(long, env = "GRAPHFS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Where file bytes live.
    #[arg(long, env = "GRAPHFS_STORAGE", value_enum, default_value_t = StorageKind::Embedded)]
    pub storage: StorageKind,
    /// S3 endpoint URL (with --storage s3), e.g. http://minio:9000.
    #[arg(long, env = "GRAPHFS_S3_ENDPOINT", required_if_eq("storage", "s3"))]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "GRAPHFS_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(long, env = "GRAPHFS_S3_BUCKET", default_value = "graphfs")]
    pub s3_bucket: String,
    #[arg(
        long,
        env = "GRAPHFS_S3_ACCESS_KEY_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_access_key_id: String,
    #[arg(
        long,
        env = "GRAPHFS_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_secret_access_key: String,
    /// Bucket notification target (e.g. arn:minio:sqs::graphfs:webhook) to
    /// subscribe the bucket to, for object created and removed events.
    #[arg(long, env = "GRAPHFS_S3_NOTIFY_ARN")]
    pub s3_notify_arn: Option<String>,
    /// Multipart upload part size in MiB (at least 5); smaller files go up in one PUT.
    #[arg(long, env = "GRAPHFS_S3_PART_SIZE_MB", default_value_t = 16)]
    pub s3_part_size_mb: usize,
    /// Where the graph, search indexes and tagging queue live.
    #[arg(long, env = "GRAPHFS_GRAPH", value_enum, default_value_t = GraphKind::Embedded)]
    pub graph: GraphKind,
    /// Bolt URI (with --graph neo4j), e.g. bolt://neo4j:7687.
    #[arg(long, env = "GRAPHFS_NEO4J_URI", required_if_eq("graph", "neo4j"))]
    pub neo4j_uri: Option<String>,
    #[arg(long, env = "GRAPHFS_NEO4J_USER", default_value = "neo4j")]
    pub neo4j_user: String,
    #[arg(
        long,
        env = "GRAPHFS_NEO4J_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub neo4j_password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageKind {
    /// Files under --data-dir.
    Embedded,
    /// An S3-compatible server (MinIO).
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphKind {
    /// SQLite under --data-dir.
    Embedded,
    /// Neo4j 5 over Bolt.
    Neo4j,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GRAPHFS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Development mode: create a token for user "dev" and print it with the URL.
    #[arg(long, env = "GRAPHFS_DEV")]
    pub dev: bool,
    /// In development mode, use this token instead of a new random one.
    #[arg(long, env = "GRAPHFS_DEV_TOKEN", hide_env_values = true)]
    pub dev_token: Option<String>,
    /// File of `user:token` lines registered at start-up (a mounted Secret in a cluster).
    #[arg(long, env = "GRAPHFS_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "GRAPHFS_MAX_UPLOAD_BYTES", default_value_t = 4 << 30)]
    pub max_upload_bytes: u64,
    /// Sustained requests per second per user (0 turns rate limiting off).
    #[arg(long, env = "GRAPHFS_RATE_LIMIT_RPS", default_value_t = 200.0)]
    pub rate_limit_rps: f64,
    /// Requests a user may make at once above the sustained rate.
    #[arg(long, env = "GRAPHFS_RATE_LIMIT_BURST", default_value_t = 400.0)]
    pub rate_limit_burst: f64,
    /// Shared secret MinIO sends with bucket notifications (as a bearer
    /// token) to POST /api/v1/events/s3; the endpoint is off without it.
    #[arg(long, env = "GRAPHFS_S3_WEBHOOK_TOKEN", hide_env_values = true)]
    pub s3_webhook_token: Option<String>,
    /// User who owns files written straight into the bucket.
    #[arg(long, env = "GRAPHFS_INGEST_OWNER", default_value = "admin")]
    pub ingest_owner: String,
    /// Seconds between sweeps for objects whose graph node is missing.
    #[arg(
        long,
        env = "GRAPHFS_RECONCILE_INTERVAL_SECONDS",
        default_value_t = 600
    )]
    pub reconcile_interval_seconds: u64,
    /// Age below which an object without a node is left alone (it may be an
    /// upload in progress on another replica).
    #[arg(long, env = "GRAPHFS_ORPHAN_GRACE_SECONDS", default_value_t = 600)]
    pub orphan_grace_seconds: u64,
    /// Seconds to let in-flight requests finish after SIGTERM.
    #[arg(long, env = "GRAPHFS_SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
    pub shutdown_grace_seconds: u64,
    #[command(flatten)]
    pub tagging: TaggingArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TaggerArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub tagging: TaggingArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TaggingArgs {
    /// Tagging jobs worked on at once by this process (0: none).
    #[arg(long, env = "GRAPHFS_TAGGER_CONCURRENCY", default_value_t = 2)]
    pub tagger_concurrency: usize,
    /// Lease on a claimed job; renewed while the job runs, so a handler that
    /// dies loses its jobs to others after this long.
    #[arg(long, env = "GRAPHFS_TAGGER_LEASE_SECONDS", default_value_t = 60)]
    pub tagger_lease_seconds: u64,
    /// Attempts before a job gives up and the file is marked failed.
    #[arg(long, env = "GRAPHFS_TAGGER_MAX_ATTEMPTS", default_value_t = 5)]
    pub tagger_max_attempts: u32,
    /// First retry delay in milliseconds; doubles with each attempt.
    #[arg(long, env = "GRAPHFS_TAGGER_BACKOFF_MS", default_value_t = 2000)]
    pub tagger_backoff_ms: u64,
    /// Longest retry delay in seconds.
    #[arg(
        long,
        env = "GRAPHFS_TAGGER_BACKOFF_MAX_SECONDS",
        default_value_t = 300
    )]
    pub tagger_backoff_max_seconds: u64,
    /// Milliseconds between polls of an empty queue.
    #[arg(long, env = "GRAPHFS_TAGGER_POLL_MS", default_value_t = 500)]
    pub tagger_poll_ms: u64,
    /// Run content extraction in a child process with memory and CPU limits.
    #[arg(long, env = "GRAPHFS_EXTRACT_ISOLATED", default_value_t = true, action = clap::ArgAction::Set)]
    pub extract_isolated: bool,
    /// Seconds one file's extraction may take.
    #[arg(long, env = "GRAPHFS_EXTRACT_TIMEOUT_SECONDS", default_value_t = 60)]
    pub extract_timeout_seconds: u64,
    /// Address-space limit of the extraction process, in MiB.
    #[arg(long, env = "GRAPHFS_EXTRACT_MEMORY_MB", default_value_t = 2048)]
    pub extract_memory_mb: u64,
    /// Largest part of a file read for extraction, in MiB.
    #[arg(long, env = "GRAPHFS_EXTRACT_MAX_INPUT_MB", default_value_t = 64)]
    pub extract_max_input_mb: u64,
    /// Most keyword tags given to one file.
    #[arg(long, env = "GRAPHFS_TAGGER_MAX_TAGS", default_value_t = 8)]
    pub tagger_max_tags: usize,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The user the token belongs to.
    #[arg(long, env = "GRAPHFS_TOKEN_USER")]
    pub user: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent_and_every_flag_has_an_env_var() {
        Cli::command().debug_assert();
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
                assert!(
                    env.as_deref().is_some_and(|e| e.starts_with("GRAPHFS_")),
                    "{} --{id} has no GRAPHFS_ environment variable",
                    sub.get_name()
                );
            }
        }
    }
}
