//! The custom resources: `GraphFS` (a whole file system) and `TaggerPool`
//! (tagging handlers that scale with the queue). `crds/` is generated from
//! these types by `make crds`; a test fails when the two drift.

// Several `printcolumn(type_ = ...)` entries read as duplicated attributes to clippy.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "graphfs.io";

/// A condition as Kubernetes conventions describe it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Ready, StorageReady, GraphReady, ApiReady, TaggersReady, Active, Fallback.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    /// A CamelCase reason for the last transition.
    pub reason: String,
    /// What a person should know.
    #[serde(default)]
    pub message: String,
    /// RFC 3339 time of the last change of status.
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Compute resources, the way Pod containers take them.
pub type Resources = k8s_openapi::api::core::v1::ResourceRequirements;

// ---------------------------------------------------------------- GraphFS

/// A GraphFS: replicated API pods behind an Ingress, with object storage and
/// a graph database, managed by the operator or external.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "graphfs.io",
    version = "v1alpha1",
    kind = "GraphFS",
    plural = "graphfses",
    singular = "graphfs",
    shortname = "gfs",
    namespaced,
    status = "GraphFSStatus",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "API",
        type_ = "integer",
        description = "Available API replicas",
        json_path = ".status.apiReadyReplicas"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct GraphFSSpec {
    #[serde(default)]
    pub api: ApiSpec,
    #[serde(default)]
    pub ingress: IngressSpec,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default)]
    pub graph: GraphSpec,
    #[serde(default)]
    pub auth: AuthSpec,
    #[serde(default)]
    pub images: ImagesSpec,
    /// What happens to stored data when the GraphFS is deleted.
    #[serde(default)]
    pub retention: Retention,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    /// API pods; they are stateless, so more replicas only add capacity and
    /// availability.
    #[serde(default = "default_api_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub replicas: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Largest accepted upload in bytes.
    #[serde(default = "default_max_upload")]
    #[schemars(range(min = 0))]
    pub max_upload_bytes: i64,
}

fn default_api_replicas() -> i32 {
    2
}
fn default_max_upload() -> i64 {
    4 << 30
}

impl Default for ApiSpec {
    fn default() -> Self {
        ApiSpec {
            replicas: default_api_replicas(),
            resources: None,
            max_upload_bytes: default_max_upload(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// IngressClass name. `nginx` gets ingress-nginx annotations; any class works.
    #[serde(default = "default_ingress_class")]
    pub class_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Secret with the TLS certificate for `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
    /// Largest request body the ingress lets through, in nginx size syntax.
    #[serde(default = "default_body_size")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[0-9]+[kmgKMG]?$')").message("a size such as 512m or 4g"))]
    pub body_size_limit: String,
    /// Read and send timeout towards the API, in seconds (long for large uploads).
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_seconds: i32,
    /// Requests per second per client address; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rate_limit_rps: Option<i32>,
    /// Route through a Gateway API Gateway instead: an HTTPRoute attached to
    /// this parent is made, and no Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayRef>,
}

/// The parent Gateway of the HTTPRoute.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRef {
    pub name: String,
    /// Namespace of the Gateway (the GraphFS's own when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A listener of the Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_ingress_class() -> String {
    "nginx".into()
}
fn default_body_size() -> String {
    "4g".into()
}
fn default_timeout() -> i32 {
    600
}

impl Default for IngressSpec {
    fn default() -> Self {
        IngressSpec {
            enabled: true,
            class_name: default_ingress_class(),
            host: None,
            tls_secret_name: None,
            body_size_limit: default_body_size(),
            timeout_seconds: default_timeout(),
            rate_limit_rps: None,
            gateway: None,
        }
    }
}

/// Object storage: exactly one of `managed` (a MinIO the operator runs) or
/// `external` (any S3-compatible endpoint).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.managed) != has(self.external)").message("set exactly one of managed or external"))]
pub struct StorageSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStorage>,
    /// Bucket holding the files.
    #[serde(default = "default_bucket")]
    pub bucket: String,
}

fn default_bucket() -> String {
    "graphfs".into()
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            managed: Some(ManagedVolume::default()),
            external: None,
            bucket: default_bucket(),
        }
    }
}

/// A volume for a managed server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedVolume {
    /// PersistentVolumeClaim size, e.g. 10Gi.
    #[serde(default = "default_size")]
    #[x_kube(validation = kube::core::Rule::new("quantity(self).isGreaterThan(quantity('0'))").message("a positive quantity such as 10Gi"))]
    pub size: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

fn default_size() -> String {
    "10Gi".into()
}

impl Default for ManagedVolume {
    fn default() -> Self {
        ManagedVolume {
            size: default_size(),
            storage_class_name: None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalStorage {
    /// S3 endpoint URL, e.g. https://s3.example.com.
    #[x_kube(validation = kube::core::Rule::new("self.startsWith('http://') || self.startsWith('https://')").message("an http(s) URL"))]
    pub endpoint: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// Secret with keys `accessKeyId` and `secretAccessKey`.
    pub credentials_secret: String,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// The graph database: exactly one of `managed` (a Neo4j the operator runs)
/// or `external` (a Bolt URI).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.managed) != has(self.external)").message("set exactly one of managed or external"))]
pub struct GraphSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalGraph>,
}

impl Default for GraphSpec {
    fn default() -> Self {
        GraphSpec {
            managed: Some(ManagedVolume::default()),
            external: None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalGraph {
    /// Bolt URI, e.g. bolt://neo4j.example.com:7687.
    #[x_kube(validation = kube::core::Rule::new("self.matches('^(bolt|neo4j)(\\\\+s|\\\\+ssc)?://')").message("a bolt:// or neo4j:// URI"))]
    pub uri: String,
    /// Secret with keys `username` and `password`.
    pub credentials_secret: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Secret with a `tokens` key of `user:token` lines. When absent the
    /// operator generates one with an `admin` and an `operator` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_secret: Option<String>,
    /// Users with the admin role: they may merge and rename tags for every
    /// user. Absent: `admin`, the user of the generated Secret's first
    /// token. Empty: nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // A pattern, not a CEL rule: a rule over every item of a list costs
    // more than the API server's budget allows.
    #[schemars(
        length(max = 64),
        inner(length(min = 1, max = 256), regex(pattern = r"^[^,\s]([^,]*[^,\s])?$"))
    )]
    pub admin_users: Option<Vec<String>>,
    /// Sign-in through an OpenID Connect provider: its access tokens are
    /// accepted besides the API tokens, and its groups give the admin role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcSpec {
    /// The provider's issuer URL, exactly as its tokens' `iss` says it.
    #[schemars(length(max = 2048))]
    #[x_kube(validation = kube::core::Rule::new("self.startsWith('https://') || self.startsWith('http://')").message("an http(s) URL"))]
    pub issuer_url: String,
    /// GraphFS's client id at the provider; tokens must name it in `aud`.
    #[serde(default = "OidcSpec::default_client_id")]
    #[schemars(length(min = 1, max = 256))]
    pub client_id: String,
    /// The Secret key holding the client's secret, when the provider has
    /// GraphFS as a confidential client (absent: a public client, PKCE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeyRef>,
    /// The claim that names the user (default `preferred_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub user_claim: Option<String>,
    /// The claim that lists the user's groups (default `groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub groups_claim: Option<String>,
    /// Groups whose members have the admin role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 64),
        inner(length(min = 1, max = 256), regex(pattern = r"^[^,\s]([^,]*[^,\s])?$"))
    )]
    pub admin_groups: Vec<String>,
}

impl OidcSpec {
    fn default_client_id() -> String {
        "graphfs".into()
    }
}

impl AuthSpec {
    /// The user the generated tokens Secret makes an admin.
    pub const DEFAULT_ADMIN: &'static str = "admin";

    /// Who has the admin role, as the spec says or by default.
    pub fn admins(&self) -> Vec<String> {
        self.admin_users
            .clone()
            .unwrap_or_else(|| vec![Self::DEFAULT_ADMIN.to_string()])
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagesSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphfs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neo4j: Option<String>,
}

#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum Retention {
    /// Volumes and credentials outlive the GraphFS.
    #[default]
    Keep,
    /// Volumes and credentials are deleted with it.
    Delete,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphFSStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default)]
    pub api_ready_replicas: i32,
    /// Where the API is reached inside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_service: Option<String>,
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

// ------------------------------------------------------------- TaggerPool

/// Tagging handlers for a GraphFS, scaled from its queue depth (to zero
/// when idle) or by hand through the scale subresource.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "graphfs.io",
    version = "v1alpha1",
    kind = "TaggerPool",
    shortname = "tp",
    namespaced,
    status = "TaggerPoolStatus",
    scale = r#"{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas","labelSelectorPath":".status.selector"}"#,
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Replicas", type_ = "integer", json_path = ".status.replicas"),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desiredReplicas"
    ),
    printcolumn(
        name = "Queue",
        type_ = "integer",
        description = "Pending plus in-flight jobs",
        json_path = ".status.queueDepth"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct TaggerPoolSpec {
    /// The GraphFS (same namespace) whose files this pool tags.
    #[x_kube(validation = kube::core::Rule::new("self != ''").message("name the GraphFS to tag for"))]
    pub graph_fs_ref: String,
    /// Replicas when autoscaling is off (`kubectl scale` sets this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmSpec>,
    #[serde(default)]
    pub embedding: EmbeddingSpec,
    #[serde(default)]
    pub mode: TaggingMode,
    /// Jobs one pod works on at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency_per_pod: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Seconds a pod gets to finish its jobs after SIGTERM; longer than one
    /// model call.
    #[serde(default = "default_grace")]
    #[schemars(range(min = 5, max = 3600))]
    pub termination_grace_period_seconds: i64,
    #[serde(default)]
    pub autoscaling: Autoscaling,
}

fn default_concurrency() -> i32 {
    2
}
fn default_grace() -> i64 {
    300
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmSpec {
    /// OpenAI-compatible base URL (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).
    #[x_kube(validation = kube::core::Rule::new("self.startsWith('http://') || self.startsWith('https://')").message("an http(s) URL"))]
    pub base_url: String,
    pub chat_model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_model: Option<String>,
    /// Secret key holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<SecretKeyRef>,
    /// Seconds one model call may take.
    #[serde(default = "default_llm_timeout")]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: i32,
}

fn default_llm_timeout() -> i32 {
    120
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.mode != 'Endpoint' || has(self.baseUrl)").message("an Endpoint embedding needs baseUrl"))]
pub struct EmbeddingSpec {
    #[serde(default)]
    pub mode: EmbeddingMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum EmbeddingMode {
    /// all-MiniLM-L6-v2 inside the tagger pod.
    #[default]
    InProcess,
    /// An OpenAI-compatible /embeddings endpoint.
    Endpoint,
}

#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum TaggingMode {
    /// Keywords and metadata only; no model, nothing leaves the cluster.
    Offline,
    /// The model proposes tags, matched to the vocabulary.
    #[default]
    Generative,
    /// The model picks from vocabulary tags retrieved by similarity.
    Selective,
}

/// Queue-driven scaling in KEDA's terms.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas must not exceed maxReplicas"))]
pub struct Autoscaling {
    /// Off: replicas come from spec.replicas (and `kubectl scale`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// 0 scales to zero when the queue is idle.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000))]
    pub min_replicas: i32,
    #[serde(default = "default_max_replicas")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: i32,
    /// How often the queue is read.
    #[serde(default = "default_polling")]
    #[schemars(range(min = 1, max = 3600))]
    pub polling_interval_seconds: i32,
    /// How long the queue must stay idle before scaling to minReplicas.
    #[serde(default = "default_cooldown")]
    #[schemars(range(min = 0, max = 86400))]
    pub cooldown_period_seconds: i32,
    /// Queue depth one replica is expected to handle.
    #[serde(default = "default_target")]
    #[schemars(range(min = 1))]
    pub target_queue_depth_per_replica: i32,
    /// Depth above which the pool is active (scaled up from zero).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub activation_queue_depth: i32,
    #[serde(default = "ScalingRules::default_up")]
    pub scale_up: ScalingRules,
    #[serde(default = "ScalingRules::default_down")]
    pub scale_down: ScalingRules,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
}

fn default_max_replicas() -> i32 {
    10
}
fn default_polling() -> i32 {
    30
}
fn default_cooldown() -> i32 {
    300
}
fn default_target() -> i32 {
    10
}

impl Default for Autoscaling {
    fn default() -> Self {
        Autoscaling {
            enabled: true,
            min_replicas: 0,
            max_replicas: default_max_replicas(),
            polling_interval_seconds: default_polling(),
            cooldown_period_seconds: default_cooldown(),
            target_queue_depth_per_replica: default_target(),
            activation_queue_depth: 0,
            scale_up: ScalingRules::default_up(),
            scale_down: ScalingRules::default_down(),
            fallback: None,
        }
    }
}

/// Smoothing of one scaling direction, as the HPA's behavior does it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingRules {
    /// Recommendations over this window are considered: the smallest when
    /// scaling up, the largest when scaling down.
    #[serde(default)]
    #[schemars(range(min = 0, max = 3600))]
    pub stabilization_window_seconds: i32,
    /// Most replicas added or removed in one step.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub max_step: i32,
}

fn one() -> i32 {
    1
}

impl ScalingRules {
    pub fn default_up() -> Self {
        ScalingRules {
            stabilization_window_seconds: 0,
            max_step: 4,
        }
    }
    pub fn default_down() -> Self {
        ScalingRules {
            stabilization_window_seconds: 300,
            max_step: 1,
        }
    }
}

/// Replicas to run when the queue cannot be read.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fallback {
    /// Consecutive failed reads before the fallback applies.
    #[serde(default = "default_failure_threshold")]
    #[schemars(range(min = 1))]
    pub failure_threshold: i32,
    #[schemars(range(min = 0))]
    pub replicas: i32,
}

fn default_failure_threshold() -> i32 {
    3
}

/// One scaling recommendation, kept for the stabilization windows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// Unix seconds.
    pub at: i64,
    pub replicas: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaggerPoolStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Replicas of the tagger Deployment.
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
    #[serde(default)]
    pub desired_replicas: i32,
    /// Label selector of the pods, for the scale subresource.
    #[serde(default)]
    pub selector: String,
    /// Pending plus in-flight jobs at the last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<i64>,
    /// Unix seconds when the queue was last above activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_time: Option<i64>,
    /// Consecutive failed queue reads.
    #[serde(default)]
    pub metric_failures: i32,
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// Annotation that freezes autoscaling at the current replicas (KEDA's
/// `autoscaling.keda.sh/paused`).
pub const PAUSE_ANNOTATION: &str = "autoscaling.graphfs.io/paused";
