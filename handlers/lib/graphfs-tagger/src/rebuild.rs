//! Rebuilding the vocabulary on demand, and re-tagging: candidate tags and
//! existing tags are counted, clustered by meaning (`vocab::build`), and the
//! tags of each cluster merged into its most frequent name (kept as
//! aliases). User tags are never merged away: a cluster member that users
//! gave by hand is left as it is.

use std::sync::Arc;

use graphfs_domain::{CANDIDATE_TERM_PREFIX, FileId, GraphIndex, Result};
use graphfs_embeddings::Embedder;

use crate::vocab::{self, Candidate, Cluster};

#[derive(Debug, Clone)]
pub struct RebuildConfig {
    /// Files behind a cluster for it to stay in the vocabulary.
    pub min_count: u64,
    /// Cosine similarity at which two tags are the same idea.
    pub merge_threshold: f32,
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    /// Tags and candidates considered.
    pub considered: usize,
    /// The clusters kept (the new vocabulary).
    pub clusters: Vec<Cluster>,
    /// `(from, into)` merges applied to existing tags.
    pub merged: Vec<(String, String)>,
}

/// Counts, clusters and merges. Tags users gave by hand are never merged
/// into another tag (others may be merged into them).
pub async fn rebuild(
    index: &Arc<dyn GraphIndex>,
    embedder: &Arc<dyn Embedder>,
    config: &RebuildConfig,
) -> Result<RebuildReport> {
    let protected = index.user_tags().await?;
    let tags = index.vocabulary(None, 100_000).await?;
    let candidates = index
        .frequent_terms(CANDIDATE_TERM_PREFIX, 1, 100_000)
        .await?;
    let mut counted: Vec<(String, u64, bool)> = tags
        .iter()
        .map(|t| (t.name.clone(), t.count, true))
        .collect();
    for (term, n) in candidates {
        let name = term.trim_start_matches(CANDIDATE_TERM_PREFIX).to_string();
        match counted.iter_mut().find(|(t, _, _)| *t == name) {
            // A candidate that is a tag already: its files are counted there.
            Some(_) => {}
            None => counted.push((name, n, false)),
        }
    }
    let names: Vec<String> = counted.iter().map(|(n, _, _)| n.clone()).collect();
    let mut vectors = Vec::with_capacity(names.len());
    for chunk in names.chunks(64) {
        vectors.extend(
            embedder
                .embed(chunk)
                .await
                .map_err(|e| graphfs_domain::Error::unavailable(e.to_string()))?,
        );
    }
    let considered = counted.len();
    let clusters = vocab::build(
        counted
            .iter()
            .zip(vectors)
            .map(|((name, count, _), embedding)| Candidate {
                name: name.clone(),
                count: *count,
                embedding,
            })
            .collect(),
        config.min_count,
        config.merge_threshold,
    );
    let existing = |n: &str| counted.iter().any(|(t, _, is_tag)| *is_tag && t == n);
    let mut merged = Vec::new();
    for c in &clusters {
        for alias in &c.aliases {
            if existing(alias) && !protected.contains(alias) {
                index.merge_tag(alias, &c.name).await?;
                merged.push((alias.clone(), c.name.clone()));
            }
        }
    }
    Ok(RebuildReport {
        considered,
        clusters,
        merged,
    })
}

/// Queues every file for tagging again, calling `progress(done, total)`.
pub async fn requeue_all(
    index: &Arc<dyn GraphIndex>,
    mut progress: impl FnMut(usize, usize),
) -> Result<usize> {
    let mut ids: Vec<FileId> = Vec::new();
    let mut after = None;
    loop {
        let page = index.all_file_ids(after, 1000).await?;
        let Some(last) = page.last().copied() else {
            break;
        };
        ids.extend(page);
        after = Some(last);
    }
    let total = ids.len();
    for (i, id) in ids.into_iter().enumerate() {
        match index.requeue(id).await {
            Ok(()) | Err(graphfs_domain::Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        progress(i + 1, total);
    }
    Ok(total)
}
