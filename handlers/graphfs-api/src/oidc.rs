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
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL, exactly as the tokens' `iss` says it.
    pub issuer: String,
    /// The audience tokens must carry (`aud`): GraphFS's client id.
    pub audience: String,
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

/// The provider's answer to a code exchange: the access token to send as
/// the bearer token.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderToken {
    pub access_token: String,
    /// Seconds until it expires, as the provider says.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Keys are fetched again at most this often when a token names a key id
/// the cached set lacks (the provider rotated its keys).
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

pub struct OidcVerifier {
    config: OidcConfig,
    http: reqwest::Client,
    jwks_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
    keys: RwLock<(Instant, JwkSet)>,
}

impl OidcVerifier {
    /// Reads the provider's discovery document and keys.
    pub async fn discover(config: OidcConfig) -> Result<OidcVerifier, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let found: Discovery = get_json(&http, &url).await?;
        if found.issuer != config.issuer {
            return Err(OidcError::Provider(format!(
                "the provider at {url} calls itself {}, not {}",
                found.issuer, config.issuer
            )));
        }
        let keys: JwkSet = get_json(&http, &found.jwks_uri).await?;
        Ok(OidcVerifier {
            config,
            http,
            jwks_uri: found.jwks_uri,
            authorization_endpoint: found.authorization_endpoint,
            token_endpoint: found.token_endpoint,
            keys: RwLock::new((Instant::now(), keys)),
        })
    }

    /// Where and how the page sends a user to sign in.
    pub fn sign_in(&self) -> ProviderSignIn {
        ProviderSignIn {
            authorization_endpoint: self.authorization_endpoint.clone(),
            client_id: self.config.audience.clone(),
            scope: "openid profile".into(),
        }
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
        let resp = self
            .http
            .post(&self.token_endpoint)
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", self.config.audience.as_str()),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", redirect_uri),
            ])
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("{}: {e}", self.token_endpoint)))?;
        let status = resp.status();
        if status.is_client_error() {
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let why = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("the code was not accepted");
            return Err(OidcError::Refused(why.to_string()));
        }
        if !status.is_success() {
            return Err(OidcError::Provider(format!(
                "{} answered {status}",
                self.token_endpoint
            )));
        }
        resp.json()
            .await
            .map_err(|e| OidcError::Provider(format!("{}: {e}", self.token_endpoint)))
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
        {
            let keys = self.keys.read().await;
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
        let fresh: JwkSet = get_json(&self.http, &self.jwks_uri).await?;
        let mut keys = self.keys.write().await;
        *keys = (Instant::now(), fresh);
        let jwk = keys.1.find(kid).ok_or_else(|| {
            OidcError::Rejected(format!("the token is signed with an unknown key ({kid})"))
        })?;
        DecodingKey::from_jwk(jwk)
            .map_err(|e| OidcError::Provider(format!("unusable key {kid}: {e}")))
    }
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
        OidcVerifier {
            config: OidcConfig {
                issuer: "https://id.example.com/realms/r".into(),
                audience: "graphfs".into(),
                user_claim: "preferred_username".into(),
                user_prefix: "oidc:".into(),
                groups_claim: "groups".into(),
                admin_groups: HashSet::from(["graphfs-admins".to_string()]),
            },
            http: reqwest::Client::new(),
            jwks_uri: String::new(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            keys: RwLock::new((Instant::now(), JwkSet { keys: vec![] })),
        }
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
}
