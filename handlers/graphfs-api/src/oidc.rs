//! Access tokens of an OpenID Connect provider (Keycloak, Dex, any other):
//! a JWT is accepted when its signature checks against the provider's
//! published keys (JWKS, found through discovery), its issuer and audience
//! are the configured ones and it has not expired. The user is a claim of
//! it; the admin role comes from its groups.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::RwLock;

/// How GraphFS trusts one provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// The issuer URL, exactly as the tokens' `iss` says it.
    pub issuer: String,
    /// The audience tokens must carry (`aud`): GraphFS's client id.
    pub audience: String,
    /// The client's secret at the provider, for a confidential client;
    /// sent with each token request (`client_secret_post`).
    pub client_secret: Option<String>,
    /// The claim that names the user.
    pub user_claim: String,
    /// Put before every user name, so that provider users cannot take the
    /// name of a token user (`oidc:` makes `alice` `oidc:alice`).
    pub user_prefix: String,
    /// The claim that lists the user's groups.
    pub groups_claim: String,
    /// Members of these groups have the admin role.
    pub admin_groups: HashSet<String>,
}

// By hand, so that the client's secret never reaches a log.
impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("user_claim", &self.user_claim)
            .field("user_prefix", &self.user_prefix)
            .field("groups_claim", &self.groups_claim)
            .field("admin_groups", &self.admin_groups)
            .finish()
    }
}

/// Who a verified token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcUser {
    pub user: String,
    pub admin: bool,
}

#[derive(thiserror::Error, Debug)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense: 503.
    #[error("the sign-in provider is unavailable: {0}")]
    Provider(String),
    /// The token is not one this server accepts: 401.
    #[error("{0}")]
    Rejected(String),
    /// The provider refused a code exchange (an old or forged code, a
    /// verifier that does not match): 400.
    #[error("the sign-in provider refused: {0}")]
    Refused(String),
}

impl From<OidcError> for crate::problem::Problem {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Rejected(m) => crate::problem::Problem::unauthorized(m),
            OidcError::Refused(m) => crate::problem::Problem::bad_request(m),
            // Logged with its address; the client hears only "unavailable".
            OidcError::Provider(m) => graphfs_domain::Error::unavailable(m).into(),
        }
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

/// What the page needs to send a user to the provider's sign-in page
/// (authorization code with PKCE).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderSignIn {
    /// Where to send the browser, with the code challenge.
    pub authorization_endpoint: String,
    /// GraphFS's client id at the provider.
    pub client_id: String,
    /// The scopes to ask for.
    pub scope: String,
}

/// The provider's answer to a code exchange or a refresh: the access token
/// to send as the bearer token, and the refresh token that gets the next
/// one before it expires.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderToken {
    pub access_token: String,
    /// Seconds until it expires, as the provider says.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Exchanged at `POST /sign-in/refresh` for a new access token, when
    /// the provider gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Keys are fetched again at most this often when a token names a key id
/// the cached set lacks (the provider rotated its keys).
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// A provider not reached yet is tried again at most this often, so that
/// requests while it is down do not each wait on it.
const DISCOVER_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// What discovery found: the provider's endpoints and its signing keys.
struct Provider {
    jwks_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
    keys: RwLock<(Instant, JwkSet)>,
}

/// Verifies the provider's tokens. The provider is discovered on first
/// need, not at start: a server that starts while its provider is down
/// serves API tokens, answers 503 to provider tokens, and signs them in
/// once the provider answers.
pub struct OidcVerifier {
    config: OidcConfig,
    http: reqwest::Client,
    provider: tokio::sync::OnceCell<Provider>,
    last_try: std::sync::Mutex<Option<Instant>>,
}

impl OidcVerifier {
    /// A verifier for `config`; nothing is fetched yet.
    pub fn new(config: OidcConfig) -> Result<OidcVerifier, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        Ok(OidcVerifier {
            config,
            http,
            provider: tokio::sync::OnceCell::new(),
            last_try: std::sync::Mutex::new(None),
        })
    }

    /// Reads the provider's discovery document and keys, unless they are
    /// read already; a provider tried less than [`DISCOVER_AT_MOST_EVERY`]
    /// ago is not tried again yet.
    pub async fn discover(&self) -> Result<(), OidcError> {
        self.provider().await.map(|_| ())
    }

    async fn provider(&self) -> Result<&Provider, OidcError> {
        if let Some(p) = self.provider.get() {
            return Ok(p);
        }
        {
            let mut last = self
                .last_try
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < DISCOVER_AT_MOST_EVERY) {
                return Err(OidcError::Provider(format!(
                    "{} was not reached at the last try",
                    self.config.issuer
                )));
            }
            *last = Some(Instant::now());
        }
        self.provider
            .get_or_try_init(|| async {
                let p = discover(&self.http, &self.config.issuer).await;
                match &p {
                    Ok(_) => tracing::info!(issuer = %self.config.issuer, "the OIDC provider is reached"),
                    Err(e) => tracing::warn!(issuer = %self.config.issuer, error = %e, "the OIDC provider is not reached; its tokens are refused until it is"),
                }
                p
            })
            .await
    }

    /// Where and how the page sends a user to sign in.
    pub async fn sign_in(&self) -> Result<ProviderSignIn, OidcError> {
        Ok(ProviderSignIn {
            authorization_endpoint: self.provider().await?.authorization_endpoint.clone(),
            client_id: self.config.audience.clone(),
            scope: "openid profile".into(),
        })
    }

    /// Exchanges an authorization code (and its PKCE verifier) for an
    /// access token at the provider's token endpoint. Done by the server so
    /// the page talks only to GraphFS (its content policy allows no other
    /// origin); the provider checks the code, the verifier and the redirect.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<ProviderToken, OidcError> {
        self.token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", redirect_uri),
            ],
            "the code was not accepted",
        )
        .await
    }

    /// A new access token for a refresh token the provider gave with an
    /// earlier one; the provider checks it (and may refuse one it revoked,
    /// or one whose session ended).
    pub async fn refresh(&self, refresh_token: &str) -> Result<ProviderToken, OidcError> {
        self.token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            "the refresh token was not accepted",
        )
        .await
    }

    /// One request to the token endpoint as GraphFS's client: public (its
    /// id alone) or confidential (with its secret).
    async fn token_request(
        &self,
        form: &[(&str, &str)],
        refused: &str,
    ) -> Result<ProviderToken, OidcError> {
        let endpoint = &self.provider().await?.token_endpoint;
        let mut form = form.to_vec();
        form.push(("client_id", self.config.audience.as_str()));
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let resp = self
            .http
            .post(endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("{endpoint}: {e}")))?;
        let status = resp.status();
        if status.is_client_error() {
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let why = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or(refused);
            return Err(OidcError::Refused(why.to_string()));
        }
        if !status.is_success() {
            return Err(OidcError::Provider(format!("{endpoint} answered {status}")));
        }
        resp.json()
            .await
            .map_err(|e| OidcError::Provider(format!("{endpoint}: {e}")))
    }

    /// Whether `token` is shaped like a JWT (three base64url parts); API
    /// tokens are not.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("ey")
    }

    /// The user a token names, once its signature, issuer, audience and
    /// lifetime check.
    pub async fn verify(&self, token: &str) -> Result<OidcUser, OidcError> {
        let header = decode_header(token)
            .map_err(|e| OidcError::Rejected(format!("not a valid JWT: {e}")))?;
        let kid = header
            .kid
            .ok_or_else(|| OidcError::Rejected("the token names no signing key".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| OidcError::Rejected(format!("the token is not valid: {e}")))?
            .claims;
        self.user_of(&claims)
    }

    /// The user and role of verified claims.
    fn user_of(&self, claims: &Map<String, Value>) -> Result<OidcUser, OidcError> {
        let name = claims
            .get(&self.config.user_claim)
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                OidcError::Rejected(format!(
                    "the token has no '{}' claim to name its user",
                    self.config.user_claim
                ))
            })?;
        let admin = claims
            .get(&self.config.groups_claim)
            .and_then(Value::as_array)
            .is_some_and(|groups| {
                groups
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|g| self.config.admin_groups.contains(g.trim_start_matches('/')))
            });
        Ok(OidcUser {
            user: format!("{}{}", self.config.user_prefix, name.trim()),
            admin,
        })
    }

    /// The key with id `kid`, fetching the provider's keys again when it is
    /// new (at most every [`REFRESH_AT_MOST_EVERY`]).
    async fn key(&self, kid: &str) -> Result<DecodingKey, OidcError> {
        let provider = self.provider().await?;
        {
            let keys = provider.keys.read().await;
            if let Some(jwk) = keys.1.find(kid) {
                return DecodingKey::from_jwk(jwk)
                    .map_err(|e| OidcError::Provider(format!("unusable key {kid}: {e}")));
            }
            if keys.0.elapsed() < REFRESH_AT_MOST_EVERY {
                return Err(OidcError::Rejected(format!(
                    "the token is signed with an unknown key ({kid})"
                )));
            }
        }
        let fresh: JwkSet = get_json(&self.http, &provider.jwks_uri).await?;
        let mut keys = provider.keys.write().await;
        *keys = (Instant::now(), fresh);
        let jwk = keys.1.find(kid).ok_or_else(|| {
            OidcError::Rejected(format!("the token is signed with an unknown key ({kid})"))
        })?;
        DecodingKey::from_jwk(jwk)
            .map_err(|e| OidcError::Provider(format!("unusable key {kid}: {e}")))
    }
}

/// The provider's discovery document and keys; a provider that names
/// another issuer than the one configured is not trusted.
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Provider, OidcError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let found: Discovery = get_json(http, &url).await?;
    if found.issuer != issuer {
        return Err(OidcError::Provider(format!(
            "the provider at {url} calls itself {}, not {issuer}",
            found.issuer
        )));
    }
    let keys: JwkSet = get_json(http, &found.jwks_uri).await?;
    Ok(Provider {
        jwks_uri: found.jwks_uri,
        authorization_endpoint: found.authorization_endpoint,
        token_endpoint: found.token_endpoint,
        keys: RwLock::new((Instant::now(), keys)),
    })
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, OidcError> {
    let resp = http
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
    resp.json()
        .await
        .map_err(|e| OidcError::Provider(format!("{url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> OidcVerifier {
        OidcVerifier::new(OidcConfig {
            issuer: "https://id.example.com/realms/r".into(),
            audience: "graphfs".into(),
            client_secret: None,
            user_claim: "preferred_username".into(),
            user_prefix: "oidc:".into(),
            groups_claim: "groups".into(),
            admin_groups: HashSet::from(["graphfs-admins".to_string()]),
        })
        .unwrap()
    }

    #[test]
    fn users_are_prefixed_and_groups_give_the_admin_role() {
        let v = verifier();
        let claims = |c: Value| c.as_object().cloned().unwrap();
        assert_eq!(
            v.user_of(&claims(serde_json::json!({"preferred_username": "alice", "groups": ["/graphfs-admins", "x"]})))
                .unwrap(),
            OidcUser { user: "oidc:alice".into(), admin: true }
        );
        assert_eq!(
            v.user_of(&claims(
                serde_json::json!({"preferred_username": "bob", "groups": "graphfs-admins"})
            ))
            .unwrap(),
            OidcUser {
                user: "oidc:bob".into(),
                admin: false
            },
            "groups must be a list"
        );
        assert!(matches!(
            v.user_of(&claims(serde_json::json!({"sub": "123"}))),
            Err(OidcError::Rejected(_))
        ));
        assert!(OidcVerifier::looks_like_jwt("eyJhbGciOi.eyJzdWIiOi.sig"));
        assert!(!OidcVerifier::looks_like_jwt("gfs_0123abcd"));
    }

    #[tokio::test]
    async fn a_provider_not_reached_is_unavailable_and_tried_again_later() {
        // Nothing listens on port 1: the connection is refused at once.
        let v = OidcVerifier::new(OidcConfig {
            issuer: "http://127.0.0.1:1/realms/r".into(),
            ..verifier().config
        })
        .unwrap();
        let first = v.discover().await;
        assert!(
            matches!(&first, Err(OidcError::Provider(m)) if m.contains("127.0.0.1:1")),
            "{:?}",
            first.err()
        );
        // Within the pause, the next need does not try again.
        let again = v.sign_in().await;
        assert!(
            matches!(&again, Err(OidcError::Provider(m)) if m.contains("at the last try")),
            "{:?}",
            again.err()
        );
        assert!(matches!(v.refresh("r").await, Err(OidcError::Provider(_))));
    }
}
