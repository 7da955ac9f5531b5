//! The seeded taxonomy over HTTP. Anyone signed in reads it: it is written
//! by people, not derived from anyone's files. Changing it changes every
//! user's tagging, so only an admin imports, replaces or resets it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use graphfs_tagger::rebuild;
use graphfs_tagger::taxonomy::{ImportError, ImportMode, InForce, Taxonomy, Topic};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::app::{Caller, SharedState, require_admin};
use crate::openapi::{NotAdmin, TagName};
use crate::params::Params;
use crate::problem::{ApiResult, Problem, ProblemDoc};

/// Largest taxonomy document accepted (5,000 topics of a few hundred
/// bytes); the route's body limit.
pub const MAX_TAXONOMY_BYTES: usize = 4 << 20;

/// The taxonomy in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxonomyDoc {
    /// Grows with every import and reset (0: never imported).
    pub version: u64,
    /// Whether an admin imported it (false: the server's default).
    pub imported: bool,
    pub topics: Vec<TopicDoc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopicDoc {
    /// The tag files on this topic get.
    #[schema(value_type = TagName)]
    pub name: String,
    /// What the topic is about; files are compared with it by meaning.
    pub description: String,
    /// Other names of the topic, which tag files with it too.
    #[schema(value_type = Vec<TagName>)]
    pub aliases: Vec<String>,
    /// The broader topic, drawn in the graph as `BROADER`.
    #[schema(value_type = Option<TagName>)]
    pub parent: Option<String>,
}

impl From<&InForce> for TaxonomyDoc {
    fn from(now: &InForce) -> Self {
        TaxonomyDoc {
            version: now.version,
            imported: now.imported,
            topics: now
                .taxonomy
                .iter()
                .flat_map(|t| t.topics())
                .map(|t| TopicDoc {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    aliases: t.aliases.clone(),
                    parent: t.parent.clone(),
                })
                .collect(),
        }
    }
}

/// A taxonomy as YAML or JSON. Read by the tagger's own parser; this type
/// states it in the OpenAPI document.
#[allow(dead_code)]
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyFile {
    #[schema(max_items = 5000)]
    topics: Vec<TopicIn>,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicIn {
    #[schema(value_type = TagName)]
    name: String,
    /// What the topic is about, in words (not only blanks).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    description: String,
    /// At most 32 (null: none).
    #[serde(default)]
    #[schema(value_type = Option<Vec<TagName>>, max_items = 32)]
    aliases: Option<Vec<String>>,
    /// Another topic, of this file or of the taxonomy it extends.
    #[serde(default)]
    #[schema(value_type = Option<TagName>)]
    parent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportModeParam {
    /// The topics are added to the taxonomy in force, replacing topics of
    /// the same name.
    Extend,
    /// The topics are all there is.
    Replace,
}

#[allow(dead_code)] // Read from `Params`; here for the OpenAPI document.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportParams {
    /// extend (default) or replace.
    mode: Option<ImportModeParam>,
    /// Queue every file for tagging again, so existing files get the new
    /// topics (default false).
    retag: Option<bool>,
}

/// The taxonomy is not valid (`invalid-request`), with the topic and reason
#[derive(utoipa::IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct InvalidTaxonomy(pub ProblemDoc);

/// The body is neither CSV nor YAML (`unsupported-media-type`)
#[derive(utoipa::IntoResponses)]
#[response(status = 415, content_type = "application/problem+json")]
pub struct NotTaxonomy(pub ProblemDoc);

/// Another import changed the taxonomy meanwhile, again and again (`conflict`)
#[derive(utoipa::IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
pub struct Contended(pub ProblemDoc);

/// `GET /taxonomy`: the topics files are tagged with by meaning.
#[utoipa::path(
    get,
    path = "/taxonomy",
    tag = "tags",
    responses((status = 200, description = "The taxonomy in force", body = TaxonomyDoc))
)]
pub async fn get(State(state): State<SharedState>) -> ApiResult<Response> {
    let now = state.taxonomy.in_force().await;
    Ok(Json(TaxonomyDoc::from(now.as_ref())).into_response())
}

/// `PUT /taxonomy`: imports a taxonomy, in force on every server and tagger
/// within seconds.
#[utoipa::path(
    put,
    path = "/taxonomy",
    tag = "tags",
    params(ImportParams),
    request_body(
        content(("text/csv"), (TaxonomyFile = "application/yaml"), (TaxonomyFile = "application/json")),
        description = "CSV with the columns name, description and optionally aliases (separated by |) and parent; or YAML (or JSON) `topics: [{name, description, aliases, parent}]`. Every parent must be a topic, and every name and alias one topic's, which the schema cannot state (400)."
    ),
    responses(
        (status = 200, description = "The taxonomy in force afterwards", body = TaxonomyDoc),
        InvalidTaxonomy,
        NotAdmin,
        Contended,
        NotTaxonomy,
        (status = 413, description = "Over 4 MiB (`too-large`)", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn import(
    State(state): State<SharedState>,
    Extension(Caller { admin, .. }): Extension<Caller>,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(admin, "importing a taxonomy")?;
    let mode = params.choice(
        "mode",
        &[
            ("extend", ImportMode::Extend),
            ("replace", ImportMode::Replace),
        ],
        ImportMode::Extend,
    )?;
    let retag = params.parsed::<bool>("retag")?.unwrap_or(false);
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::bad_request("the taxonomy is not UTF-8 text"))?;
    let topics = parse(&headers, text)?;
    let imported = topics.len();
    let now = state
        .taxonomy
        .import(topics, mode)
        .await
        .map_err(import_problem)?;
    tracing::info!(
        topics = imported,
        version = now.version,
        ?mode,
        "taxonomy imported"
    );
    if retag {
        requeue_in_background(&state);
    }
    Ok(Json(TaxonomyDoc::from(now.as_ref())).into_response())
}

/// `DELETE /taxonomy`: removes the import; the server's default is in force
/// again.
#[utoipa::path(
    delete,
    path = "/taxonomy",
    tag = "tags",
    responses(
        (status = 200, description = "The taxonomy in force afterwards (the default)", body = TaxonomyDoc),
        NotAdmin,
        Contended,
    )
)]
pub async fn reset(
    State(state): State<SharedState>,
    Extension(Caller { admin, .. }): Extension<Caller>,
) -> ApiResult<Response> {
    require_admin(admin, "resetting the taxonomy")?;
    let now = state.taxonomy.reset().await.map_err(import_problem)?;
    Ok(Json(TaxonomyDoc::from(now.as_ref())).into_response())
}

/// CSV or YAML by the body's type (JSON is YAML too); checked on import,
/// with what they extend.
fn parse(headers: &HeaderMap, text: &str) -> ApiResult<Vec<Topic>> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let parsed = match kind.as_str() {
        "text/csv" => Taxonomy::csv_topics(text),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
        | "application/json" => Taxonomy::yaml_topics(text),
        _ => {
            return Err(Problem::unsupported_media_type(
                "send the taxonomy as text/csv or application/yaml",
            ));
        }
    };
    parsed.map_err(|e| Problem::bad_request(e.to_string()))
}

fn import_problem(e: ImportError) -> Problem {
    match e {
        ImportError::Invalid(e) => Problem::bad_request(e.to_string()),
        ImportError::Contended => Problem::from(graphfs_domain::Error::Conflict(e.to_string())),
        ImportError::Index(e) => Problem::from(e),
    }
}

/// Every file queued again, in the background: a large installation takes
/// a while, and the import is done already.
fn requeue_in_background(state: &SharedState) {
    let index = state.index.clone();
    tokio::spawn(async move {
        match rebuild::requeue_all(&index, |_, _| {}).await {
            Ok(n) => tracing::info!(files = n, "queued for re-tagging after a taxonomy import"),
            Err(e) => tracing::warn!(error = %e, "queueing files after a taxonomy import failed"),
        }
    });
}
