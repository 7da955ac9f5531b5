//! Where the autoscaler reads queue depth: the GraphFS API's
//! `/api/v1/queue`, with the operator's token from the GraphFS tokens Secret.

use async_trait_free::BoxFuture;
use graphfs_domain::QueueDepth;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use crate::build::Names;
use crate::crd::GraphFS;

mod async_trait_free {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

pub trait QueueSource: Send + Sync {
    fn depth<'a>(
        &'a self,
        gfs: &'a GraphFS,
        client: &'a Client,
    ) -> BoxFuture<'a, anyhow::Result<QueueDepth>>;
}

/// Reads the queue over HTTP. `url_template` has `{name}` and `{namespace}`
/// placeholders (the in-cluster default is the API Service).
pub struct HttpQueue {
    pub url_template: String,
    pub http: reqwest::Client,
}

impl HttpQueue {
    pub fn new(url_template: String) -> anyhow::Result<Self> {
        Ok(HttpQueue {
            url_template,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()?,
        })
    }

    pub fn base_url(&self, gfs: &GraphFS) -> String {
        self.url_template
            .replace("{name}", &gfs.name_any())
            .replace("{namespace}", &gfs.namespace().unwrap_or_default())
    }
}

/// The `operator:` token of a tokens file (or the first token).
pub fn operator_token(tokens: &str) -> Option<String> {
    let pairs: Vec<(&str, &str)> = tokens
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(u, t)| (u.trim(), t.trim()))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    pairs
        .iter()
        .find(|(u, _)| *u == "operator")
        .or(pairs.first())
        .map(|(_, t)| t.to_string())
}

impl QueueSource for HttpQueue {
    fn depth<'a>(
        &'a self,
        gfs: &'a GraphFS,
        client: &'a Client,
    ) -> BoxFuture<'a, anyhow::Result<QueueDepth>> {
        Box::pin(async move {
            let ns = gfs.namespace().unwrap_or_default();
            let secret_name = gfs
                .spec
                .auth
                .tokens_secret
                .clone()
                .unwrap_or_else(|| Names::new(&gfs.name_any()).tokens_secret());
            let secret = Api::<Secret>::namespaced(client.clone(), &ns)
                .get(&secret_name)
                .await?;
            let tokens = secret
                .data
                .as_ref()
                .and_then(|d| d.get("tokens"))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .or_else(|| {
                    secret
                        .string_data
                        .as_ref()
                        .and_then(|d| d.get("tokens"))
                        .cloned()
                })
                .ok_or_else(|| anyhow::anyhow!("Secret {secret_name} has no 'tokens' key"))?;
            let token = operator_token(&tokens)
                .ok_or_else(|| anyhow::anyhow!("Secret {secret_name} holds no token"))?;
            let url = format!("{}/api/v1/queue", self.base_url(gfs));
            let resp = self.http.get(&url).bearer_auth(token).send().await?;
            anyhow::ensure!(
                resp.status().is_success(),
                "{url} answered {}",
                resp.status()
            );
            Ok(resp.json::<QueueDepth>().await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_operator_token() {
        assert_eq!(
            operator_token("admin:a1\noperator:o1\n").as_deref(),
            Some("o1")
        );
        assert_eq!(operator_token("admin:a1\n").as_deref(), Some("a1"));
        assert_eq!(operator_token("\n# nothing\n"), None);
    }
}
