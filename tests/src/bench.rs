//! `make bench`: figures for the API on its embedded backends, each against a
//! fresh release server on loopback.
//!
//! - uploads/s of 4 KiB files (16 concurrent clients)
//! - MiB/s of one 256 MiB upload and download, with the server's peak RSS
//! - on MinIO: the same through the API against aws-sdk-s3 directly
//! - p50/p99 of full-text search, files by name prefix and files with a
//!   tag over 10,000 tagged files (SQLite) and 10,000 and 100,000 (Neo4j)
//! - tagging throughput (files/s, and per core): offline, offline with
//!   in-process embeddings, and with the local LLM (SmolLM2 behind
//!   llama-cpp-python) in generative mode
//! - p50/p99 and recall@10 of semantic search over 10,000, 100,000 and
//!   1,000,000 files (SQLite's HNSW graph against its exact scan) and over
//!   10,000 and 100,000 (Neo4j's vector index against an exact Cypher scan)

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt};
use graphfs_domain::Similarity;
use graphfs_e2e::servers::ExternalServer;
use graphfs_e2e::{Server, proc_status_kib, reset_peak_rss};

#[path = "bench/scale.rs"]
mod scale;
#[path = "bench/semantic.rs"]
mod semantic;

const WORDS: &[&str] = &[
    "river",
    "mountain",
    "glacier",
    "volcano",
    "forest",
    "desert",
    "ocean",
    "island",
    "canyon",
    "prairie",
    "tundra",
    "delta",
    "lagoon",
    "reef",
    "valley",
    "plateau",
    "marsh",
    "geyser",
    "harbor",
    "meadow",
    "summit",
    "estuary",
    "fjord",
    "savanna",
    "steppe",
    "oasis",
    "dune",
    "basin",
    "ridge",
    "cliff",
    "cave",
    "spring",
    "waterfall",
    "swamp",
    "peninsula",
    "archipelago",
    "budget",
    "invoice",
    "contract",
    "meeting",
    "report",
    "schedule",
    "network",
    "database",
    "compiler",
    "kernel",
    "protocol",
    "algorithm",
    "telescope",
    "galaxy",
    "planet",
    "comet",
];

fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Latencies of one kind of query, sent in two passes of the same
/// requests: the first after the corpus was written, while the server
/// still plans each query shape for the first time and the JVM compiles
/// the code that answers it; the second as a running installation answers,
/// the figure the targets are read against.
struct Passes {
    first: Vec<Duration>,
    warm: Vec<Duration>,
}

/// [`Passes`] of `queries` GETs of `path`, the i-th with the query pairs
/// `pairs(i)` gives, in the order sent.
async fn latencies(
    s: &Server,
    path: &str,
    queries: usize,
    pairs: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> Result<Passes> {
    let mut passes = [Vec::with_capacity(queries), Vec::with_capacity(queries)];
    for lat in &mut passes {
        for i in 0..queries {
            let t = Instant::now();
            let resp = s.get(path).query(&pairs(i)).send().await?;
            anyhow::ensure!(resp.status() == 200, "{path} failed: {}", resp.status());
            let body = resp.bytes().await?;
            lat.push(t.elapsed());
            // Every query of the corpus has answers: a fast empty one is a fault.
            let found: serde_json::Value = serde_json::from_slice(&body)?;
            anyhow::ensure!(
                found["items"].as_array().is_some_and(|a| !a.is_empty()),
                "{path} {:?} found nothing",
                pairs(i)
            );
        }
    }
    let [first, warm] = passes;
    Ok(Passes { first, warm })
}

/// Prints p50 and p99 of each kind of query over the corpus: full-text
/// search (one, two and prefix words), files by name prefix, files with a
/// tag (one of `tags`), and the viewer's tag list.
async fn query_latencies(s: &Server, what: &str, queries: usize, tags: &[String]) -> Result<()> {
    // Full-text and tag filters have a target at a million files.
    // p50 and p99 in ms.
    let ms = |lat: &[Duration]| {
        let mut sorted = lat.to_vec();
        sorted.sort();
        let at = |p| percentile(&sorted, p).as_secs_f64() * 1000.0;
        (at(0.5), at(0.99))
    };
    let line = |kind: &str, passes: &Passes| {
        let target = match kind {
            "search" => {
                "; target at 1,000,000 files: p99 <= 50 ms; anchor: p99 11.4 ms at 100,000 files on Neo4j"
            }
            "files with a tag" => "; target at 1,000,000 files: p99 <= 50 ms",
            _ => "",
        };
        let (p50, p99) = ms(&passes.warm);
        let (first50, first99) = ms(&passes.first);
        println!(
            "{kind} over {what}: p50 {p50:.2} ms, p99 {p99:.2} ms ({queries} queries, one client, \
             each the second time it is sent; the first time: p50 {first50:.2} ms, p99 {first99:.2} ms{target})"
        )
    };
    let lat = latencies(s, "/api/v1/search", queries, |i| {
        let q = match i % 3 {
            0 => WORDS[i % WORDS.len()].to_string(),
            1 => format!(
                "{} {}",
                WORDS[i % WORDS.len()],
                WORDS[(i * 5) % WORDS.len()]
            ),
            _ => WORDS[i % WORDS.len()][..3].to_string(),
        };
        vec![("q", q), ("limit", "20".into())]
    })
    .await?;
    line("search", &lat);
    // Which kind makes the tail: the i-th query is of kind i % 3.
    let kinds = ["one word", "two words", "a word's first 3 letters"]
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            let of_kind: Vec<Duration> = lat.warm.iter().skip(k).step_by(3).copied().collect();
            let (p50, p99) = ms(&of_kind);
            format!("{kind} p50 {p50:.2} ms, p99 {p99:.2} ms")
        })
        .collect::<Vec<_>>();
    println!(
        "search over {what}, by kind, each the second time it is sent: {}",
        kinds.join("; ")
    );
    let lat = latencies(s, "/api/v1/files", queries, |i| {
        vec![
            ("name_prefix", WORDS[i % WORDS.len()][..4].to_string()),
            ("limit", "20".into()),
        ]
    })
    .await?;
    line("files by name prefix", &lat);
    let lat = latencies(s, "/api/v1/files", queries, |_| {
        vec![("limit", "20".into())]
    })
    .await?;
    line("files, newest first", &lat);
    anyhow::ensure!(!tags.is_empty(), "the corpus has no tags");
    let lat = latencies(s, "/api/v1/files", queries, |i| {
        vec![
            ("tag", tags[i % tags.len()].clone()),
            ("limit", "20".into()),
        ]
    })
    .await?;
    line("files with a tag", &lat);
    let lat = latencies(s, "/api/v1/tags", queries, |_| vec![("limit", "50".into())]).await?;
    line("the tag list", &lat);
    Ok(())
}

/// Waits until no tagging job is pending or in flight.
async fn wait_queue_empty(s: &Server) -> Result<()> {
    loop {
        let q = s.json("/api/v1/queue").await?;
        let left = q["pending"].as_u64().unwrap_or(0) + q["in_flight"].as_u64().unwrap_or(0);
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn small_uploads(n: usize, clients: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let s = Arc::new(
        Server::start(
            dir.path(),
            &["--tagger-concurrency", "0", "--rate-limit-rps", "0"],
        )
        .await?,
    );
    let body = Arc::new(vec![b'x'; 4096]);
    let start = Instant::now();
    let results = futures::stream::iter(0..n)
        .map(|i| {
            let (s, body) = (s.clone(), body.clone());
            async move { s.upload(&format!("f{i}.txt"), body.as_ref().clone()).await }
        })
        .buffer_unordered(clients)
        .collect::<Vec<_>>()
        .await;
    let elapsed = start.elapsed();
    let failed = results
        .iter()
        .filter(|r| !matches!(r, Ok((201, _))))
        .count();
    println!(
        "uploads of 4 KiB files: {:.0} files/s ({n} files, {clients} clients, {failed} failed, {:.1} s)",
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

async fn large_upload(mib: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let s = Server::start(
        dir.path(),
        &["--tagger-concurrency", "0", "--rate-limit-rps", "0"],
    )
    .await?;
    let pid = s.child.id().context("server pid")?;
    let rss_before = peak_rss_kib(pid).unwrap_or(0);
    let chunk = bytes::Bytes::from(vec![7u8; 1 << 20]);
    let stream =
        futures::stream::iter((0..mib).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let start = Instant::now();
    let (status, file) = s
        .upload("big.bin", reqwest::Body::wrap_stream(stream))
        .await?;
    let up = start.elapsed();
    anyhow::ensure!(status == 201, "upload failed: {status} {file}");
    let id = file["id"].as_str().context("id")?;
    let start = Instant::now();
    let mut resp = s.get(&format!("/api/v1/files/{id}/content")).send().await?;
    let mut got = 0usize;
    while let Some(c) = resp.chunk().await? {
        got += c.len();
    }
    let down = start.elapsed();
    anyhow::ensure!(got == mib << 20, "downloaded {got} bytes");
    let rss = peak_rss_kib(pid).unwrap_or(0);
    println!(
        "one {mib} MiB file: upload {:.0} MiB/s, download {:.0} MiB/s, server peak RSS {:.1} MiB (at start {:.1} MiB)",
        mib as f64 / up.as_secs_f64(),
        mib as f64 / down.as_secs_f64(),
        rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    Ok(())
}

async fn search_latency(files: usize, queries: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let s = Arc::new(
        Server::start(
            dir.path(),
            &[
                "--rate-limit-rps",
                "0",
                "--extract-isolated",
                "false",
                "--tagger-poll-ms",
                "20",
            ],
        )
        .await?,
    );
    let start = Instant::now();
    futures::stream::iter(0..files)
        .map(|i| {
            let s = s.clone();
            async move {
                let text: Vec<&str> = (0..60)
                    .map(|k| WORDS[(i * 7 + k * 13 + k * k) % WORDS.len()])
                    .collect();
                let name = format!(
                    "{}-{}-{i}.txt",
                    WORDS[i % WORDS.len()],
                    WORDS[(i / 3) % WORDS.len()]
                );
                s.upload(&name, text.join(" ")).await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let uploaded = start.elapsed();
    let start = Instant::now();
    wait_queue_empty(&s).await?;
    let tagged = start.elapsed();
    println!(
        "corpus: {files} files uploaded in {:.1} s, tagged in a further {:.1} s ({:.0} files/s offline, 2 workers)",
        uploaded.as_secs_f64(),
        tagged.as_secs_f64(),
        files as f64 / (uploaded + tagged).as_secs_f64()
    );
    let tags: Vec<String> = s.json("/api/v1/tags?limit=20").await?["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    query_latencies(&s, &format!("{files} files"), queries, &tags).await
}

/// Tagging throughput: `files` short documents uploaded up front, timed from
/// the first upload until the queue is empty, `workers` jobs at a time.
/// `workers`: jobs at once; `None` for the server's default (the cores
/// + 1, at most 4).
async fn tagging_throughput(
    label: &str,
    files: usize,
    workers: Option<usize>,
    envs: &[(&str, &str)],
) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = workers.unwrap_or((cores + 1).min(4)).to_string();
    let dir = tempfile::tempdir()?;
    let s = Server::start_with_env(
        dir.path(),
        &[
            "--rate-limit-rps",
            "0",
            "--tagger-poll-ms",
            "20",
            "--tagger-concurrency",
            &workers,
        ],
        envs,
    )
    .await?;
    let start = Instant::now();
    for i in 0..files {
        let text: Vec<&str> = (0..80)
            .map(|k| WORDS[(i * 7 + k * 13 + k * k) % WORDS.len()])
            .collect();
        let (status, body) = s
            .upload(&format!("doc-{i}.txt"), format!("{}.", text.join(" ")))
            .await?;
        anyhow::ensure!(status == 201, "upload failed: {body}");
    }
    wait_queue_empty(&s).await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tagging, {label}: {:.2} files/s ({:.2} per core; {files} files in {secs:.1} s, {workers} workers, {cores} cores)",
        files as f64 / secs,
        files as f64 / secs / cores as f64
    );
    Ok(())
}

async fn tagging_benchmarks() -> Result<()> {
    let Ok(minilm) = std::env::var("GRAPHFS_TEST_EMBEDDING_DIR") else {
        println!("tagging: the local models are not installed (make models); skipped");
        return Ok(());
    };
    tagging_throughput("offline", 400, None, &[("GRAPHFS_TAGGING_MODE", "offline")]).await?;
    // The default runs one job more than there are cores: one per core
    // embeds while another waits on the index or its extraction. One per
    // core is shown beside it.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (label, workers) in [
        ("default workers", None),
        ("one worker per core", Some(cores)),
    ] {
        tagging_throughput(
            &format!("offline + MiniLM embeddings, {label} (target: 25 files/s on 2 cores; anchor 17.8 files/s)"),
            400,
            workers,
            &[
                ("GRAPHFS_TAGGING_MODE", "offline"),
                ("GRAPHFS_EMBEDDING_MODEL_DIR", &minilm),
            ],
        )
        .await?;
    }
    // One server as the tests and `make eval` run it; then one
    // single-threaded server per core behind a least-connections balancer
    // (llama-cpp-python's server takes one request at a time).
    for servers in [1, cores] {
        let n = servers.to_string();
        let llm = ExternalServer::start_with_env("llm", &[("GRAPHFS_LLM_SERVERS", &n)])?;
        tagging_throughput(
            &format!(
                "generative, SmolLM2-135M on {servers} llama-cpp-python server(s) + MiniLM (target: 1 file/s per core; anchor 0.84 files/s, 0.42 per core)"
            ),
            40,
            None,
            &[
                ("GRAPHFS_TAGGING_MODE", "generative"),
                ("GRAPHFS_LLM_BASE_URL", llm.get("GRAPHFS_LLM_BASE_URL")),
                ("GRAPHFS_LLM_CHAT_MODEL", llm.get("GRAPHFS_LLM_CHAT_MODEL")),
                ("GRAPHFS_EMBEDDING_MODEL_DIR", &minilm),
            ],
        )
        .await?;
    }
    Ok(())
}

/// A 256 MiB upload and download through the API against the same transfer
/// straight from aws-sdk-s3 (multipart PUT with the API's part size and
/// concurrency; one GET) to the same MinIO, in the same run. The two take
/// turns for a few rounds and each figure is the median, so neither side
/// gets a warmer server or disk cache than the other.
async fn s3_transfer_ratios(
    minio: &ExternalServer,
    neo4j: &ExternalServer,
    mib: usize,
) -> Result<()> {
    const ROUNDS: usize = 3;
    let dir = tempfile::tempdir()?;
    let part = PART_MIB.to_string();
    let concurrency = CONCURRENCY.to_string();
    let s = Server::start_on(
        dir.path(),
        minio,
        neo4j,
        "bench-api",
        &[
            "--s3-part-size-mb",
            &part,
            "--s3-upload-concurrency",
            &concurrency,
            "--tagger-concurrency",
            "0",
            "--rate-limit-rps",
            "0",
        ],
        &[],
    )
    .await?;
    let pid = s.child.id().context("server pid")?;
    let sdk = minio.s3_client();
    let bucket = "bench-direct";
    if sdk.head_bucket().bucket(bucket).send().await.is_err() {
        sdk.create_bucket().bucket(bucket).send().await?;
    }
    let chunk = bytes::Bytes::from(vec![7u8; 1 << 20]);
    let (mut up_api, mut down_api, mut up_sdk, mut down_sdk) = (vec![], vec![], vec![], vec![]);
    let mut rss_growth = 0;
    for round in 0..ROUNDS {
        let body = futures::stream::iter((0..mib).map({
            let chunk = chunk.clone();
            move |_| Ok::<_, std::io::Error>(chunk.clone())
        }));
        reset_peak_rss(pid)?;
        let rss_before = rss_kib(pid).unwrap_or(0);
        let start = Instant::now();
        let (status, file) = s
            .upload(&format!("big{round}.bin"), reqwest::Body::wrap_stream(body))
            .await?;
        up_api.push(start.elapsed());
        anyhow::ensure!(status == 201, "upload failed: {status} {file}");
        rss_growth = rss_growth.max(peak_rss_kib(pid).unwrap_or(0).saturating_sub(rss_before));
        let id = file["id"].as_str().context("file id")?.to_string();
        let start = Instant::now();
        let got = drain(s.get(&format!("/api/v1/files/{id}/content")).send().await?).await?;
        down_api.push(start.elapsed());
        anyhow::ensure!(got == (mib << 20) as u64, "downloaded {got} bytes");

        let key = format!("big{round}.bin");
        let start = Instant::now();
        direct_multipart_put(&sdk, bucket, &key, mib).await?;
        up_sdk.push(start.elapsed());
        let start = Instant::now();
        let mut obj = sdk.get_object().bucket(bucket).key(&key).send().await?;
        let mut got = 0u64;
        while let Some(c) = obj.body.try_next().await? {
            got += c.len() as u64;
        }
        down_sdk.push(start.elapsed());
        anyhow::ensure!(got == (mib << 20) as u64, "direct GET gave {got} bytes");
    }
    let median = |mut d: Vec<Duration>| {
        d.sort();
        mib as f64 / d[d.len() / 2].as_secs_f64()
    };
    let (ua, us, da, ds) = (
        median(up_api),
        median(up_sdk),
        median(down_api),
        median(down_sdk),
    );
    println!(
        "{mib} MiB into MinIO through the API: {ua:.0} MiB/s vs direct SDK multipart PUT {us:.0} MiB/s: ratio {:.2} (target >= 0.90; anchor 0.58), API RSS growth {:.0} MiB (target <= 64); medians of {ROUNDS} rounds",
        ua / us,
        rss_growth as f64 / 1024.0
    );
    println!(
        "{mib} MiB from MinIO through the API: {da:.0} MiB/s vs direct SDK GET {ds:.0} MiB/s: ratio {:.2} (target >= 0.90; anchor 0.46); medians of {ROUNDS} rounds",
        da / ds
    );
    Ok(())
}

/// The API's part size and parts in flight, which the direct upload copies.
const PART_MIB: usize = 8;
const CONCURRENCY: usize = 4;

/// A multipart PUT of `mib` MiB straight from aws-sdk-s3, with its defaults.
async fn direct_multipart_put(
    sdk: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    mib: usize,
) -> Result<()> {
    let upload = sdk
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await?;
    let upload_id = upload.upload_id().context("upload id")?;
    let part_bytes = bytes::Bytes::from(vec![7u8; PART_MIB << 20]);
    let mut parts: Vec<aws_sdk_s3::types::CompletedPart> =
        futures::stream::iter(1..=i32::try_from(mib / PART_MIB)?)
            .map(|n| {
                let body = part_bytes.clone();
                async move {
                    let out = sdk
                        .upload_part()
                        .bucket(bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(n)
                        .body(body.into())
                        .send()
                        .await?;
                    Ok::<_, anyhow::Error>(
                        aws_sdk_s3::types::CompletedPart::builder()
                            .part_number(n)
                            .set_e_tag(out.e_tag().map(str::to_string))
                            .build(),
                    )
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
    parts.sort_by_key(|p| p.part_number());
    sdk.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// Reads a response body to the end; the number of bytes.
async fn drain(resp: reqwest::Response) -> Result<u64> {
    anyhow::ensure!(resp.status().is_success(), "download: {}", resp.status());
    let mut stream = resp.bytes_stream();
    let mut n = 0u64;
    while let Some(c) = stream.next().await {
        n += c?.len() as u64;
    }
    Ok(n)
}

/// Search latency on Neo4j. The corpus is written straight into the graph
/// (the same node shape the API creates), since what is measured is search
/// over N files, not ingestion.
async fn neo4j_search(
    minio: &ExternalServer,
    neo4j: &ExternalServer,
    files: usize,
    queries: usize,
    vectors: bool,
) -> Result<()> {
    // The exact semantic search reads every vector: about a minute at a
    // million files here, past the driver's default 30 s answer timeout.
    let graph = neo4rs::Graph::connect(
        neo4rs::ConfigBuilder::default()
            .uri(neo4j.get("GRAPHFS_NEO4J_URI"))
            .user(neo4j.get("GRAPHFS_NEO4J_USER"))
            .password(neo4j.get("GRAPHFS_NEO4J_PASSWORD"))
            .connection_timeout(Duration::from_secs(600))
            .build()?,
    )?;
    let dir = tempfile::tempdir()?;
    // Starting the server creates the schema and indexes.
    let s = Server::start_on(
        dir.path(),
        minio,
        neo4j,
        "bench-search",
        &["--tagger-concurrency", "0", "--rate-limit-rps", "0"],
        &[],
    )
    .await?;
    // The vector index, as a server with an embedding model makes it.
    let index = graphfs_store_neo4j::Neo4jGraphIndex::connect(graphfs_store_neo4j::Neo4jConfig {
        uri: neo4j.get("GRAPHFS_NEO4J_URI").to_string(),
        user: neo4j.get("GRAPHFS_NEO4J_USER").to_string(),
        password: neo4j.get("GRAPHFS_NEO4J_PASSWORD").to_string(),
        max_connections: 4,
        timeout: Duration::from_secs(120),
    })
    .await?;
    index
        .use_embedding_model("bench-384", semantic::DIM)
        .await?;
    let existing: i64 = {
        let mut r = graph
            .execute(neo4rs::query("MATCH (f:File) RETURN count(f) AS n"))
            .await?;
        r.next()
            .await?
            .map(|row| row.get::<i64>("n"))
            .transpose()?
            .unwrap_or(0)
    };
    let start = Instant::now();
    let mut i = usize::try_from(existing).unwrap_or(0);
    while i < files {
        let batch = (files - i).min(5000);
        let ids: Vec<String> = (0..batch).map(|_| uuid_simple()).collect();
        let names: Vec<String> = (i..i + batch)
            .map(|n| {
                format!(
                    "{}-{}-{n}.txt",
                    WORDS[n % WORDS.len()],
                    WORDS[(n / 3) % WORDS.len()]
                )
            })
            .collect();
        // One upload a second, as the API stamps them: listings sort by it.
        let times: Vec<String> = (i..i + batch)
            .map(|n| {
                format!(
                    "2026-01-{:02}T{:02}:{:02}:{:02}.000000Z",
                    1 + n / 86_400,
                    n / 3600 % 24,
                    n / 60 % 60,
                    n % 60
                )
            })
            .collect();
        // Two tags of CORPUS_TAGS on each file, as a tagger leaves them.
        let tags: Vec<Vec<String>> = (i..i + batch)
            .map(|n| {
                vec![
                    corpus_tag(n % CORPUS_TAGS),
                    corpus_tag((n / 7 + 3) % CORPUS_TAGS),
                ]
            })
            .collect();
        let embeddings: Vec<Option<Vec<f64>>> = ids
            .iter()
            .map(|id| {
                vectors.then(|| {
                    semantic::vector(semantic::seed_of(id))
                        .into_iter()
                        .map(f64::from)
                        .collect()
                })
            })
            .collect();
        let texts: Vec<String> = (i..i + batch)
            .map(|n| {
                (0..60)
                    .map(|k| WORDS[(n * 7 + k * 13 + k * k) % WORDS.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        // Each file is owned and each tag edge counted for its owner, as the
        // store writes them.
        graph
            .run(
                neo4rs::query(
                    "MERGE (u:User {id: 'dev'}) ON CREATE SET u.created_at = $times[0]
                     WITH u UNWIND range(0, size($ids) - 1) AS i
                     CREATE (u)-[:OWNS]->(f:File {id: $ids[i], owner: 'dev', name: $names[i], name_tokens: $names[i],
                       size: 400, sha256: '', media_type: 'text/plain', created_at: $times[i],
                       updated_at: $times[i], status: 'done', status_reason: '',
                       metadata: '{}', text: $texts[i], tags_text: ' , ' + $tags[i][0] + ' , ' + $tags[i][1], shared_with: [], terms: [],
                       object_key: 'files/' + $ids[i], viewers: 'dev', embedding: $vectors[i]})
                     WITH f, i UNWIND $tags[i] AS tn
                     MERGE (t:Tag {name: tn})
                     CREATE (f)-[:TAGGED {score: 1.0, source: 'machine'}]->(t)
                     MERGE (u:TagUse {owner: 'dev', name: tn, source: 'machine'})
                     SET u.n = coalesce(u.n, 0) + 1",
                )
                .param("ids", ids)
                .param("names", names)
                .param("times", times)
                .param("texts", texts)
                .param("tags", tags)
                .param("vectors", embeddings),
            )
            .await?;
        i += batch;
    }
    graph
        .run(neo4rs::query("CALL db.awaitIndexes(600)"))
        .await?;
    println!(
        "neo4j corpus: {files} files ({} written now in {:.1} s)",
        files as i64 - existing,
        start.elapsed().as_secs_f64()
    );
    let tags: Vec<String> = (0..CORPUS_TAGS).map(corpus_tag).collect();
    query_latencies(&s, &format!("{files} files on Neo4j"), queries, &tags).await?;
    if !vectors {
        return Ok(());
    }
    // The exact search reads every vector (about a minute at a million
    // here): fewer checks on larger stores.
    let checked = (5_000_000 / files.max(1)).clamp(10, 50);
    semantic::neo4j(&graph, &index, "dev", files, queries, checked).await
}

/// Name, full-text, listing, tag and semantic queries over Neo4j at the
/// sizes in `GRAPHFS_BENCH_NEO4J_FILES` (default `10000,100000`; a million
/// fills for about half an hour here). One Neo4j grows from size to size.
/// `GRAPHFS_BENCH_NEO4J_VECTORS=0` leaves the vectors out (and the
/// semantic figures), which makes a million fit a smaller heap.
async fn neo4j_benchmarks(minio: &ExternalServer, neo4j: &ExternalServer) -> Result<()> {
    let vectors = std::env::var("GRAPHFS_BENCH_NEO4J_VECTORS").map_or(true, |v| v != "0");
    for files in store_sizes("GRAPHFS_BENCH_NEO4J_FILES", "10000,100000")? {
        neo4j_search(minio, neo4j, files, 300, vectors).await?;
    }
    Ok(())
}

/// Semantic search at 10k, 100k and 1M files; the exact search it is
/// checked against reads every vector, so fewer queries check at 1M.
/// `GRAPHFS_BENCH_SEMANTIC_FILES` (e.g. `10000,100000`) picks other sizes.
async fn semantic_benchmarks() -> Result<()> {
    for files in store_sizes("GRAPHFS_BENCH_SEMANTIC_FILES", ALL_SIZES)? {
        semantic::sqlite(files, 300, (1_000_000 / files.max(1)).clamp(20, 100)).await?;
    }
    Ok(())
}

/// Name, full-text and tag queries over SQLite at 10k, 100k and 1M files;
/// `GRAPHFS_BENCH_SCALE_FILES` (e.g. `10000,100000`) picks other sizes.
async fn search_scale_benchmarks() -> Result<()> {
    scale::sqlite(&store_sizes("GRAPHFS_BENCH_SCALE_FILES", ALL_SIZES)?, 300).await
}

/// 10k, 100k and 1M files.
const ALL_SIZES: &str = "10000,100000,1000000";

/// The store sizes a bench runs at: the list in `variable`
/// (`10000,100000`), else `default`.
fn store_sizes(variable: &str, default: &str) -> Result<Vec<usize>> {
    std::env::var(variable)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .with_context(|| format!("{variable}: a list of numbers"))
        })
        .collect()
}

/// A file of `owner` in `/`, as the API creates it for an upload.
fn bench_file(owner: &str, name: String) -> graphfs_domain::NewFile {
    let id = graphfs_domain::FileId::new();
    graphfs_domain::NewFile {
        id,
        object_key: id.object_key(),
        owner: owner.into(),
        name,
        folder: "/".into(),
        size: 400,
        sha256: "00".repeat(32),
        media_type: "text/plain".into(),
    }
}

/// How many tags the search corpora use.
const CORPUS_TAGS: usize = 40;

fn corpus_tag(k: usize) -> String {
    format!("{}-{k}", WORDS[k % WORDS.len()])
}

fn uuid_simple() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!("{t:016x}{:016x}", N.fetch_add(1, Ordering::Relaxed))
}

/// Neo4j as a deployment runs it, not as the tests start it to save
/// seconds and memory: the JVM's own JIT and collector, as the `neo4j`
/// image the operator deploys runs (C1-only code is slower once warm), and
/// a page cache that holds a million files' store (2 GiB; the tests' 96 MiB
/// would read most of it from disk again on every query). Each can be set
/// back: `GRAPHFS_NEO4J_PROFILE=test`, `GRAPHFS_NEO4J_PAGECACHE=96m`.
fn server_neo4j() -> Result<ExternalServer> {
    let setting =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let profile = setting("GRAPHFS_NEO4J_PROFILE", "server");
    let pagecache = setting("GRAPHFS_NEO4J_PAGECACHE", "2g");
    ExternalServer::start_with_env(
        "neo4j",
        &[
            ("GRAPHFS_NEO4J_PROFILE", &profile),
            ("GRAPHFS_NEO4J_PAGECACHE", &pagecache),
        ],
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let only_real = std::env::args().any(|a| a == "--real-only");
    if std::env::args().any(|a| a == "--tagging-only") {
        return tagging_benchmarks().await;
    }
    if std::env::args().any(|a| a == "--search-only") {
        search_latency(10_000, 600).await?;
        let minio = ExternalServer::start("minio")?;
        let neo4j = server_neo4j()?;
        return neo4j_benchmarks(&minio, &neo4j).await;
    }
    if std::env::args().any(|a| a == "--scale-only") {
        return search_scale_benchmarks().await;
    }
    if std::env::args().any(|a| a == "--semantic-only") {
        return semantic_benchmarks().await;
    }
    if std::env::args().any(|a| a == "--transfer-only") {
        let minio = ExternalServer::start("minio")?;
        let neo4j = server_neo4j()?;
        return s3_transfer_ratios(&minio, &neo4j, 256).await;
    }
    if !only_real {
        println!("GraphFS benchmarks (embedded backends, release build, loopback)");
        small_uploads(4000, 16).await?;
        large_upload(256).await?;
        search_latency(10_000, 600).await?;
        search_scale_benchmarks().await?;
        semantic_benchmarks().await?;
        tagging_benchmarks().await?;
    }
    println!("GraphFS benchmarks (MinIO and Neo4j on loopback)");
    let minio = ExternalServer::start("minio")?;
    let neo4j = server_neo4j()?;
    s3_transfer_ratios(&minio, &neo4j, 256).await?;
    neo4j_benchmarks(&minio, &neo4j).await
}
