//! `graphfs`: serve the API (with an in-process tagger), run a standalone
//! tagger, or create tokens.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use graphfs_api::app::{AppState, SharedState, new_token, token_hash};
use graphfs_api::config::{
    Cli, Command, DefaultTaxonomyArgs, EmbeddingArgs, GraphKind, LlmApiArg, LogArgs, LogFormat,
    OcrArg, OidcArgs, RetagArgs, ServeArgs, StorageArgs, StorageKind, TaggingArgs, TaggingModeArg,
    TokenAction, TokenArgs, VocabAction, VocabArgs,
};
use graphfs_api::http::{self, HttpLimits};
use graphfs_api::metrics::Metrics;
use graphfs_api::ratelimit::RateLimiter;
use graphfs_api::{app, orphans};
use graphfs_domain::{GraphIndex, NewToken, ObjectStore, TokenSource};
use graphfs_embeddings::{Embedder, MiniLm, OpenAiEmbedder};
use graphfs_extract::ocr::{self, OcrConfig};
use graphfs_extract::{Isolation, Limits};
use graphfs_store_local::{LocalObjectStore, SqliteGraphIndex};
use graphfs_store_neo4j::{Neo4jConfig, Neo4jGraphIndex};
use graphfs_store_s3::{S3Config, S3ObjectStore};
use graphfs_tagger::keywords::KeywordConfig;
use graphfs_tagger::llm::{LlmApi, LlmClient, LlmConfig};
use graphfs_tagger::parse::TagRules;
use graphfs_tagger::prompt::TagLanguage;
use graphfs_tagger::rebuild::{self, RebuildConfig};
use graphfs_tagger::taxonomy::{ImportMode, LiveTaxonomy, REFRESH, Taxonomy, Topics};
use graphfs_tagger::{
    Admission, AdmissionConfig, ExtractMode, OfflineTagger, SimilarityConfig, TagGptConfig,
    TagGptTagger, Tagger, TaggingMode, Worker, WorkerConfig, ZeroShot,
};
use tokio::sync::watch;

/// The model library (candle) sizes its thread pools from the environment
/// on first use. Set here, before this process starts any other thread
/// (the runtime, the log writer), unless the operator set them.
fn size_model_thread_pools(threads: usize) {
    let threads = threads.max(1).to_string();
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            // SAFETY: no other thread exists yet to read the environment.
            unsafe { std::env::set_var(var, &threads) };
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        print!("{}", graphfs_api::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    if let Command::ExtractWorker = cli.command {
        // Speaks JSON on stdout to its parent: no logging set up here.
        return graphfs_extract::child_main();
    }
    if let Some(embedding) = cli.command.embedding() {
        size_model_thread_pools(embedding.embedding_threads);
    }
    init_tracing(&cli.log);
    // ring and aws-lc are both linked (Neo4j driver, S3 SDK); rustls will not
    // choose between them for clients that take the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("graphfs: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Tagger(args) => tagger(args.storage, args.tagging).await,
            Command::Token(args) => token(args).await,
            Command::Vocab(args) => vocab(args).await,
            Command::Retag(args) => retag(args).await,
            Command::ExtractWorker | Command::Openapi => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("graphfs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(args: &LogArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

struct Backends {
    index: Arc<dyn GraphIndex>,
    store: Arc<dyn ObjectStore>,
}

async fn open_backends(storage: &StorageArgs) -> Result<Backends> {
    let dir = &storage.data_dir;
    let store: Arc<dyn ObjectStore> = match storage.storage {
        StorageKind::Embedded => Arc::new(
            LocalObjectStore::open(dir.join("objects"))
                .await
                .with_context(|| format!("opening the object store in {}", dir.display()))?,
        ),
        StorageKind::S3 => {
            let endpoint = storage
                .s3_endpoint
                .clone()
                .context("--s3-endpoint is required with --storage s3")?;
            Arc::new(
                S3ObjectStore::connect(S3Config {
                    endpoint: endpoint.clone(),
                    region: storage.s3_region.clone(),
                    bucket: storage.s3_bucket.clone(),
                    access_key_id: storage.s3_access_key_id.clone(),
                    secret_access_key: storage.s3_secret_access_key.clone(),
                    part_size: storage.s3_part_size_mb << 20,
                    upload_concurrency: storage.s3_upload_concurrency.into(),
                    upload_buffer_bytes: storage.s3_upload_buffer_mb << 20,
                    download_concurrency: storage.s3_download_concurrency.into(),
                    download_buffer_bytes: storage.s3_download_buffer_mb << 20,
                    timeout: Duration::from_secs(60),
                    notify_arn: storage.s3_notify_arn.clone(),
                })
                .await
                .with_context(|| format!("connecting to the object store at {endpoint}"))?,
            )
        }
    };
    let index: Arc<dyn GraphIndex> = match storage.graph {
        GraphKind::Embedded => {
            let index = SqliteGraphIndex::open(dir.join("graph.db"))
                .await
                .with_context(|| format!("opening the graph index in {}", dir.display()))?
                .with_semantic_index_min_files(storage.semantic_index_min_files);
            // Semantic search scans exactly until the graph is up.
            tokio::spawn({
                let index = index.clone();
                async move {
                    match index.build_semantic_index().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(vectors = n, "semantic search index built"),
                        Err(e) => {
                            tracing::warn!(error = %e, "building the semantic search index failed")
                        }
                    }
                }
            });
            Arc::new(index)
        }
        GraphKind::Neo4j => {
            let uri = storage
                .neo4j_uri
                .clone()
                .context("--neo4j-uri is required with --graph neo4j")?;
            Arc::new(
                Neo4jGraphIndex::connect(Neo4jConfig {
                    uri: uri.clone(),
                    user: storage.neo4j_user.clone(),
                    password: storage.neo4j_password.clone(),
                    max_connections: 16,
                    timeout: std::time::Duration::from_secs(storage.neo4j_timeout_seconds.max(1)),
                })
                .await
                .with_context(|| format!("connecting to the graph database at {uri}"))?,
            )
        }
    };
    Ok(Backends { index, store })
}

/// The tokens file: `user:token` lines; blank lines and `#` comments are
/// skipped. Any bad line fails the whole file, so that a half-written file
/// never removes the tokens it failed to list.
async fn read_tokens_file(path: &Path) -> Result<Vec<NewToken>> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("reading tokens file {}", path.display()))?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (user, token) = line
            .split_once(':')
            .with_context(|| format!("{}:{}: expected user:token", path.display(), i + 1))?;
        let (user, token) = (user.trim(), token.trim());
        anyhow::ensure!(
            !user.is_empty() && token.len() >= 16,
            "{}:{}: user must be non-empty and the token at least 16 characters",
            path.display(),
            i + 1
        );
        tokens.push(NewToken {
            user: user.to_string(),
            sha256: token_hash(token),
            label: "tokens file".into(),
            source: TokenSource::File,
            expires_at: None,
        });
    }
    Ok(tokens)
}

/// Registers the tokens the file lists and removes those it no longer does.
async fn sync_tokens_file(index: &dyn GraphIndex, path: &Path) -> Result<(usize, usize)> {
    let tokens = read_tokens_file(path).await?;
    Ok(index.sync_file_tokens(&tokens).await?)
}

/// Re-reads the tokens file every `every`; a file that cannot be read or
/// parsed leaves the tokens as they are.
fn spawn_tokens_file_sync(state: SharedState, path: PathBuf, every: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match sync_tokens_file(state.index.as_ref(), &path).await {
                Ok((added, removed)) if added + removed > 0 => {
                    if removed > 0 {
                        state.tokens.clear();
                    }
                    tracing::info!(added, removed, "tokens file changed");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "tokens file not synced; keeping the tokens as they are")
                }
            }
        }
    });
}

fn worker_config(storage: &StorageArgs, t: &TaggingArgs) -> Result<WorkerConfig> {
    let mut cfg = WorkerConfig::new(app::instance_name(), storage.data_dir.join("scratch"));
    cfg.concurrency = t.tagger_concurrency.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores + 1).min(4)
    });
    cfg.lease = Duration::from_secs(t.tagger_lease_seconds.max(1));
    cfg.max_attempts = t.tagger_max_attempts.max(1);
    cfg.backoff_base = Duration::from_millis(t.tagger_backoff_ms);
    cfg.backoff_max = Duration::from_secs(t.tagger_backoff_max_seconds);
    cfg.poll_interval = Duration::from_millis(t.tagger_poll_ms.max(10));
    cfg.limits = Limits {
        max_input_bytes: t.extract_max_input_mb << 20,
        ..Limits::default()
    };
    let timeout = Duration::from_secs(t.extract_timeout_seconds.max(1));
    cfg.extract = if t.extract_isolated {
        let (program, args) = extraction_program()?;
        ExtractMode::Isolated(Isolation {
            program,
            args,
            timeout,
            memory_limit_bytes: t.extract_memory_mb << 20,
            cpu_seconds: t.extract_timeout_seconds.max(1) + 1,
        })
    } else {
        ExtractMode::InProcess { timeout }
    };
    cfg.ocr = ocr_config(t)?;
    cfg.transcriber = transcriber(t)?;
    Ok(cfg)
}

/// The program a tagger runs, confined, for each file's extraction:
/// `graphfs-extract-worker` beside this binary, as `make release` and the
/// image install it, else this binary as `graphfs extract-worker`. Both run
/// the same code; the small one starts in about a fifth of the CPU time
/// (docs/performance.md).
fn extraction_program() -> Result<(PathBuf, Vec<String>)> {
    let me = std::env::current_exe().context("locating the graphfs binary for extraction")?;
    let worker = me.with_file_name("graphfs-extract-worker");
    if worker.is_file() {
        tracing::info!(program = %worker.display(), "extraction runs in its own binary");
        return Ok((worker, Vec::new()));
    }
    Ok((me, vec!["extract-worker".into()]))
}

/// The speech-to-text client the flags ask for: a transcription model and
/// an endpoint (its own, or the LLM's).
fn transcriber(t: &TaggingArgs) -> Result<Option<LlmClient>> {
    let llm = &t.llm;
    let Some(model) = llm
        .llm_transcription_model
        .clone()
        .filter(|m| !m.is_empty())
    else {
        return Ok(None);
    };
    let Some(url) = [&llm.transcription_base_url, &llm.llm_base_url]
        .into_iter()
        .flatten()
        .find(|u| !u.is_empty())
    else {
        anyhow::bail!(
            "--llm-transcription-model is set: name its endpoint with --transcription-base-url \
             (GRAPHFS_TRANSCRIPTION_BASE_URL) or --llm-base-url"
        );
    };
    tracing::info!(%url, %model, "audio and video are transcribed");
    Ok(Some(LlmClient::new(LlmConfig {
        base_url: url.clone(),
        api_key: llm_api_key(t)?,
        model: String::new(),
        api: LlmApi::Chat,
        vision_model: None,
        transcription_model: Some(model),
        timeout: Duration::from_secs(llm.llm_timeout_seconds.max(1)),
        max_tokens: llm.llm_max_tokens.max(8),
    })))
}

/// OCR as the flags ask, with the languages Tesseract has data for.
fn ocr_config(t: &TaggingArgs) -> Result<Option<OcrConfig>> {
    if t.ocr == OcrArg::Off {
        return Ok(None);
    }
    let Some(mut ocr) = OcrConfig::detect(&t.ocr_languages) else {
        anyhow::ensure!(
            t.ocr == OcrArg::Auto,
            "--ocr on: `tesseract` is not on PATH (Debian: apt-get install tesseract-ocr)"
        );
        tracing::info!("OCR off: `tesseract` is not installed; images are tagged from metadata");
        return Ok(None);
    };
    let installed = ocr::installed_languages(&ocr.tesseract)
        .with_context(|| format!("asking {} for its languages", ocr.tesseract.display()))?;
    let (have, missing): (Vec<&str>, Vec<&str>) = t
        .ocr_languages
        .split('+')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .partition(|l| installed.iter().any(|i| i == l));
    if !missing.is_empty() {
        tracing::warn!(
            ?missing,
            ?installed,
            "OCR languages without data are left out"
        );
    }
    anyhow::ensure!(
        !have.is_empty(),
        "none of the OCR languages {:?} is installed (Tesseract has {installed:?})",
        t.ocr_languages
    );
    ocr.languages = have.join("+");
    ocr.max_pages = t.ocr_max_pages.clamp(1, 1000);
    ocr.video_frames = t.ocr_video_frames.min(100);
    ocr.timeout = Duration::from_secs(t.ocr_timeout_seconds.max(1));
    ocr.memory_limit_bytes = t.extract_memory_mb << 20;
    tracing::info!(
        languages = %ocr.languages,
        pdf = ocr.pdftoppm.is_some(),
        video = ocr.ffmpeg.is_some() && ocr.video_frames > 0,
        "OCR on"
    );
    Ok(Some(ocr))
}

/// The sentence embedder the flags name, if any.
fn embedder(args: &EmbeddingArgs, api_key: Option<&str>) -> Result<Option<Arc<dyn Embedder>>> {
    if let Some(url) = &args.embedding_base_url {
        tracing::info!(%url, model = %args.embedding_model, "embeddings from an OpenAI-compatible endpoint");
        return Ok(Some(Arc::new(OpenAiEmbedder::new(
            url,
            api_key,
            &args.embedding_model,
            Duration::from_secs(60),
        ))));
    }
    match &args.embedding_model_dir {
        Some(dir) => {
            let m = MiniLm::load(dir)
                .with_context(|| format!("loading the embedding model from {}", dir.display()))?;
            tracing::info!(dir = %dir.display(), "embeddings in-process (all-MiniLM-L6-v2)");
            Ok(Some(Arc::new(m)))
        }
        None => {
            tracing::info!("no embedding model configured: no semantic search or similar files");
            Ok(None)
        }
    }
}

fn llm_api_key(t: &TaggingArgs) -> Result<Option<String>> {
    if let Some(path) = &t.llm.llm_api_key_file {
        let key = std::fs::read_to_string(path)
            .with_context(|| format!("reading the API key from {}", path.display()))?;
        return Ok(Some(key.trim().to_string()).filter(|k| !k.is_empty()));
    }
    Ok(t.llm.llm_api_key.clone().filter(|k| !k.is_empty()))
}

/// The taxonomy in force: an admin's import in the graph index, else the
/// one the flags name (checked even without an embedding model, so a bad
/// file is found at start).
async fn live_taxonomy(backends: &Backends, t: &TaggingArgs) -> Result<Arc<LiveTaxonomy>> {
    let live = LiveTaxonomy::open(
        default_taxonomy(&t.default_taxonomy)?,
        backends.index.clone(),
        REFRESH,
    )
    .await
    .context("reading the imported taxonomy")?;
    Ok(Arc::new(live))
}

/// The taxonomy the flags name.
fn default_taxonomy(t: &DefaultTaxonomyArgs) -> Result<Option<Taxonomy>> {
    let base = match t.taxonomy.as_str() {
        "none" | "" => None,
        "builtin" => Some(Taxonomy::builtin()),
        path => Some(
            Taxonomy::load(std::path::Path::new(path))
                .with_context(|| format!("--taxonomy {path}"))?,
        ),
    };
    let Some(path) = &t.taxonomy_extra else {
        return Ok(base);
    };
    let extra = || format!("--taxonomy-extra {}", path.display());
    let more = Taxonomy::read_topics(path).with_context(extra)?;
    Ok(Some(
        match base {
            None => Taxonomy::new(more),
            Some(base) => base.extended(more),
        }
        .with_context(extra)?,
    ))
}

/// The tagger the flags ask for: the LLM tagger when an endpoint is set and
/// the mode is not offline, the offline tagger otherwise.
fn make_tagger(
    backends: &Backends,
    tagging: &TaggingArgs,
    embedder: Option<&Arc<dyn Embedder>>,
    taxonomy: &Arc<LiveTaxonomy>,
) -> Result<Arc<dyn Tagger>> {
    let max_tags = tagging.tagger_max_tags.clamp(1, 32);
    let mut admission = Admission::new(
        backends.index.clone(),
        embedder.cloned(),
        AdmissionConfig {
            min_frequency: tagging.tag_min_frequency.max(1),
            // NaN or infinite: a fixed threshold.
            frequency_scale: Some(tagging.tag_frequency_scale)
                .filter(|s| s.is_finite())
                .map_or(0.0, |s| s.clamp(0.0, 100.0)),
            match_threshold: tagging.tag_match_threshold.clamp(0.0, 1.0),
            ..AdmissionConfig::default()
        },
    );
    if let Some(embedder) = embedder {
        tracing::info!("taxonomy topics are assigned by meaning");
        admission =
            admission.with_topics(Arc::new(Topics::new(taxonomy.clone(), embedder.clone())));
    }
    let admission = Arc::new(admission);
    let offline = OfflineTagger::new(
        backends.index.clone(),
        KeywordConfig {
            // More candidates than tags: the vocabulary turns some away.
            max_tags: (2 * max_tags).max(10),
            ..KeywordConfig::default()
        },
        admission,
        max_tags,
    )
    .with_zero_shot(ZeroShot {
        threshold: tagging.taxonomy_threshold.clamp(-1.0, 1.0),
        unsupported_threshold: tagging.taxonomy_threshold_by_meaning.clamp(-1.0, 1.0),
        max_tags: tagging.taxonomy_max_tags.min(max_tags),
        ..ZeroShot::default()
    });
    let llm = &tagging.llm;
    let base_url = llm.llm_base_url.as_deref().filter(|u| !u.is_empty());
    let mode = match tagging.tagging_mode {
        TaggingModeArg::Offline => None,
        TaggingModeArg::Generative => Some(TaggingMode::Generative),
        TaggingModeArg::Selective => Some(TaggingMode::Selective),
    };
    let (Some(mode), Some(base_url)) = (mode, base_url) else {
        tracing::info!("offline tagging: keywords and metadata; nothing leaves this process");
        return Ok(Arc::new(offline));
    };
    anyhow::ensure!(
        !llm.llm_chat_model.is_empty(),
        "--llm-base-url is set: name the model with --llm-chat-model (GRAPHFS_LLM_CHAT_MODEL)"
    );
    let embedder = embedder.cloned().context(
        "the LLM tagger matches tags to the vocabulary by meaning: set --embedding-model-dir \
         or --embedding-base-url",
    )?;
    let client = LlmClient::new(LlmConfig {
        base_url: base_url.to_string(),
        api_key: llm_api_key(tagging)?,
        model: llm.llm_chat_model.clone(),
        api: match llm.llm_api {
            LlmApiArg::Chat => LlmApi::Chat,
            LlmApiArg::Completions => LlmApi::Completions,
        },
        vision_model: llm.llm_vision_model.clone().filter(|m| !m.is_empty()),
        // Speech is transcribed by the worker, before any tagger.
        transcription_model: None,
        timeout: Duration::from_secs(llm.llm_timeout_seconds.max(1)),
        max_tokens: llm.llm_max_tokens.max(8),
    });
    tracing::info!(url = %base_url, model = %llm.llm_chat_model, ?mode, "LLM tagging");
    Ok(Arc::new(TagGptTagger::new(
        client,
        embedder,
        offline,
        TagGptConfig {
            mode,
            rules: TagRules {
                max_tags,
                ..TagRules::default()
            },
            top_k: llm.selective_top_k.clamp(1, 200),
            language: TagLanguage::parse(&llm.tag_language),
            max_prompt_chars: llm.llm_prompt_chars.clamp(200, 100_000),
            ..TagGptConfig::default()
        },
    )))
}

/// Records the embedding model in the index (a changed model queues every
/// file to be embedded again). An endpoint model's length is learnt by
/// embedding one text; while the endpoint is down this is retried in the
/// background, and embeddings are refused until it succeeds.
async fn record_embedding_model(index: Arc<dyn GraphIndex>, embedder: Option<&Arc<dyn Embedder>>) {
    let Some(embedder) = embedder.cloned() else {
        return;
    };
    let attempt = move || {
        let (index, embedder) = (index.clone(), embedder.clone());
        async move {
            if embedder.dimensions() == 0 {
                embedder
                    .embed(&["dimension probe".to_string()])
                    .await
                    .map_err(|e| anyhow::anyhow!("embedding one text to learn the length: {e}"))?;
            }
            let (model, dims) = (embedder.model_name().to_string(), embedder.dimensions());
            let queued = index.use_embedding_model(&model, dims).await?;
            if queued > 0 {
                tracing::warn!(%model, dims, queued, "the embedding model changed: every file is queued to be embedded again");
            } else {
                tracing::info!(%model, dims, "embedding model recorded");
            }
            anyhow::Ok(())
        }
    };
    if let Err(e) = attempt().await {
        tracing::warn!(error = %e, "cannot record the embedding model yet; retrying in the background");
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                match attempt().await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "cannot record the embedding model yet"),
                }
            }
        });
    }
}

/// The verifier of the OIDC provider's tokens, when one is configured. Its
/// discovery document and keys are read now when the provider answers; a
/// provider that does not (down, or naming another issuer) is logged and
/// tried again later, so a pod does not restart until its provider is up.
async fn oidc_verifier(args: &OidcArgs) -> Result<Option<graphfs_api::oidc::OidcVerifier>> {
    let Some(issuer) = &args.oidc_issuer_url else {
        return Ok(None);
    };
    let client_secret = match &args.oidc_client_secret_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the OIDC client secret from {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => args.oidc_client_secret.clone(),
    }
    .filter(|s| !s.is_empty());
    let config = graphfs_api::oidc::OidcConfig {
        issuer: issuer.clone(),
        audience: args.oidc_client_id.clone(),
        client_secret,
        user_claim: args.oidc_user_claim.clone(),
        user_prefix: args.oidc_user_prefix.clone(),
        groups_claim: args.oidc_groups_claim.clone(),
        admin_groups: args
            .oidc_admin_groups
            .iter()
            .map(|g| g.trim().trim_start_matches('/').to_string())
            .filter(|g| !g.is_empty())
            .collect(),
    };
    let config_is_confidential = config.client_secret.is_some();
    let verifier = graphfs_api::oidc::OidcVerifier::new(config)
        .with_context(|| format!("setting up the OIDC provider at {issuer}"))?;
    tracing::info!(%issuer, client = %args.oidc_client_id, confidential = config_is_confidential, "sign-in with OIDC: provider tokens are accepted");
    // A provider down now is tried again when a provider token or a
    // sign-in needs it (the failure is logged there); API tokens work
    // meanwhile.
    let _ = verifier.discover().await;
    Ok(Some(verifier))
}

/// Checks that an extraction worker starts and is confined, before any file
/// is given to one: where the kernel refuses the syscall filter, tagging
/// would otherwise fail file by file.
async fn check_sandbox(iso: &Isolation) -> Result<()> {
    // The confinement is what is checked; memory and CPU limits are per file.
    let unlimited = Isolation {
        memory_limit_bytes: 0,
        cpu_seconds: 0,
        ..iso.clone()
    };
    let report =
        graphfs_extract::probe_isolated(&unlimited, &graphfs_extract::SandboxProbe::default())
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "the extraction sandbox does not work here ({e}); \
                 --extract-isolated=false extracts in-process, unconfined"
                )
            })?;
    anyhow::ensure!(
        report.environment.is_empty(),
        "the extraction worker was given an environment: {:?}",
        report.environment
    );
    tracing::info!("extraction runs confined: no environment, files, sockets or programs");
    Ok(())
}

async fn start_worker(
    backends: &Backends,
    storage: &StorageArgs,
    tagging: &TaggingArgs,
    embedder: Option<&Arc<dyn Embedder>>,
    taxonomy: &Arc<LiveTaxonomy>,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>> {
    let config = worker_config(storage, tagging)?;
    if config.concurrency > 0
        && let ExtractMode::Isolated(iso) = &config.extract
    {
        check_sandbox(iso).await?;
    }
    let tagger = make_tagger(backends, tagging, embedder, taxonomy)?;
    let mut worker = Worker::new(
        backends.index.clone(),
        backends.store.clone(),
        tagger,
        config,
    );
    if let Some(e) = embedder {
        worker = worker.with_embeddings(
            e.clone(),
            SimilarityConfig {
                neighbours: tagging.embedding.similar_neighbours,
                threshold: tagging.embedding.similar_threshold,
            },
        );
    }
    Ok(tokio::spawn(worker.run(shutdown)))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested");
}

async fn serve(args: ServeArgs) -> Result<()> {
    let backends = open_backends(&args.storage).await?;
    if let Some(path) = &args.tokens_file {
        let (added, removed) = sync_tokens_file(backends.index.as_ref(), path).await?;
        tracing::info!(added, removed, "tokens file synced");
    }
    let dev_token = if args.dev || args.dev_token.is_some() {
        let token = args.dev_token.clone().unwrap_or_else(new_token);
        backends
            .index
            .add_token(NewToken {
                user: "dev".into(),
                sha256: token_hash(&token),
                label: "development server".into(),
                source: TokenSource::Dev,
                expires_at: None,
            })
            .await?;
        Some(token)
    } else {
        None
    };
    let embedder = embedder(
        &args.tagging.embedding,
        llm_api_key(&args.tagging)?.as_deref(),
    )?;
    record_embedding_model(backends.index.clone(), embedder.as_ref()).await;
    let taxonomy = live_taxonomy(&backends, &args.tagging).await?;
    let state = Arc::new(AppState {
        embedder: embedder.clone(),
        index: backends.index.clone(),
        store: backends.store.clone(),
        metrics: Metrics::default(),
        limiter: RateLimiter::new(args.rate_limit_rps, args.rate_limit_burst),
        retag_limiter: RateLimiter::new(args.retag_per_minute / 60.0, args.retag_burst),
        tokens: Default::default(),
        max_upload_bytes: args.max_upload_bytes,
        versions_kept: args.versions_kept,
        webhook_token: args.s3_webhook_token.clone().filter(|t| !t.is_empty()),
        ingest_owner: args.ingest_owner.clone(),
        admins: args
            .admin_users
            .iter()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .chain(dev_token.is_some().then(|| "dev".to_string()))
            .collect(),
        oidc: oidc_verifier(&args.oidc).await?,
        taxonomy: taxonomy.clone(),
    });
    if let Some(path) = &args.tokens_file {
        spawn_tokens_file_sync(
            state.clone(),
            path.clone(),
            Duration::from_secs(args.tokens_file_sync_seconds.max(1)),
        );
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = start_worker(
        &backends,
        &args.storage,
        &args.tagging,
        embedder.as_ref(),
        &taxonomy,
        stop_rx,
    )
    .await?;
    orphans::spawn_periodic(
        backends.index.clone(),
        backends.store.clone(),
        Duration::from_secs(args.reconcile_interval_seconds.max(1)),
        Duration::from_secs(args.orphan_grace_seconds),
        args.ingest_owner.clone(),
    );
    tracing::info!(%addr, data_dir = %args.storage.data_dir.display(), "GraphFS listening");
    if let Some(token) = &dev_token {
        // Printed once, to the terminal of whoever started the server.
        println!("GraphFS is running at http://{addr}/");
        println!("Data folder: {}", args.storage.data_dir.display());
        if args.dev_token.is_none() {
            println!("Sign in with this token (shown only now): {token}");
        } else {
            println!("Sign in with the token from GRAPHFS_DEV_TOKEN.");
        }
    }
    let grace = Duration::from_secs(args.shutdown_grace_seconds);
    let limits = HttpLimits {
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds.max(1)),
        body_idle_timeout: Duration::from_secs(args.body_idle_timeout_seconds.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout_seconds.max(1)),
        shutdown_grace: grace,
    };
    http::serve(listener, app::router(state), limits, async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    })
    .await
    .context("serving HTTP")?;
    if tokio::time::timeout(grace, worker).await.is_err() {
        tracing::warn!("tagging worker did not stop within the grace period");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn tagger(storage: StorageArgs, tagging: TaggingArgs) -> Result<()> {
    let backends = open_backends(&storage).await?;
    let embedder = embedder(&tagging.embedding, llm_api_key(&tagging)?.as_deref())?;
    record_embedding_model(backends.index.clone(), embedder.as_ref()).await;
    let taxonomy = live_taxonomy(&backends, &tagging).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = start_worker(
        &backends,
        &storage,
        &tagging,
        embedder.as_ref(),
        &taxonomy,
        stop_rx,
    )
    .await?;
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    worker.await.context("tagging worker")?;
    Ok(())
}

/// A one-line progress bar on stderr: `[#####.....] 50/100`.
fn progress(label: &str, done: usize, total: usize) {
    use std::io::Write;
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r{label} [{}{}] {done}/{total}",
        "#".repeat(filled),
        ".".repeat(width - filled)
    );
    if done >= total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

/// Waits until no job is pending or running, with a progress bar.
async fn wait_for_queue(index: &Arc<dyn GraphIndex>, total: usize) -> Result<()> {
    loop {
        let depth = index.queue_depth().await?;
        let left = (depth.pending + depth.in_flight) as usize;
        progress("tagging", total.saturating_sub(left), total);
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn vocab(args: VocabArgs) -> Result<()> {
    if let Some(action) = args.action {
        return taxonomy_command(action).await;
    }
    let backends = open_backends(&args.storage).await?;
    let embedder = embedder(&args.embedding, None)?
        .context("rebuilding the vocabulary needs embeddings: set --embedding-model-dir or --embedding-base-url")?;
    let report = rebuild::rebuild(
        &backends.index,
        &embedder,
        &RebuildConfig {
            min_count: args.min_count.max(1),
            merge_threshold: args.merge_threshold.clamp(0.0, 1.0),
        },
    )
    .await?;
    println!(
        "vocabulary: {} tags and candidates considered, {} kept, {} merged",
        report.considered,
        report.clusters.len(),
        report.merged.len()
    );
    for (from, into) in &report.merged {
        println!("  merged '{from}' into '{into}'");
    }
    if args.retag {
        let n = rebuild::requeue_all(&backends.index, |d, t| progress("queueing", d, t)).await?;
        println!("queued {n} files for re-tagging; running taggers pick them up");
    }
    Ok(())
}

/// `graphfs vocab import | export | reset`.
async fn taxonomy_command(action: VocabAction) -> Result<()> {
    let open = |storage: &StorageArgs, default: Option<&DefaultTaxonomyArgs>| {
        let (storage, default) = (storage.clone(), default.cloned());
        async move {
            let backends = open_backends(&storage).await?;
            let default = match &default {
                Some(d) => default_taxonomy(d)?,
                None => None,
            };
            let live = LiveTaxonomy::open(default, backends.index.clone(), Duration::ZERO)
                .await
                .context("reading the imported taxonomy")?;
            anyhow::Ok((backends, live))
        }
    };
    match action {
        VocabAction::Import {
            storage,
            default_taxonomy,
            file,
            replace,
            retag,
        } => {
            let importing = || format!("importing {}", file.display());
            let topics = Taxonomy::read_topics(&file).with_context(importing)?;
            let imported = topics.len();
            let (backends, live) = open(&storage, Some(&default_taxonomy)).await?;
            let mode = if replace {
                ImportMode::Replace
            } else {
                ImportMode::Extend
            };
            let now = live.import(topics, mode).await.with_context(importing)?;
            println!(
                "imported {imported} topics from {}; {} topics in force (version {})",
                file.display(),
                now.taxonomy.as_ref().map_or(0, |t| t.len()),
                now.version
            );
            if retag {
                let n = rebuild::requeue_all(&backends.index, |d, t| progress("queueing", d, t))
                    .await?;
                println!("queued {n} files for re-tagging; running taggers pick them up");
            }
        }
        VocabAction::Export {
            storage,
            default_taxonomy,
        } => {
            let (_, live) = open(&storage, Some(&default_taxonomy)).await?;
            let now = live.in_force().await;
            match &now.taxonomy {
                Some(t) => print!("{}", t.to_yaml()),
                None => println!("topics: []"),
            }
        }
        VocabAction::Reset { storage } => {
            let (_, live) = open(&storage, None).await?;
            let now = live.reset().await?;
            println!(
                "the imported taxonomy is removed (version {}); servers use their --taxonomy",
                now.version
            );
        }
    }
    Ok(())
}

async fn retag(args: RetagArgs) -> Result<()> {
    let backends = open_backends(&args.storage).await?;
    let n = rebuild::requeue_all(&backends.index, |d, t| progress("queueing", d, t)).await?;
    println!("queued {n} files for re-tagging");
    if args.wait {
        wait_for_queue(&backends.index, n).await?;
    }
    Ok(())
}

async fn token(args: TokenArgs) -> Result<()> {
    match args.action {
        Some(TokenAction::List { storage, user }) => {
            let backends = open_backends(&storage).await?;
            let tokens = backends.index.list_tokens(user.as_deref()).await?;
            println!(
                "{:<12}  {:<20}  {:<6}  {:<20}  {:<20}  LABEL",
                "ID", "USER", "SOURCE", "CREATED", "EXPIRES"
            );
            for t in tokens {
                let expires = match t.expires_at {
                    Some(at) if at <= chrono::Utc::now() => {
                        format!("expired {}", at.format("%Y-%m-%d"))
                    }
                    Some(at) => at.format("%Y-%m-%d %H:%M").to_string(),
                    None => "never".into(),
                };
                println!(
                    "{:<12}  {:<20}  {:<6}  {:<20}  {:<20}  {}",
                    t.id,
                    t.user,
                    t.source.as_str(),
                    t.created_at.format("%Y-%m-%d %H:%M"),
                    expires,
                    t.label
                );
            }
            Ok(())
        }
        Some(TokenAction::Revoke { storage, id }) => {
            let backends = open_backends(&storage).await?;
            let t = backends.index.revoke_token(None, id.trim()).await?;
            if t.source == TokenSource::File {
                eprintln!(
                    "revoked {} of {}; it is in the tokens file, so the next sync brings it back unless it is removed there",
                    t.id, t.user
                );
            } else {
                eprintln!(
                    "revoked {} of {} (API servers stop accepting it within seconds)",
                    t.id, t.user
                );
            }
            Ok(())
        }
        None => {
            let user = args.user.as_deref().map(str::trim).context(
                "graphfs token --user NAME makes a token; graphfs token list | revoke manage them",
            )?;
            anyhow::ensure!(
                !user.is_empty()
                    && user.len() <= 64
                    && user
                        .chars()
                        .all(|c| c.is_alphanumeric() || "-_.@".contains(c)),
                "user names are 1-64 letters, digits or - _ . @"
            );
            let label = graphfs_domain::normalize_label(&args.label)
                .map_err(|e| anyhow::anyhow!("--label: {e}"))?;
            let expires_at = graphfs_domain::token_expiry(args.expires_in_days, chrono::Utc::now())
                .with_context(|| {
                    format!(
                        "--expires-in-days must be between 1 and {}",
                        graphfs_domain::MAX_TOKEN_DAYS
                    )
                })?;
            let backends = open_backends(&args.storage).await?;
            let token = new_token();
            backends
                .index
                .add_token(NewToken {
                    user: user.to_string(),
                    sha256: token_hash(&token),
                    label,
                    source: TokenSource::Cli,
                    expires_at,
                })
                .await?;
            println!("{token}");
            Ok(())
        }
    }
}
