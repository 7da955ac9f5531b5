use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A file's identity. UUIDv7, so ids sort by creation time and make stable
/// pagination cursors; written as 32 lowercase hex digits (no hyphens) so it
/// is one token in URLs, object keys and graph node ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub uuid::Uuid);

impl Serialize for FileId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FileId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// In the API: a string of 32 lower-case hex digits.
impl utoipa::PartialSchema for FileId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-f]{32}$"))
            .description(Some(
                "A file id: a UUIDv7 in simple form, 32 lower-case hex characters",
            ))
            .into()
    }
}

impl utoipa::ToSchema for FileId {}

impl FileId {
    pub fn new() -> Self {
        FileId(uuid::Uuid::now_v7())
    }

    /// The object key the file's bytes live under in the object store.
    pub fn object_key(&self) -> String {
        format!("files/{}", self.0.simple())
    }

    /// A fresh object key for new content of the file: every content has
    /// its own key, so the content it replaces can stay as a version. Not
    /// beneath the first key (`files/<id>/…`): a store on a file system
    /// cannot hold an object and a folder of the same name.
    pub fn content_key(&self) -> String {
        format!(
            "files/{}.{}",
            self.0.simple(),
            uuid::Uuid::new_v4().simple()
        )
    }
}

impl Default for FileId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

impl FromStr for FileId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(FileId)
    }
}

/// A user is named by a short stable handle (the subject of their tokens).
pub type UserId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaggingStatus {
    /// Queued, waiting for a handler.
    Pending,
    /// Claimed by a handler that holds a lease on the job.
    Running,
    /// Tagged. A file goes back to `pending` when it is queued again (new
    /// content, a re-tag, a tag its owner's vocabulary admitted since); one
    /// queued while `running` stays busy until that next tagging.
    Done,
    /// Gave up after the maximum number of attempts; `status_reason` says why.
    Failed,
}

impl TaggingStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaggingStatus::Pending => "pending",
            TaggingStatus::Running => "running",
            TaggingStatus::Done => "done",
            TaggingStatus::Failed => "failed",
        }
    }
}

impl FromStr for TaggingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "running" => Ok(Self::Running),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            other => Err(format!(
                "unknown tagging status '{other}' (expected pending, running, done or failed)"
            )),
        }
    }
}

/// Where a tag on a file came from. User tags are never removed by tagging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagSource {
    User,
    Keyword,
    Metadata,
    Llm,
    /// A topic of the seeded taxonomy, assigned by meaning.
    Taxonomy,
}

impl TagSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            TagSource::User => "user",
            TagSource::Keyword => "keyword",
            TagSource::Metadata => "metadata",
            TagSource::Llm => "llm",
            TagSource::Taxonomy => "taxonomy",
        }
    }
}

impl FromStr for TagSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "keyword" => Ok(Self::Keyword),
            "metadata" => Ok(Self::Metadata),
            "llm" => Ok(Self::Llm),
            "taxonomy" => Ok(Self::Taxonomy),
            other => Err(format!("unknown tag source '{other}'")),
        }
    }
}

/// A TAGGED edge as seen from the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileTag {
    pub name: String,
    pub score: f32,
    pub source: TagSource,
}

/// The graph node of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileRecord {
    pub id: FileId,
    #[schema(value_type = String)]
    pub owner: UserId,
    pub name: String,
    /// The owner's folder the file is in: `/` or `/a/b`.
    pub folder: String,
    pub size: u64,
    pub sha256: String,
    pub media_type: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: TaggingStatus,
    /// Why tagging failed, when it did.
    pub status_reason: Option<String>,
    pub tags: Vec<FileTag>,
    /// Extracted metadata (page count, image size, EXIF, duration, ...).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Users other than the owner who may see the file.
    #[schema(value_type = Vec<String>)]
    pub shared_with: Vec<UserId>,
    /// Where the bytes are in the object store: `files/<id>` for uploads
    /// through the API, the client's own key for files written straight into
    /// the bucket.
    pub object_key: String,
}

/// What the API needs to create a file node after its bytes are stored.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub id: FileId,
    pub object_key: String,
    pub owner: UserId,
    pub name: String,
    /// A normalised folder ([`crate::normalize_folder`]); created with its
    /// ancestors if missing.
    pub folder: String,
    pub size: u64,
    pub sha256: String,
    pub media_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagMatch {
    /// A file must carry every tag.
    #[default]
    All,
    /// A file must carry at least one of the tags.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Created,
    Name,
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// A listing of the files a viewer may see.
#[derive(Debug, Clone, Default)]
pub struct FileQuery {
    pub tags: Vec<String>,
    pub tag_match: TagMatch,
    /// Only files in this folder (of any owner: a shared file keeps its
    /// owner's folder).
    pub folder: Option<FolderFilter>,
    /// Only the files others share with the viewer (`true`), or only the
    /// viewer's own (`false`).
    pub shared: Option<bool>,
    /// A full media type (`text/plain`) or a prefix ending in `/` (`image/`).
    pub media_type: Option<String>,
    pub name_prefix: Option<String>,
    pub status: Option<TaggingStatus>,
    pub sort: SortKey,
    pub order: SortOrder,
    pub limit: usize,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl FileQuery {
    /// How many files a page holds: `limit`, within 1 to 1,000.
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, 1000)
    }

    /// The page of `items` (at most a page, in the listing's order); `more`
    /// when the store read past them, so that a next page exists.
    pub fn page(&self, mut items: Vec<FileRecord>, more: bool) -> Page<FileRecord> {
        items.truncate(self.page_size());
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => Some(crate::Cursor::after(last, self.sort, self.order).encode()),
            _ => None,
        };
        Page { items, next_cursor }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Files in a folder, or in it and every folder beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderFilter {
    /// A normalised folder path.
    pub path: String,
    pub subfolders: bool,
}

/// New bytes for a file that exists, already stored at `object_key`.
#[derive(Debug, Clone)]
pub struct NewContent {
    pub object_key: String,
    pub size: u64,
    pub sha256: String,
    pub media_type: String,
}

/// What writing new content did: the file as it is now, and the object keys
/// nothing refers to any more (versions beyond the retention, or the old
/// content when none is kept), for the caller to delete.
#[derive(Debug, Clone)]
pub struct ContentReplaced {
    pub file: FileRecord,
    pub unreferenced: Vec<String>,
}

/// An earlier content of a file, kept when new content replaced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileVersion {
    /// 1 for the first content a file had, then up by one with each new
    /// content; a number is never given twice.
    pub version: u32,
    pub size: u64,
    pub sha256: String,
    pub media_type: String,
    /// When newer content replaced it.
    pub replaced_at: DateTime<Utc>,
    /// Where its bytes are in the object store.
    pub object_key: String,
}

/// A folder of the viewer's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FolderInfo {
    /// `/a/b`.
    pub path: String,
    /// Its last segment (`b`).
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A tag in the vocabulary, with how many visible files carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagInfo {
    pub name: String,
    pub count: u64,
    pub aliases: Vec<String>,
    /// Where the tag came from on those files (the taxonomy, a frequent
    /// keyword, the LLM, a user, ...), each once, in [`TagSource`] order.
    #[serde(default)]
    pub sources: Vec<TagSource>,
}

/// The sources of `raw` names (unknown ones left out), each once, in
/// [`TagSource`] order.
pub fn tag_sources<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<TagSource> {
    let mut out: Vec<TagSource> = raw.into_iter().filter_map(|s| s.parse().ok()).collect();
    out.sort_by_key(|s| *s as u8);
    out.dedup();
    out
}

/// A tag that co-occurs with another on the same files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RelatedTag {
    pub name: String,
    /// Number of visible files carrying both tags.
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimilarFile {
    pub id: FileId,
    pub name: String,
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchField {
    Name,
    Text,
    Tag,
    Semantic,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub file: FileRecord,
    pub score: f64,
    pub matched: Vec<MatchField>,
    /// A fragment of the extracted text around the match, with the matched
    /// terms between `[` and `]`.
    pub snippet: Option<String>,
}

impl SearchHit {
    /// A hit with the fields it matched: the name or a tag containing one of
    /// the lower-cased query `words`, and the text when there is a snippet.
    pub fn new(file: FileRecord, score: f64, words: &[String], snippet: Option<String>) -> Self {
        let mut matched = Vec::new();
        let name = file.name.to_lowercase();
        if words.iter().any(|w| name.contains(w.as_str())) {
            matched.push(MatchField::Name);
        }
        if file
            .tags
            .iter()
            .any(|t| words.iter().any(|w| t.name.contains(w.as_str())))
        {
            matched.push(MatchField::Tag);
        }
        if snippet.is_some() {
            matched.push(MatchField::Text);
        }
        SearchHit {
            file,
            score,
            matched,
            snippet,
        }
    }
}

/// Cosine similarity of two vectors; 0 when either is zero or their lengths
/// differ (vectors of different models are not comparable).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// Merges ranked text hits and nearest-by-meaning files into one ranking by
/// reciprocal rank fusion (k = 60): no score scales to reconcile, and a file
/// found both ways rises. Semantic matches below `min_similarity` are noise.
pub fn fuse_hits(
    text: Vec<SearchHit>,
    semantic: Vec<(FileRecord, f32)>,
    min_similarity: f32,
    limit: usize,
) -> Vec<SearchHit> {
    const K: f64 = 60.0;
    let mut out: Vec<SearchHit> = Vec::with_capacity(text.len() + semantic.len());
    for (rank, mut hit) in text.into_iter().enumerate() {
        hit.score = 1.0 / (K + rank as f64 + 1.0);
        out.push(hit);
    }
    let semantic = semantic.into_iter().filter(|(_, s)| *s >= min_similarity);
    for (rank, (file, _)) in semantic.enumerate() {
        let add = 1.0 / (K + rank as f64 + 1.0);
        match out.iter_mut().find(|h| h.file.id == file.id) {
            Some(hit) => {
                hit.score += add;
                hit.matched.push(MatchField::Semantic);
            }
            None => out.push(SearchHit {
                file,
                score: add,
                matched: vec![MatchField::Semantic],
                snippet: None,
            }),
        }
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.file.id.cmp(&b.file.id))
    });
    out.truncate(limit);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    File,
    Tag,
    /// One of the viewer's folders.
    Folder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdgeKind {
    Tagged,
    Similar,
    CoOccurs,
    /// A file or folder in a folder (source in target).
    In,
    /// A tag narrower than another (source broader-than target: the
    /// taxonomy's child to its parent).
    Broader,
}

/// Where a graph walk starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphStart {
    File(FileId),
    Tag(String),
}

/// A node as graph-drawing libraries take it (d3-force, vis-network,
/// graphology, Cytoscape after wrapping in `data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GraphNode {
    /// `file:<id>`, `tag:<name>` or `folder:<path>`.
    pub id: String,
    pub kind: NodeKind,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Number of edges of this node within the returned view.
    pub degree: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GraphEdge {
    pub id: String,
    pub source: String,
    pub target: String,
    pub kind: EdgeKind,
    pub weight: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GraphView {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// True when the walk stopped at the node limit.
    pub truncated: bool,
}

/// A tagging job held by a handler under a lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub file_id: FileId,
    /// Attempts so far, including this one.
    pub attempts: u32,
    pub worker: String,
    pub lease_until: DateTime<Utc>,
}

/// A tag proposed by a tagger for a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedTag {
    pub name: String,
    pub score: f32,
    pub source: TagSource,
}

/// Everything a tagging job found, written to the graph in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaggingOutcome {
    /// Extracted text, indexed for full-text search (bounded by the tagger).
    pub text: String,
    pub metadata: serde_json::Value,
    /// A more precise media type found by looking inside the file.
    pub media_type: Option<String>,
    /// Replaces the file's machine tags; user tags and tags a user removed
    /// are left alone.
    pub tags: Vec<ProposedTag>,
    /// Distinct terms of the document, for corpus statistics (IDF). Tags a
    /// model proposed that are not (yet) in the vocabulary are counted here
    /// too, under [`CANDIDATE_TERM_PREFIX`].
    pub terms: Vec<String>,
    /// The file's content embedding (semantic search, SIMILAR edges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

/// Terms under this prefix are candidate tags, counted over the corpus so
/// that a new tag joins the vocabulary only once enough files propose it.
pub const CANDIDATE_TERM_PREFIX: &str = "candidate:";

/// The same candidates counted by word family (the tagger's variant key),
/// so that `develop` and `development` proposed by two files count as two
/// proposals of one tag.
pub const CANDIDATE_KEY_PREFIX: &str = "candidate-key:";

/// Corpus statistics the keyword tagger ranks terms against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorpusStats {
    /// Number of the owner's documents whose tagging recorded terms.
    pub documents: u64,
    /// Document frequency of each asked term (0 when unseen), in order.
    pub document_frequency: Vec<u64>,
}

/// Queue depth as the autoscaler sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueDepth {
    /// Jobs waiting (including those waiting out a retry backoff).
    pub pending: u64,
    /// Jobs held under a live lease.
    pub in_flight: u64,
    /// Jobs that gave up.
    pub failed: u64,
}

impl QueueDepth {
    /// What scaling decisions use: work not yet finished.
    pub fn depth(&self) -> u64 {
        self.pending + self.in_flight
    }
}
