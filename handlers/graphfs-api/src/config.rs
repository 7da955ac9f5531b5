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

// Parsed once at start-up and moved into the command: the size of the
// largest settings struct costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and web page (with an in-process tagging worker
    /// unless --tagger-concurrency is 0).
    Serve(ServeArgs),
    /// Run only the tagging handler against the same storage.
    Tagger(TaggerArgs),
    /// Create a bearer token for a user and print it (once).
    Token(TokenArgs),
    /// Rebuild the tag vocabulary (count candidates, drop rare ones, merge
    /// synonyms into one tag with aliases) and re-tag every file; `import`,
    /// `export` and `reset` manage the seeded taxonomy.
    Vocab(VocabArgs),
    /// Queue every file for tagging again (after a model or setting change).
    Retag(RetagArgs),
    /// Print the OpenAPI document of this server's HTTP API.
    Openapi,
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
    #[arg(long, env = "GRAPHFS_S3_PART_SIZE_MB", default_value_t = 8)]
    pub s3_part_size_mb: usize,
    /// Parts of one upload sent at once; an upload holds at most this many
    /// parts plus one in memory.
    #[arg(long, env = "GRAPHFS_S3_UPLOAD_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub s3_upload_concurrency: u16,
    /// MiB of part buffers all uploads together may hold (at least one
    /// part); uploads past it wait for room, so memory stays bounded however
    /// many large uploads run at once.
    #[arg(long, env = "GRAPHFS_S3_UPLOAD_BUFFER_MB", default_value_t = 256)]
    pub s3_upload_buffer_mb: usize,
    /// Part-sized ranges of one large download (two parts or more) fetched
    /// at once; 1 reads every download with one plain GET.
    #[arg(long, env = "GRAPHFS_S3_DOWNLOAD_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub s3_download_concurrency: u16,
    /// MiB of range buffers all downloads together may hold; a download
    /// that finds no room left reads with one plain GET instead of waiting.
    #[arg(long, env = "GRAPHFS_S3_DOWNLOAD_BUFFER_MB", default_value_t = 128)]
    pub s3_download_buffer_mb: usize,
    /// Embedded files (with an embedding) from which semantic search walks
    /// an in-memory HNSW graph, built at start and kept current, instead of
    /// reading every vector (--graph embedded); 0 always reads every vector.
    #[arg(long, env = "GRAPHFS_SEMANTIC_INDEX_MIN_FILES", default_value_t = graphfs_store_local::DEFAULT_SEMANTIC_INDEX_MIN_FILES)]
    pub semantic_index_min_files: usize,
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
    /// Seconds to wait for a connection to Neo4j or any answer from it before
    /// a request fails with 503 (a restarting Neo4j pod otherwise holds
    /// requests on its dead connections).
    #[arg(long, env = "GRAPHFS_NEO4J_TIMEOUT_SECONDS", default_value_t = 15)]
    pub neo4j_timeout_seconds: u64,
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
    /// Users who may merge and rename tags for everyone (comma-separated).
    /// The development server's own user is always one.
    #[arg(long, env = "GRAPHFS_ADMIN_USERS", value_delimiter = ',')]
    pub admin_users: Vec<String>,
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// Seconds between re-reads of the tokens file: tokens added to it start
    /// working, tokens removed from it stop.
    #[arg(long, env = "GRAPHFS_TOKENS_FILE_SYNC_SECONDS", default_value_t = 30)]
    pub tokens_file_sync_seconds: u64,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "GRAPHFS_MAX_UPLOAD_BYTES", default_value_t = 4 << 30)]
    pub max_upload_bytes: u64,
    /// Earlier contents kept per file when new content replaces it (through
    /// the drive, an upload to the same path or a restore); the oldest
    /// beyond this are deleted. 0 keeps none.
    #[arg(long, env = "GRAPHFS_VERSIONS_KEPT", default_value_t = 10)]
    pub versions_kept: u32,
    /// Sustained requests per second per user (0 turns rate limiting off).
    #[arg(long, env = "GRAPHFS_RATE_LIMIT_RPS", default_value_t = 200.0)]
    pub rate_limit_rps: f64,
    /// Requests a user may make at once above the sustained rate.
    #[arg(long, env = "GRAPHFS_RATE_LIMIT_BURST", default_value_t = 400.0)]
    pub rate_limit_burst: f64,
    /// Re-tags a user may ask for per minute, sustained, per replica: each
    /// is a tagging job, so a re-tag loop cannot flood the queue (0 turns
    /// the limit off).
    #[arg(long, env = "GRAPHFS_RETAG_PER_MINUTE", default_value_t = 60.0)]
    pub retag_per_minute: f64,
    /// Re-tags a user may ask for at once above that rate.
    #[arg(long, env = "GRAPHFS_RETAG_BURST", default_value_t = 30.0)]
    pub retag_burst: f64,
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
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, env = "GRAPHFS_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers before the
    /// connection is closed (slow or half-open clients).
    #[arg(
        long,
        env = "GRAPHFS_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub header_read_timeout_seconds: u64,
    /// Longest pause, in seconds, inside a request body; a stalled upload is
    /// refused and stores nothing.
    #[arg(long, env = "GRAPHFS_BODY_IDLE_TIMEOUT_SECONDS", default_value_t = 60)]
    pub body_idle_timeout_seconds: u64,
    /// Seconds from a request to its answer (503 after), for every request
    /// but those that carry or copy a file's bytes (uploads, a version
    /// restored, the drive's PUT, COPY and MOVE), whose time grows with the
    /// file; a download's body streams past it.
    #[arg(long, env = "GRAPHFS_REQUEST_TIMEOUT_SECONDS", default_value_t = 60)]
    pub request_timeout_seconds: u64,
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

/// The taxonomy in force until an admin imports one (`graphfs vocab
/// import`, `PUT /api/v1/taxonomy`), and the one an import extends when
/// none is imported yet.
#[derive(Debug, Clone, Args)]
pub struct DefaultTaxonomyArgs {
    /// The taxonomy every owner's vocabulary starts from, whose topics files
    /// get by meaning (with an embedding model only): builtin (the
    /// project's general one, about 100 topics), none, or a YAML or CSV file
    /// that replaces it. An imported taxonomy takes its place.
    #[arg(long, env = "GRAPHFS_TAXONOMY", default_value = "builtin")]
    pub taxonomy: String,
    /// A YAML or CSV taxonomy whose topics are added to --taxonomy (a topic
    /// of the same name replaces the one there).
    #[arg(long, env = "GRAPHFS_TAXONOMY_EXTRA")]
    pub taxonomy_extra: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct TaggingArgs {
    /// Tagging jobs worked on at once by this process (0: none). Default:
    /// one more than the CPU cores, at most 4: while one job waits on the
    /// index or its extraction, the others keep the cores busy.
    #[arg(long, env = "GRAPHFS_TAGGER_CONCURRENCY")]
    pub tagger_concurrency: Option<usize>,
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
    #[command(flatten)]
    pub default_taxonomy: DefaultTaxonomyArgs,
    /// Least similarity (cosine) between a file and a topic for the topic
    /// to tag the file.
    #[arg(long, env = "GRAPHFS_TAXONOMY_THRESHOLD", default_value_t = 0.2)]
    pub taxonomy_threshold: f32,
    /// Least similarity for a topic none of whose words (name, aliases,
    /// description) the file uses, when its text is in Latin script: such a
    /// topic is judged by meaning alone, which short texts fool.
    #[arg(
        long,
        env = "GRAPHFS_TAXONOMY_THRESHOLD_BY_MEANING",
        default_value_t = 0.4
    )]
    pub taxonomy_threshold_by_meaning: f32,
    /// Most taxonomy topics given to one file (within --tagger-max-tags).
    #[arg(long, env = "GRAPHFS_TAXONOMY_MAX_TAGS", default_value_t = 2)]
    pub taxonomy_max_tags: usize,
    /// Read the text in images, scanned PDFs and video keyframes with
    /// Tesseract (and poppler's pdftoppm, ffmpeg): auto uses them when they
    /// are installed.
    #[arg(long, env = "GRAPHFS_OCR", value_enum, default_value_t = OcrArg::Auto)]
    pub ocr: OcrArg,
    /// Tesseract languages, `+`-separated; those without installed data are
    /// left out (with a warning).
    #[arg(long, env = "GRAPHFS_OCR_LANGUAGES", default_value = "eng+chi_sim")]
    pub ocr_languages: String,
    /// Pages of a scanned PDF read by OCR, from the first.
    #[arg(long, env = "GRAPHFS_OCR_MAX_PAGES", default_value_t = 10)]
    pub ocr_max_pages: u32,
    /// Keyframes of a video read by OCR (with `ffmpeg` installed), spread
    /// over its length; the middle one is what a vision model sees. 0: none.
    #[arg(long, env = "GRAPHFS_OCR_VIDEO_FRAMES", default_value_t = 4)]
    pub ocr_video_frames: u32,
    /// Seconds OCR may take for one file, all pages together.
    #[arg(long, env = "GRAPHFS_OCR_TIMEOUT_SECONDS", default_value_t = 120)]
    pub ocr_timeout_seconds: u64,
    /// Most topic tags (keyword or LLM) given to one file, best first; type
    /// and metadata tags come on top.
    #[arg(long, env = "GRAPHFS_TAGGER_MAX_TAGS", default_value_t = 5)]
    pub tagger_max_tags: usize,
    /// Files of one owner that must propose a new tag before it joins their
    /// vocabulary (1: every proposal is a tag at once). A keyword only one
    /// file has stays searchable as text.
    #[arg(long, env = "GRAPHFS_TAG_MIN_FREQUENCY", default_value_t = 2)]
    pub tag_min_frequency: u64,
    /// In a larger collection a new tag needs more files: this times the
    /// square root of the owner's tagged files (rounded), when that is more
    /// than --tag-min-frequency: 4 files at 550, 17 at 10,000. 0 keeps
    /// --tag-min-frequency at every size.
    #[arg(long, env = "GRAPHFS_TAG_FREQUENCY_SCALE", default_value_t = graphfs_tagger::DEFAULT_FREQUENCY_SCALE)]
    pub tag_frequency_scale: f32,
    /// A proposed tag at least this similar (cosine, with embeddings) to a
    /// vocabulary tag becomes it.
    #[arg(long, env = "GRAPHFS_TAG_MATCH_THRESHOLD", default_value_t = 0.8)]
    pub tag_match_threshold: f32,
    /// How files are tagged: offline (keywords and metadata, nothing leaves
    /// the process), generative (the LLM proposes tags, matched to the
    /// vocabulary) or selective (the LLM picks from vocabulary tags).
    /// Without --llm-base-url, tagging is offline whatever this says.
    #[arg(long, env = "GRAPHFS_TAGGING_MODE", value_enum, default_value_t = TaggingModeArg::Generative)]
    pub tagging_mode: TaggingModeArg,
    #[command(flatten)]
    pub llm: LlmArgs,
    #[command(flatten)]
    pub embedding: EmbeddingArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OcrArg {
    /// On when `tesseract` is on PATH.
    Auto,
    /// On; the tagger does not start without `tesseract`.
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaggingModeArg {
    Offline,
    Generative,
    Selective,
}

/// The LLM endpoint: any OpenAI-compatible server.
#[derive(Debug, Clone, Args)]
pub struct LlmArgs {
    /// Base URL of an OpenAI-compatible API (OpenAI, vLLM, Ollama,
    /// llama.cpp, LM Studio), e.g. http://127.0.0.1:8000/v1. When set, file
    /// names, extracted text (bounded by --llm-prompt-chars), metadata and,
    /// with the models below, images and audio are sent there.
    #[arg(long, env = "GRAPHFS_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    /// Model that tags (a chat model, or a base model with --llm-api completions).
    #[arg(long, env = "GRAPHFS_LLM_CHAT_MODEL", default_value = "")]
    pub llm_chat_model: String,
    /// chat: /chat/completions; completions: few-shot /completions (base models).
    #[arg(long, env = "GRAPHFS_LLM_API", value_enum, default_value_t = LlmApiArg::Chat)]
    pub llm_api: LlmApiArg,
    /// A vision-capable chat model images are sent to (as image parts).
    #[arg(long, env = "GRAPHFS_LLM_VISION_MODEL")]
    pub llm_vision_model: Option<String>,
    /// A speech-to-text model audio and video are transcribed with, at
    /// --transcription-base-url; the transcript is the file's text
    /// (searched and tagged) in every tagging mode, offline included.
    #[arg(long, env = "GRAPHFS_LLM_TRANSCRIPTION_MODEL")]
    pub llm_transcription_model: Option<String>,
    /// Base URL of the OpenAI-compatible speech-to-text endpoint (default:
    /// --llm-base-url). Audio and video files are sent there.
    #[arg(long, env = "GRAPHFS_TRANSCRIPTION_BASE_URL")]
    pub transcription_base_url: Option<String>,
    /// API key (prefer --llm-api-key-file).
    #[arg(long, env = "GRAPHFS_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// File holding the API key (a mounted Secret).
    #[arg(long, env = "GRAPHFS_LLM_API_KEY_FILE")]
    pub llm_api_key_file: Option<PathBuf>,
    /// Seconds one model request may take; slow CPU models need more.
    #[arg(long, env = "GRAPHFS_LLM_TIMEOUT_SECONDS", default_value_t = 120)]
    pub llm_timeout_seconds: u64,
    /// Most tokens in one answer. A list of tags takes about 30 (Chinese
    /// more); small models that ramble on are cut here, and the tag an
    /// answer was cut inside is dropped.
    #[arg(long, env = "GRAPHFS_LLM_MAX_TOKENS", default_value_t = 48)]
    pub llm_max_tokens: u32,
    /// Characters of extracted content in one prompt.
    #[arg(long, env = "GRAPHFS_LLM_PROMPT_CHARS", default_value_t = 1500)]
    pub llm_prompt_chars: usize,
    /// Language of the tags: auto (the content's), en, zh, or a language name.
    #[arg(long, env = "GRAPHFS_TAG_LANGUAGE", default_value = "auto")]
    pub tag_language: String,
    /// Vocabulary tags offered to the model in selective mode.
    #[arg(long, env = "GRAPHFS_SELECTIVE_TOP_K", default_value_t = 20)]
    pub selective_top_k: usize,
}

/// Sign-in through an OpenID Connect provider: its access tokens (JWTs) are
/// accepted besides GraphFS's own API tokens.
#[derive(Args, Debug, Clone)]
pub struct OidcArgs {
    /// Issuer URL of the provider (its `iss`); sign-in with OIDC is off
    /// without it.
    #[arg(long, env = "GRAPHFS_OIDC_ISSUER_URL")]
    pub oidc_issuer_url: Option<String>,
    /// GraphFS's client id at the provider: tokens must name it in `aud`.
    #[arg(long, env = "GRAPHFS_OIDC_CLIENT_ID", default_value = "graphfs")]
    pub oidc_client_id: String,
    /// The client's secret, when the provider has GraphFS as a confidential
    /// client: sent with every code exchange and refresh (prefer
    /// --oidc-client-secret-file). A public client (PKCE only) has none.
    #[arg(long, env = "GRAPHFS_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// File holding the client's secret (a mounted Secret).
    #[arg(long, env = "GRAPHFS_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The claim that names the user.
    #[arg(
        long,
        env = "GRAPHFS_OIDC_USER_CLAIM",
        default_value = "preferred_username"
    )]
    pub oidc_user_claim: String,
    /// Put before provider user names, keeping them apart from token users.
    #[arg(long, env = "GRAPHFS_OIDC_USER_PREFIX", default_value = "oidc:")]
    pub oidc_user_prefix: String,
    /// The claim that lists the user's groups.
    #[arg(long, env = "GRAPHFS_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Groups whose members have the admin role (comma-separated).
    #[arg(long, env = "GRAPHFS_OIDC_ADMIN_GROUPS", value_delimiter = ',')]
    pub oidc_admin_groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LlmApiArg {
    Chat,
    Completions,
}

/// Sentence embeddings: semantic search, SIMILAR edges, vocabulary matching.
#[derive(Debug, Clone, Args)]
pub struct EmbeddingArgs {
    /// Folder with all-MiniLM-L6-v2 (model.safetensors, config.json,
    /// tokenizer.json), run in-process; nothing leaves the process.
    #[arg(long, env = "GRAPHFS_EMBEDDING_MODEL_DIR")]
    pub embedding_model_dir: Option<PathBuf>,
    /// Or an OpenAI-compatible /embeddings endpoint (its base URL).
    #[arg(long, env = "GRAPHFS_EMBEDDING_BASE_URL")]
    pub embedding_base_url: Option<String>,
    /// Model name at --embedding-base-url.
    #[arg(
        long,
        env = "GRAPHFS_EMBEDDING_MODEL",
        default_value = "all-MiniLM-L6-v2"
    )]
    pub embedding_model: String,
    /// SIMILAR edges going out of a file.
    #[arg(long, env = "GRAPHFS_SIMILAR_NEIGHBOURS", default_value_t = 5)]
    pub similar_neighbours: usize,
    /// Least cosine similarity for a SIMILAR edge.
    #[arg(long, env = "GRAPHFS_SIMILAR_THRESHOLD", default_value_t = 0.2)]
    pub similar_threshold: f32,
    /// Threads one in-process embedding uses. Files are embedded
    /// --tagger-concurrency at a time already; more threads per embedding
    /// on top make them wait on each other (about 25 % slower on 2 cores).
    /// Sets the model library's pool sizes (CANDLE_NUM_THREADS,
    /// RAYON_NUM_THREADS) when those are not set.
    #[arg(long, env = "GRAPHFS_EMBEDDING_THREADS", default_value_t = 1)]
    pub embedding_threads: usize,
}

impl Command {
    /// The embedding settings of a command that embeds.
    pub fn embedding(&self) -> Option<&EmbeddingArgs> {
        match self {
            Command::Serve(args) => Some(&args.tagging.embedding),
            Command::Tagger(args) => Some(&args.tagging.embedding),
            Command::Vocab(args) => Some(&args.embedding),
            _ => None,
        }
    }
}

/// `graphfs vocab` rebuilds the vocabulary; `import`, `export` and `reset`
/// manage the seeded taxonomy.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VocabArgs {
    #[command(subcommand)]
    pub action: Option<VocabAction>,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub embedding: EmbeddingArgs,
    /// Files behind a tag (with its synonyms) for it to stay in the vocabulary.
    #[arg(long, env = "GRAPHFS_VOCAB_MIN_COUNT", default_value_t = 2)]
    pub min_count: u64,
    /// Cosine similarity at which two tags are merged as synonyms.
    #[arg(long, env = "GRAPHFS_VOCAB_MERGE_THRESHOLD", default_value_t = 0.85)]
    pub merge_threshold: f32,
    /// Re-tag every file afterwards (false: only merge).
    #[arg(long, env = "GRAPHFS_VOCAB_RETAG", default_value_t = true, action = clap::ArgAction::Set)]
    pub retag: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum VocabAction {
    /// Import a taxonomy (topics with descriptions, aliases and parents; CSV
    /// when the file name ends in .csv, YAML otherwise) into the graph
    /// index, where every server and tagger reads it within seconds.
    Import {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        default_taxonomy: DefaultTaxonomyArgs,
        /// The taxonomy file.
        #[arg(env = "GRAPHFS_TAXONOMY_IMPORT_FILE")]
        file: PathBuf,
        /// The file's topics are all there is (default: they are added to
        /// the taxonomy in force, replacing topics of the same name).
        #[arg(long, env = "GRAPHFS_TAXONOMY_IMPORT_REPLACE")]
        replace: bool,
        /// Queue every file for tagging again, so existing files get the
        /// new topics.
        #[arg(long, env = "GRAPHFS_TAXONOMY_IMPORT_RETAG")]
        retag: bool,
    },
    /// Print the taxonomy in force as YAML (what `import` reads).
    Export {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        default_taxonomy: DefaultTaxonomyArgs,
    },
    /// Remove the imported taxonomy: the default (--taxonomy) is in force
    /// again.
    Reset {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RetagArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Wait until the queue is empty, showing progress.
    #[arg(long, env = "GRAPHFS_RETAG_WAIT")]
    pub wait: bool,
}

/// `graphfs token --user NAME` makes a token; `list` and `revoke` manage them.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: Option<TokenAction>,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The user the new token belongs to.
    #[arg(long, env = "GRAPHFS_TOKEN_USER")]
    pub user: Option<String>,
    /// What the token is for, shown in lists.
    #[arg(
        long,
        env = "GRAPHFS_TOKEN_LABEL",
        default_value = "made with graphfs token"
    )]
    pub label: String,
    /// Days until the token stops working (default: until revoked).
    #[arg(long, env = "GRAPHFS_TOKEN_EXPIRES_IN_DAYS")]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenAction {
    /// List tokens (ids, users, labels, sources, expiry; never the secrets).
    List {
        #[command(flatten)]
        storage: StorageArgs,
        /// Only this user's tokens.
        #[arg(long, env = "GRAPHFS_TOKEN_USER")]
        user: Option<String>,
    },
    /// Revoke a token by its id (from `graphfs token list`).
    Revoke {
        #[command(flatten)]
        storage: StorageArgs,
        /// The token's id.
        #[arg(long, env = "GRAPHFS_TOKEN_ID")]
        id: String,
    },
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
