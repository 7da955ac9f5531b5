//! `make bench`: figures for the API on its embedded backends, each against a
//! fresh release server on loopback.
//!
//! - uploads/s of 4 KiB files (16 concurrent clients)
//! - MiB/s of one 256 MiB upload and download, with the server's peak RSS
//! - search latency p50/p99 over 10,000 tagged files

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use graphfs_e2e::Server;

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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
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
    loop {
        let q = s.json("/api/v1/queue").await?;
        let left = q["pending"].as_u64().unwrap_or(0) + q["in_flight"].as_u64().unwrap_or(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let tagged = start.elapsed();
    println!(
        "corpus: {files} files uploaded in {:.1} s, tagged in a further {:.1} s ({:.0} files/s offline, 2 workers)",
        uploaded.as_secs_f64(),
        tagged.as_secs_f64(),
        files as f64 / (uploaded + tagged).as_secs_f64()
    );
    let mut lat = Vec::with_capacity(queries);
    for i in 0..queries {
        let q = match i % 3 {
            0 => WORDS[i % WORDS.len()].to_string(),
            1 => format!(
                "{} {}",
                WORDS[i % WORDS.len()],
                WORDS[(i * 5) % WORDS.len()]
            ),
            _ => WORDS[i % WORDS.len()][..3].to_string(),
        };
        let t = Instant::now();
        let resp = s
            .get("/api/v1/search")
            .query(&[("q", q.as_str()), ("limit", "20")])
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "search failed: {}", resp.status());
        resp.bytes().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "search over {files} files: p50 {:.2} ms, p99 {:.2} ms ({queries} queries, one client)",
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    println!("GraphFS benchmarks (embedded backends, release build, loopback)");
    small_uploads(4000, 16).await?;
    large_upload(256).await?;
    search_latency(10_000, 600).await?;
    Ok(())
}
