//! The contract every backend passes. Each backend's tests call
//! [`object_store`] and [`graph_index`] with a fresh instance; the checks use
//! unique keys and user names so they can share one server.
//!
//! Panics (assertion failures) are the point here: this is test code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, stream};
use sha2::{Digest, Sha256};

use crate::*;

mod files;
mod folders;
mod leases;
mod locks;
mod objects;
mod principals;
mod props;
mod queue;
mod search;
mod tags;
mod versions;
mod vocabulary;

use files::{files_and_visibility, listing, listing_by_tag};
use folders::{folders, names_are_unique, search_in_a_folder};
use leases::leases;
use locks::drive_locks;
pub use objects::object_store;
use principals::users_and_tokens;
use props::{drive_props, taxonomy_document};
use queue::queue;
use search::{long_text_is_cut_at_the_same_byte, search_and_graph, sharing_does_not_change_rank};
use tags::{
    reads_while_tags_change, rejected_tags, tag_counts_follow_every_change, tags_and_removal,
};
use versions::versions;
use vocabulary::{embedding_model_changes, embeddings_and_vocabulary};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn body(chunks: Vec<&'static [u8]>) -> ByteStream {
    Box::pin(stream::iter(
        chunks.into_iter().map(|c| Ok(Bytes::from_static(c))),
    ))
}

async fn read_all(mut s: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

async fn new_file(index: &dyn GraphIndex, owner: &str, name: &str, media: &str) -> FileRecord {
    new_file_in(index, owner, ROOT_FOLDER, name, media).await
}

async fn new_file_in(
    index: &dyn GraphIndex,
    owner: &str,
    folder: &str,
    name: &str,
    media: &str,
) -> FileRecord {
    index
        .create_file(NewFile {
            media_type: media.to_string(),
            ..new_text_file(owner, folder, name)
        })
        .await
        .unwrap()
}

/// A new 10-byte text file of `owner` named `name` in `folder`, with a new
/// id: what a backend's own tests create files from.
pub fn new_text_file(owner: &str, folder: &str, name: &str) -> NewFile {
    let id = FileId::new();
    NewFile {
        id,
        object_key: id.object_key(),
        owner: owner.to_string(),
        name: name.to_string(),
        folder: folder.to_string(),
        size: 10,
        sha256: hex::encode(Sha256::digest(name.as_bytes())),
        media_type: "text/plain".to_string(),
    }
}

fn outcome(text: &str, tags: &[(&str, f32)]) -> TaggingOutcome {
    TaggingOutcome {
        text: text.to_string(),
        metadata: serde_json::json!({"words": text.split_whitespace().count()}),
        media_type: None,
        tags: tags
            .iter()
            .map(|(n, s)| ProposedTag {
                name: n.to_string(),
                score: *s,
                source: TagSource::Keyword,
            })
            .collect(),
        terms: text.split_whitespace().map(str::to_lowercase).collect(),
        embedding: None,
    }
}

/// A 384-dimension unit vector (the graph's vector index takes 384) along
/// axis `a`, tilted towards axis `b` by `t`.
fn unit(a: usize, b: usize, t: f32) -> Vec<f32> {
    let mut v = vec![0f32; 384];
    v[a] = 1.0;
    v[b] += t;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// Claims jobs until the one for `file` comes up and returns it still held.
/// Jobs claimed on the way are given back untouched: other checks' files
/// wait their turn, they are not tagged as empty.
async fn claim_for(index: &dyn GraphIndex, file: FileId) -> Job {
    let mut passed = Vec::new();
    let found = loop {
        let job = index
            .claim_job("contract-worker", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("the file's job is queued");
        if job.file_id == file {
            break job;
        }
        assert!(passed.len() < 10_000, "job for {file} never came up");
        passed.push(job);
    };
    for job in &passed {
        index.release_job(job).await.unwrap();
    }
    found
}

/// Completes every queued job, so the queue is empty for the next check.
async fn drain(index: &dyn GraphIndex) {
    while let Some(job) = index
        .claim_job("contract-worker", Duration::from_secs(60))
        .await
        .unwrap()
    {
        index
            .complete_job(&job, &TaggingOutcome::default())
            .await
            .unwrap();
    }
}

/// Tags `file` with `out` through its job.
async fn tag_file(index: &dyn GraphIndex, file: FileId, out: &TaggingOutcome) {
    let job = claim_for(index, file).await;
    assert!(index.complete_job(&job, out).await.unwrap());
}

/// The graph index contract.
pub async fn graph_index(index: Arc<dyn GraphIndex>) {
    let index = index.as_ref();
    index.ping().await.unwrap();
    users_and_tokens(index).await;
    files_and_visibility(index).await;
    listing(index).await;
    listing_by_tag(index).await;
    folders(index).await;
    names_are_unique(index).await;
    search_in_a_folder(index).await;
    versions(index).await;
    tags_and_removal(index).await;
    reads_while_tags_change(index).await;
    rejected_tags(index).await;
    tag_counts_follow_every_change(index).await;
    search_and_graph(index).await;
    long_text_is_cut_at_the_same_byte(index).await;
    sharing_does_not_change_rank(index).await;
    queue(index).await;
    embeddings_and_vocabulary(index).await;
    embedding_model_changes(index).await;
    leases(index).await;
    drive_locks(index).await;
    drive_props(index).await;
    taxonomy_document(index).await;
}
