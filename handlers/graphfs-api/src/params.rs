//! Query strings parsed by hand: repeated keys (`tag=a&tag=b`) and precise
//! problem messages for bad values, which serde-based extractors give neither.

use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::problem::Problem;

#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Self {
        Params(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A value parsed as `T`, or a 400 naming the parameter.
    pub fn parsed<T: FromStr>(&self, key: &str) -> Result<Option<T>, Problem>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| Problem::bad_request(format!("query parameter '{key}': {e}"))),
        }
    }

    /// An integer in `[min, max]`, or `default` when absent.
    pub fn int_in(&self, key: &str, min: u64, max: u64, default: u64) -> Result<u64, Problem> {
        let v = self.parsed::<u64>(key)?.unwrap_or(default);
        if v < min || v > max {
            return Err(Problem::bad_request(format!(
                "query parameter '{key}' must be between {min} and {max}"
            )));
        }
        Ok(v)
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(
        &self,
        key: &str,
        options: &[(&str, T)],
        default: T,
    ) -> Result<T, Problem> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => options
                .iter()
                .find(|(name, _)| *name == v)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    let names: Vec<_> = options.iter().map(|(n, _)| *n).collect();
                    Problem::bad_request(format!(
                        "query parameter '{key}' must be one of: {}",
                        names.join(", ")
                    ))
                }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query().unwrap_or("")))
    }
}

/// A JSON request body: 415 unless the content type says JSON, 400 with
/// the parser's reason when it does not parse (unknown fields included).
pub fn json_body<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> crate::problem::ApiResult<T> {
    use crate::problem::Problem;
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return Err(Problem::unsupported_media_type(
            "send the body as application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))
}
