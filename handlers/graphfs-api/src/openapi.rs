//! The API description, generated from the handlers and types: the router
//! (`app::router`) and the served document are built from the same route
//! list, so they cannot disagree. `graphfs openapi` prints it, `make
//! openapi` writes it to `handlers/graphfs-api/openapi.json`, and a test
//! fails when that file drifts from the code.

use std::sync::OnceLock;

use axum::extract::DefaultBodyLimit;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::SharedState;
use crate::{browse, credentials, files, folders, ingest, ops, signin, taxonomy, versions};

pub use crate::problem::ProblemDoc;

/// `{"items": [...]}`: a list that is not paged.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// The caller, and the limits a client can check before sending anything.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: String,
    /// Whether the caller may merge and rename tags for everyone.
    pub admin: bool,
    pub limits: Limits,
}

/// A string whose rule is code, not a literal: a `pattern` attribute could
/// not keep in step with it, so these schemas are built from the rule.
fn text_schema(
    description: &str,
    max_chars: usize,
    pattern: String,
    example: &str,
) -> RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(pattern))
        .examples([example])
        .into()
}

/// A tag name as a client sends it, in the query, the path or a body.
pub struct TagName;

impl utoipa::PartialSchema for TagName {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "A tag name, compared after NFKC and lower-casing: letters of any script, \
             digits, symbols, spaces and `# + - . _`; no control or invisible format \
             characters and no other ASCII punctuation; at least one character that is \
             not a space or `_ - .`.",
            graphfs_domain::MAX_TAG_CHARS,
            graphfs_domain::tag_pattern(),
            "invoice",
        )
    }
}

impl ToSchema for TagName {}

/// A file name as a client sends it.
pub struct FileName;

impl utoipa::PartialSchema for FileName {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "A file name, stored in Unicode NFC with surrounding spaces trimmed: one \
             path component (no `/` or `\\`), no control characters, not `.` or `..`.",
            graphfs_domain::MAX_FILE_NAME_CHARS,
            graphfs_domain::file_name_pattern(),
            "invoice.pdf",
        )
    }
}

impl ToSchema for FileName {}

/// A folder path as a client sends it.
pub struct FolderPath;

impl utoipa::PartialSchema for FolderPath {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A folder: `/`-separated names (each as a file name; blank ones are \
                 dropped), stored as `/` or `/a/b`.",
            ))
            .max_length(Some(graphfs_domain::MAX_FOLDER_CHARS))
            .pattern(Some(graphfs_domain::folder_pattern()))
            .examples(["/projects/titan"])
            .into()
    }
}

impl ToSchema for FolderPath {}

/// A short label a user gives something (a token).
pub struct Label;

impl utoipa::PartialSchema for Label {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "A label: no control characters, not blank; surrounding spaces are trimmed.",
            graphfs_domain::MAX_LABEL_CHARS,
            graphfs_domain::label_pattern(),
            "laptop",
        )
    }
}

impl ToSchema for Label {}

/// A user's name, as files are shared with it.
pub struct UserName;

impl utoipa::PartialSchema for UserName {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "A user's name: no control characters, not blank; surrounding spaces are trimmed.",
            graphfs_domain::MAX_USER_CHARS,
            graphfs_domain::label_pattern(),
            "bob",
        )
    }
}

impl ToSchema for UserName {}

/// What to search for: up to 500 characters, not only white space.
pub struct SearchText;

/// Longest search text, in characters as sent.
pub const MAX_SEARCH_CHARS: usize = 500;

impl utoipa::PartialSchema for SearchText {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "Words to find in names, text and tags",
            MAX_SEARCH_CHARS,
            graphfs_domain::not_blank_pattern(),
            "quarterly invoice",
        )
    }
}

impl ToSchema for SearchText {}

#[derive(Debug, Serialize, ToSchema)]
pub struct Limits {
    /// Largest accepted upload in bytes; larger uploads are answered 413.
    pub max_upload_bytes: u64,
}

/// The request is not valid (`invalid-request`, `invalid-name`)
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct InvalidRequest(pub ProblemDoc);

/// The body is not JSON (`unsupported-media-type`)
#[derive(IntoResponses)]
#[response(status = 415, content_type = "application/problem+json")]
pub struct NotJson(pub ProblemDoc);

/// No such file, or not one the caller may see (`not-found`)
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NoSuchFile(pub ProblemDoc);

/// Sign-in through a provider is not configured (`not-found`)
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NoProvider(pub ProblemDoc);

/// The provider is unreachable (`unavailable`)
#[derive(IntoResponses)]
#[response(status = 503, content_type = "application/problem+json")]
pub struct ProviderDown(pub ProblemDoc);

/// No such tag (`not-found`)
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NoSuchTag(pub ProblemDoc);

/// The file is shared with the caller, who may see it but not change it (`forbidden`)
#[derive(IntoResponses)]
#[response(status = 403, content_type = "application/problem+json")]
pub struct NotOwner(pub ProblemDoc);

/// The caller is not an admin, and this changes every user's view (`forbidden`)
#[derive(IntoResponses)]
#[response(status = 403, content_type = "application/problem+json")]
pub struct NotAdmin(pub ProblemDoc);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "GraphFS API",
        description = include_str!("openapi-intro.md"),
    ),
    // Types only parameters use: utoipa collects those of bodies alone.
    components(schemas(
        TagName,
        FileName,
        FolderPath,
        SearchText,
        Label,
        UserName,
        crate::taxonomy::ImportModeParam
    )),
)]
struct ApiDoc;

/// The routes a signed-in user calls (`/api/v1`, behind the token check).
pub(crate) fn user_routes() -> OpenApiRouter<SharedState> {
    // Uploads are streamed and limited by the handler itself.
    let (schemas, paths, upload) = routes!(files::upload, files::list);
    let (taxonomy_schemas, taxonomy_paths, taxonomy) =
        routes!(taxonomy::get, taxonomy::import, taxonomy::reset);
    OpenApiRouter::new()
        .routes((schemas, paths, upload.layer(DefaultBodyLimit::disable())))
        .routes(routes!(files::get_one, files::update, files::delete))
        .routes(routes!(files::download))
        .routes(routes!(files::retag))
        .routes(routes!(versions::list))
        .routes(routes!(versions::download))
        .routes(routes!(versions::restore))
        .routes(routes!(folders::list, folders::create, folders::delete))
        .routes(routes!(folders::move_folder))
        .routes(routes!(browse::similar))
        .routes(routes!(browse::tags))
        .routes(routes!(browse::rename))
        .routes(routes!(browse::merge))
        .routes(routes!(browse::tag_files))
        .routes(routes!(browse::related))
        .routes(routes!(browse::rejected))
        .routes((
            taxonomy_schemas,
            taxonomy_paths,
            taxonomy.layer(DefaultBodyLimit::max(taxonomy::MAX_TAXONOMY_BYTES)),
        ))
        .routes(routes!(browse::reject, browse::unreject))
        .routes(routes!(browse::search))
        .routes(routes!(browse::graph))
        .routes(routes!(browse::queue))
        .routes(routes!(browse::me))
        .routes(routes!(credentials::list, credentials::create))
        .routes(routes!(credentials::revoke))
}

/// `/api/v1` routes without a user token: this document, bucket
/// notifications (their own shared secret), and signing in.
pub(crate) fn open_api_routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(ops::openapi))
        .routes(routes!(ingest::s3_event))
        .routes(routes!(signin::options))
        .routes(routes!(signin::exchange))
        .routes(routes!(signin::refresh))
}

/// Probes and metrics, at the root.
pub(crate) fn root_routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The routes with their description; `app::router` adds the layers.
pub(crate) fn described(user: OpenApiRouter<SharedState>) -> OpenApiRouter<SharedState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", user.merge(open_api_routes()))
        .merge(root_routes())
}

/// The OpenAPI document of this server.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = described(user_routes()).into_openapi();
    BearerAndProblems.modify(&mut doc);
    doc
}

/// The document as served and as kept in `openapi.json`.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut s = document()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    })
}

/// What every operation shares, added once the routes are in: the bearer
/// token on `/api/v1` (but this document and bucket notifications), and
/// problem details for the errors any request may meet.
struct BearerAndProblems;

const PROBLEM_JSON: &str = "application/problem+json";

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "ProblemDoc",
            )))),
        )
        .into()
}

impl Modify for BearerAndProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A GraphFS API token, or an access token of the configured OIDC provider",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let signed_in = path.starts_with("/api/v1/")
                && path != "/api/v1/openapi.json"
                && path != "/api/v1/events/s3"
                && !path.starts_with("/api/v1/sign-in");
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
                &mut item.put,
            ]
            .into_iter()
            .flatten()
            {
                let r = &mut op.responses.responses;
                if signed_in {
                    op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                    r.entry("401".into()).or_insert_with(|| {
                        problem_response("No token, or one that is not valid (`unauthorized`)")
                    });
                    r.entry("429".into()).or_insert_with(|| {
                        problem_response(
                            "Over the caller's request rate (`rate-limited`); Retry-After says when to come back",
                        )
                    });
                    r.entry("503".into()).or_insert_with(|| {
                        problem_response(
                            "A backend is unreachable (`unavailable`); Retry-After says when to try again",
                        )
                    });
                }
                if path.starts_with("/api/v1/") {
                    r.entry("500".into())
                        .or_insert_with(|| problem_response("A server fault (`internal`)"));
                }
            }
        }
        // An upload's raw body may be empty (an empty file); utoipa marks a
        // body required whenever one of its contents has a schema.
        if let Some(body) = openapi
            .paths
            .paths
            .get_mut("/api/v1/files")
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
            && let RefOr::T(body) = body
        {
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openapi.json` is the generated document; `make openapi` rewrites it.
    #[test]
    fn openapi_json_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let kept = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            kept == document_json(),
            "{path} differs from the document the code generates: run `make openapi`"
        );
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r);
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value = serde_json::from_str(document_json()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 20);
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} does not resolve"
            );
        }
    }

    #[test]
    fn every_route_is_described_with_its_constraints() {
        let doc: serde_json::Value = serde_json::from_str(document_json()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(
            (paths.len(), operations),
            (32, 41),
            "{:?}",
            paths.keys().collect::<Vec<_>>()
        );
        // Name rules and limits the server enforces are in the schema.
        let patch = &doc["components"]["schemas"]["FilePatch"]["properties"];
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            patch["name"]["oneOf"][0]["$ref"],
            "#/components/schemas/FileName"
        );
        assert_eq!(schemas["FileName"]["maxLength"], 255);
        assert_eq!(
            schemas["FileName"]["pattern"],
            graphfs_domain::file_name_pattern()
        );
        assert_eq!(schemas["TagName"]["pattern"], graphfs_domain::tag_pattern());
        assert_eq!(
            schemas["FolderPath"]["pattern"],
            graphfs_domain::folder_pattern()
        );
        assert_eq!(schemas["FolderPath"]["maxLength"], 1024);
        assert_eq!(
            patch["folder"]["oneOf"][0]["$ref"],
            "#/components/schemas/FolderPath"
        );
        assert_eq!(patch["add_tags"]["maxItems"], 100);
        let search = &paths["/api/v1/search"]["get"]["parameters"];
        let limit = search
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["schema"]["maximum"], 200);
        assert_eq!(
            paths["/api/v1/files"]["get"]["security"][0]["bearer"],
            serde_json::json!([])
        );
        assert!(
            paths["/api/v1/openapi.json"]["get"]
                .get("security")
                .is_none()
        );
    }
}
