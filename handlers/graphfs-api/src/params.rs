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
        // An empty value is a mistake, not an absent parameter: the page
        // leaves out what it does not set, and the schema says so.
        match self.get(key) {
            None => Ok(None),
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
            None => Ok(default),
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
    json_object(body).map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))
}

/// A JSON object read as `T`. Derived deserialisers also take an array of
/// the members' values in order (`[]` for a struct whose members all
/// default), which no client means; this refuses anything but an object.
pub fn json_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    use serde::de::Error as _;
    let value: serde_json::Value = serde_json::from_slice(body)?;
    if !value.is_object() {
        return Err(serde_json::Error::custom("expected a JSON object"));
    }
    serde_json::from_value(value)
}

/// An optional whole number from JSON. JSON Schema's `integer` includes
/// `848.0`; serde's integer types refuse it.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::Deserialize as _;
    use serde::de::Error as _;
    Option::<f64>::deserialize(d)?
        .map(|f| {
            if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
                Ok(f as u32)
            } else {
                Err(D::Error::custom(format!(
                    "expected a whole number, got {f}"
                )))
            }
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct AllDefault {
        #[serde(default)]
        #[allow(dead_code)]
        items: Vec<u32>,
    }

    #[test]
    fn only_objects_are_json_bodies() {
        assert!(json_object::<AllDefault>(b"{}").is_ok());
        // serde alone would read `[]` as the struct with every member defaulted.
        assert!(serde_json::from_slice::<AllDefault>(b"[]").is_ok());
        assert!(json_object::<AllDefault>(b"[]").is_err());
        assert!(json_object::<AllDefault>(b"null").is_err());
    }

    #[derive(Debug, serde::Deserialize)]
    struct Days {
        #[serde(default, deserialize_with = "whole_number")]
        days: Option<u32>,
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_point() {
        let days = |body: &str| json_object::<Days>(body.as_bytes()).map(|d| d.days);
        assert_eq!(days(r#"{"days": 848}"#).unwrap(), Some(848));
        assert_eq!(days(r#"{"days": 848.0}"#).unwrap(), Some(848));
        assert_eq!(days(r#"{}"#).unwrap(), None);
        assert_eq!(days(r#"{"days": null}"#).unwrap(), None);
        assert!(days(r#"{"days": 1.5}"#).is_err());
        assert!(days(r#"{"days": -1}"#).is_err());
        assert!(days(r#"{"days": 1e300}"#).is_err());
    }

    #[test]
    fn empty_values_are_mistakes_not_absences() {
        let p = Params::parse("limit=&sort=");
        assert!(p.int_in("limit", 1, 10, 5).is_err());
        assert!(p.choice("sort", &[("name", 1)], 0).is_err());
        assert_eq!(Params::parse("").int_in("limit", 1, 10, 5).unwrap(), 5);
    }
}
