//! Name, full-text and tag queries through the API over an embedded store
//! of 10,000 to 1,000,000 files. The files are written straight through the
//! graph index's traits, as the API and a tagger write them (a file, then
//! its tagging outcome), because uploading and tagging a million files
//! through the server would take hours here; the queries go through the
//! server on the same folder. The corpus is the Neo4j search bench's: names
//! and 60-word texts from one word list, two of 40 tags on each file.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures::StreamExt;
use graphfs_domain::{GraphIndex, ProposedTag, TagSource, TaggingOutcome};
use graphfs_e2e::Server;
use graphfs_store_local::SqliteGraphIndex;

use super::{CORPUS_TAGS, WORDS, bench_file, corpus_tag, query_latencies};

/// The user the bench server's token belongs to.
const OWNER: &str = "dev";

/// Queries at each of `sizes` (ascending), one store grown between them.
/// With `GRAPHFS_BENCH_SCALE_DIR` the store is kept in that folder and
/// grown from what it holds, so a second run skips the writing.
pub async fn sqlite(sizes: &[usize], queries: usize) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = match std::env::var_os("GRAPHFS_BENCH_SCALE_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => temp.path().to_path_buf(),
    };
    std::fs::create_dir_all(&dir)?;
    let count_file = dir.join("bench-files");
    let mut stored: usize = std::fs::read_to_string(&count_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    for &files in sizes {
        let start = Instant::now();
        {
            let index = SqliteGraphIndex::open(dir.join("graph.db")).await?;
            fill(&index, stored, files).await?;
            // The server searches at once: its ranking index first.
            index.sync_text_index().await?;
        }
        println!(
            "sqlite corpus: {} files ({} written now in {:.1} s, through the index's traits)",
            stored.max(files),
            files.saturating_sub(stored),
            start.elapsed().as_secs_f64()
        );
        stored = stored.max(files);
        std::fs::write(&count_file, stored.to_string())?;
        let s = Server::start(
            &dir,
            &["--rate-limit-rps", "0", "--tagger-concurrency", "0"],
        )
        .await?;
        let tags: Vec<String> = (0..CORPUS_TAGS).map(corpus_tag).collect();
        query_latencies(&s, &format!("{stored} files on SQLite"), queries, &tags).await?;
    }
    Ok(())
}

/// Files `from..to` of the corpus: created, then tagged as a tagger does.
async fn fill(index: &dyn GraphIndex, from: usize, to: usize) -> Result<()> {
    futures::stream::iter(from..to)
        .map(|n| async move {
            let name = format!(
                "{}-{}-{n}.txt",
                WORDS[n % WORDS.len()],
                WORDS[(n / 3) % WORDS.len()]
            );
            index.create_file(bench_file(OWNER, name)).await?;
            let job = index
                .claim_job("bench", Duration::from_secs(3600))
                .await?
                .ok_or_else(|| anyhow::anyhow!("the file's job is not queued"))?;
            // Jobs are claimed oldest first, so this may be another file's;
            // every file still gets one text and two tags of the corpus.
            let text: Vec<&str> = (0..60)
                .map(|k| WORDS[(n * 7 + k * 13 + k * k) % WORDS.len()])
                .collect();
            let tag = |name: String| ProposedTag {
                name,
                score: 1.0,
                source: TagSource::Keyword,
            };
            let outcome = TaggingOutcome {
                text: text.join(" "),
                metadata: serde_json::json!({}),
                tags: vec![
                    tag(corpus_tag(n % CORPUS_TAGS)),
                    tag(corpus_tag((n / 7 + 3) % CORPUS_TAGS)),
                ],
                ..TaggingOutcome::default()
            };
            index.complete_job(&job, &outcome).await?;
            anyhow::Ok(())
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    Ok(())
}
