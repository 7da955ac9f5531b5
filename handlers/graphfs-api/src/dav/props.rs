//! Dead properties (PROPPATCH): what clients store on a resource (Windows
//! keeps its file times and attributes there). They live in the graph
//! index (`graphfs_domain::DriveProps`), one document per user and path, so every
//! replica sees what another took; they follow moves, copies and deletes
//! through the drive and the API alike, and are bounded.

use std::collections::BTreeMap;
use std::sync::Arc;

use dav_server::fs::{DavProp, FsError, FsResult};
use graphfs_domain::GraphIndex;
use serde::{Deserialize, Serialize};

use super::fs::fs_error;

/// Most properties one resource holds.
const MAX_PER_RESOURCE: usize = 64;
/// Largest value, in bytes of XML.
const MAX_VALUE_BYTES: usize = 16 << 10;
/// Most resources of one user holding properties.
const MAX_RESOURCES: u64 = 10_000;
/// Attempts at a patch before giving up when other writers keep winning.
const ATTEMPTS: usize = 16;

/// One property as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Stored {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    /// The value as XML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    xml: Option<String>,
}

impl Stored {
    fn from_dav(p: DavProp) -> FsResult<Stored> {
        let xml = p
            .xml
            .map(String::from_utf8)
            .transpose()
            .map_err(|_| FsError::Forbidden)?;
        Ok(Stored {
            name: p.name,
            prefix: p.prefix,
            namespace: p.namespace,
            xml,
        })
    }

    fn to_dav(&self, with_value: bool) -> DavProp {
        DavProp {
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            namespace: self.namespace.clone(),
            xml: self
                .xml
                .as_ref()
                .filter(|_| with_value)
                .map(|x| x.as_bytes().to_vec()),
        }
    }
}

/// A resource's properties, by namespace and name.
type Props = BTreeMap<(String, String), Stored>;

fn key(namespace: &Option<String>, name: &str) -> (String, String) {
    (namespace.clone().unwrap_or_default(), name.to_string())
}

fn parse(body: &str) -> Props {
    let list: Vec<Stored> = serde_json::from_str(body).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable dead properties; treated as none");
        Vec::new()
    });
    list.into_iter()
        .map(|p| (key(&p.namespace, &p.name), p))
        .collect()
}

fn without_value(p: &DavProp) -> DavProp {
    DavProp {
        xml: None,
        ..p.clone()
    }
}

/// The drive's dead properties, over the index that keeps them.
#[derive(Clone)]
pub struct DeadProps {
    index: Arc<dyn GraphIndex>,
}

impl DeadProps {
    pub fn new(index: Arc<dyn GraphIndex>) -> DeadProps {
        DeadProps { index }
    }

    async fn read(&self, user: &str, path: &str) -> FsResult<(u64, Props)> {
        Ok(
            match self.index.dead_props(user, path).await.map_err(fs_error)? {
                Some((version, body)) => (version, parse(&body)),
                None => (0, Props::new()),
            },
        )
    }

    /// Applies a PROPPATCH: all of it, or none when a limit is passed.
    pub async fn patch(
        &self,
        user: &str,
        path: &str,
        patch: Vec<(bool, DavProp)>,
    ) -> FsResult<Vec<(axum::http::StatusCode, DavProp)>> {
        if patch
            .iter()
            .any(|(_, p)| p.xml.as_ref().is_some_and(|x| x.len() > MAX_VALUE_BYTES))
        {
            return Err(FsError::TooLarge);
        }
        let out: Vec<_> = patch
            .iter()
            .map(|(_, p)| (axum::http::StatusCode::OK, without_value(p)))
            .collect();
        let changes = patch
            .into_iter()
            .map(|(set, p)| Ok((set, Stored::from_dav(p)?)))
            .collect::<FsResult<Vec<_>>>()?;
        for _ in 0..ATTEMPTS {
            let (version, mut props) = self.read(user, path).await?;
            if version == 0
                && changes.iter().any(|(set, _)| *set)
                && self.index.dead_props_count(user).await.map_err(fs_error)? >= MAX_RESOURCES
            {
                return Err(FsError::InsufficientStorage);
            }
            for (set, p) in &changes {
                if *set {
                    props.insert(key(&p.namespace, &p.name), p.clone());
                } else {
                    props.remove(&key(&p.namespace, &p.name));
                }
            }
            if props.len() > MAX_PER_RESOURCE {
                return Err(FsError::InsufficientStorage);
            }
            let body = if props.is_empty() {
                None
            } else {
                let list: Vec<&Stored> = props.values().collect();
                Some(serde_json::to_string(&list).map_err(|_| FsError::GeneralFailure)?)
            };
            let replaced = self
                .index
                .replace_dead_props(user, path, version, body.as_deref())
                .await
                .map_err(fs_error)?;
            if replaced {
                return Ok(out);
            }
        }
        tracing::warn!(%user, %path, "dead properties kept changing under a PROPPATCH");
        Err(FsError::GeneralFailure)
    }

    pub async fn list(&self, user: &str, path: &str, with_values: bool) -> FsResult<Vec<DavProp>> {
        let (_, props) = self.read(user, path).await?;
        Ok(props.values().map(|p| p.to_dav(with_values)).collect())
    }

    pub async fn get(&self, user: &str, path: &str, prop: &DavProp) -> FsResult<Vec<u8>> {
        let (_, props) = self.read(user, path).await?;
        props
            .get(&key(&prop.namespace, &prop.name))
            .and_then(|p| p.xml.clone())
            .map(String::into_bytes)
            .ok_or(FsError::NotFound)
    }
}

/// After a resource changed where it lives: its properties follow. The
/// change itself is done, so a failure here is logged, not answered.
pub(crate) async fn moved(index: &dyn GraphIndex, user: &str, from: &str, to: &str) {
    if from == to {
        return;
    }
    if let Err(e) = index.move_dead_props(user, from, to).await {
        tracing::warn!(error = %e, %user, %from, %to, "dead properties not moved");
    }
}

pub(crate) async fn copied(index: &dyn GraphIndex, user: &str, from: &str, to: &str) {
    if let Err(e) = index.copy_dead_props(user, from, to).await {
        tracing::warn!(error = %e, %user, %from, %to, "dead properties not copied");
    }
}

pub(crate) async fn removed(index: &dyn GraphIndex, user: &str, path: &str) {
    if let Err(e) = index.remove_dead_props(user, path).await {
        tracing::warn!(error = %e, %user, %path, "dead properties not removed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str, value: &str) -> DavProp {
        DavProp::new(name.into(), "z".into(), "urn:x".into(), value.into())
    }

    #[test]
    fn a_property_is_stored_and_read_back_whole() {
        let p = prop("color", "<z:color xmlns:z=\"urn:x\">red</z:color>");
        let stored = Stored::from_dav(p.clone()).unwrap();
        let json = serde_json::to_string(&vec![&stored]).unwrap();
        let back = parse(&json);
        let got = back.get(&key(&p.namespace, "color")).unwrap();
        assert_eq!(got.to_dav(true).xml, p.xml);
        assert_eq!(got.to_dav(false).xml, None);
        assert_eq!(got.to_dav(true).prefix.as_deref(), Some("z"));
        // A value that is not UTF-8 is refused, not mangled.
        let bad = DavProp {
            xml: Some(vec![0xff, 0xfe]),
            ..p
        };
        assert_eq!(Stored::from_dav(bad).err(), Some(FsError::Forbidden));
        assert!(parse("not json").is_empty());
    }

    async fn index() -> (tempfile::TempDir, Arc<dyn GraphIndex>) {
        let dir = tempfile::tempdir().unwrap();
        let index = graphfs_store_local::SqliteGraphIndex::open(dir.path().join("g.db"))
            .await
            .unwrap();
        (dir, Arc::new(index))
    }

    #[tokio::test]
    async fn properties_are_set_removed_and_follow_moves() {
        let (_dir, index) = index().await;
        let d = DeadProps::new(index.clone());
        d.patch("alice", "/a/f", vec![(true, prop("color", "red"))])
            .await
            .unwrap();
        assert!(d.list("bob", "/a/f", true).await.unwrap().is_empty());
        let got = d.get("alice", "/a/f", &prop("color", "")).await.unwrap();
        assert!(String::from_utf8(got).unwrap().contains("red"));
        assert!(
            d.list("alice", "/a/f", false).await.unwrap()[0]
                .xml
                .is_none()
        );
        // Another replica over the same index sees them.
        let other = DeadProps::new(index.clone());
        assert_eq!(other.list("alice", "/a/f", true).await.unwrap().len(), 1);
        moved(index.as_ref(), "alice", "/a", "/b").await;
        assert!(d.list("alice", "/a/f", true).await.unwrap().is_empty());
        copied(index.as_ref(), "alice", "/b/f", "/c").await;
        assert_eq!(d.list("alice", "/c", true).await.unwrap().len(), 1);
        d.patch("alice", "/b/f", vec![(false, prop("color", ""))])
            .await
            .unwrap();
        assert!(d.list("alice", "/b/f", true).await.unwrap().is_empty());
        assert_eq!(index.dead_props("alice", "/b/f").await.unwrap(), None);
        removed(index.as_ref(), "alice", "/c").await;
        assert!(d.list("alice", "/c", true).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn limits_refuse_the_whole_patch() {
        let (_dir, index) = index().await;
        let d = DeadProps::new(index.clone());
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(
            d.patch("alice", "/f", vec![(true, prop("big", &big))])
                .await
                .err(),
            Some(FsError::TooLarge)
        );
        let many = (0..=MAX_PER_RESOURCE)
            .map(|i| (true, prop(&format!("p{i}"), "v")))
            .collect();
        assert_eq!(
            d.patch("alice", "/f", many).await.err(),
            Some(FsError::InsufficientStorage)
        );
        assert_eq!(index.dead_props("alice", "/f").await.unwrap(), None);
    }
}
