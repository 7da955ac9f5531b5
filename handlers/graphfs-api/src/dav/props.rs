//! Dead properties (PROPPATCH): what clients store on a resource
//! (Windows keeps its file times and attributes there). They live in the
//! memory of the replica that took them, like locks, keyed by user and
//! path, and follow moves and copies; they are bounded, and lost on restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use dav_server::fs::{DavProp, FsError, FsResult};
use graphfs_domain::rebase_folder;

/// Most properties one resource holds.
const MAX_PER_RESOURCE: usize = 64;
/// Largest value, in bytes of XML.
const MAX_VALUE_BYTES: usize = 16 << 10;
/// Most resources holding properties, over all users.
const MAX_RESOURCES: usize = 100_000;

type Props = BTreeMap<(String, String), DavProp>;

#[derive(Clone, Default)]
pub struct DeadProps {
    inner: Arc<Mutex<HashMap<(String, String), Props>>>,
}

fn key(p: &DavProp) -> (String, String) {
    (p.namespace.clone().unwrap_or_default(), p.name.clone())
}

fn without_value(p: &DavProp) -> DavProp {
    DavProp {
        xml: None,
        ..p.clone()
    }
}

impl DeadProps {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(String, String), Props>) -> T) -> FsResult<T> {
        let mut map = self.inner.lock().map_err(|_| FsError::GeneralFailure)?;
        Ok(f(&mut map))
    }

    #[cfg(test)]
    fn has(&self, user: &str, path: &str) -> bool {
        self.with(|m| m.contains_key(&(user.to_string(), path.to_string())))
            .unwrap_or(false)
    }

    /// Applies a PROPPATCH: all of it, or none when a limit is passed.
    pub fn patch(
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
        self.with(|m| {
            let id = (user.to_string(), path.to_string());
            if !m.contains_key(&id) && m.len() >= MAX_RESOURCES {
                return Err(FsError::InsufficientStorage);
            }
            let mut props = m.get(&id).cloned().unwrap_or_default();
            let mut out = Vec::with_capacity(patch.len());
            for (set, p) in patch {
                out.push((axum::http::StatusCode::OK, without_value(&p)));
                if set {
                    props.insert(key(&p), p);
                } else {
                    props.remove(&key(&p));
                }
            }
            if props.len() > MAX_PER_RESOURCE {
                return Err(FsError::InsufficientStorage);
            }
            if props.is_empty() {
                m.remove(&id);
            } else {
                m.insert(id, props);
            }
            Ok(out)
        })?
    }

    pub fn list(&self, user: &str, path: &str, with_values: bool) -> Vec<DavProp> {
        self.with(|m| {
            m.get(&(user.to_string(), path.to_string()))
                .map(|props| {
                    props
                        .values()
                        .map(|p| {
                            if with_values {
                                p.clone()
                            } else {
                                without_value(p)
                            }
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    pub fn get(&self, user: &str, path: &str, prop: &DavProp) -> FsResult<Vec<u8>> {
        self.with(|m| {
            m.get(&(user.to_string(), path.to_string()))
                .and_then(|props| props.get(&key(prop)))
                .and_then(|p| p.xml.clone())
        })?
        .ok_or(FsError::NotFound)
    }

    /// `from` and everything beneath it now lives at `to`.
    pub fn moved(&self, user: &str, from: &str, to: &str) {
        let _ = self.with(|m| {
            let keys: Vec<_> = m
                .keys()
                .filter(|(u, p)| u == user && rebase_folder(p, from, to).is_some())
                .cloned()
                .collect();
            for k in keys {
                if let (Some(props), Some(new)) = (m.remove(&k), rebase_folder(&k.1, from, to)) {
                    m.insert((user.to_string(), new), props);
                }
            }
        });
    }

    pub fn copied(&self, user: &str, from: &str, to: &str) {
        let _ = self.with(|m| {
            if let Some(props) = m.get(&(user.to_string(), from.to_string())).cloned() {
                m.insert((user.to_string(), to.to_string()), props);
            }
        });
    }

    pub fn removed(&self, user: &str, path: &str) {
        let _ = self.with(|m| m.remove(&(user.to_string(), path.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str, value: &str) -> DavProp {
        DavProp::new(name.into(), "z".into(), "urn:x".into(), value.into())
    }

    #[test]
    fn properties_are_set_removed_and_follow_moves() {
        let d = DeadProps::default();
        d.patch("alice", "/a/f", vec![(true, prop("color", "red"))])
            .unwrap();
        assert!(d.has("alice", "/a/f"));
        assert!(!d.has("bob", "/a/f"));
        let got = d.get("alice", "/a/f", &prop("color", "")).unwrap();
        assert!(String::from_utf8(got).unwrap().contains("red"));
        assert!(d.list("alice", "/a/f", false)[0].xml.is_none());
        d.moved("alice", "/a", "/b");
        assert!(!d.has("alice", "/a/f"));
        d.copied("alice", "/b/f", "/c");
        assert_eq!(d.list("alice", "/c", true).len(), 1);
        d.patch("alice", "/b/f", vec![(false, prop("color", ""))])
            .unwrap();
        assert!(!d.has("alice", "/b/f"));
        d.removed("alice", "/c");
        assert!(!d.has("alice", "/c"));
    }

    #[test]
    fn limits_refuse_the_whole_patch() {
        let d = DeadProps::default();
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(
            d.patch("alice", "/f", vec![(true, prop("big", &big))])
                .err(),
            Some(FsError::TooLarge)
        );
        let many = (0..=MAX_PER_RESOURCE)
            .map(|i| (true, prop(&format!("p{i}"), "v")))
            .collect();
        assert_eq!(
            d.patch("alice", "/f", many).err(),
            Some(FsError::InsufficientStorage)
        );
        assert!(!d.has("alice", "/f"));
    }
}
