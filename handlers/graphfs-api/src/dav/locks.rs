//! WebDAV locks kept in the graph index, one table per user, so that every
//! replica sees a lock another took: a client's LOCK and its PUT may reach
//! different replicas behind the ingress.
//!
//! The rules (RFC 4918 §6–7, §9.10) are here, over a plain list of locks;
//! the index keeps the list as one document per user and replaces it only
//! from the version read ([`DriveLocks`]), so replicas changing one
//! table at once retry rather than lose a lock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use futures::FutureExt;
use graphfs_domain::GraphIndex;
use serde::{Deserialize, Serialize};
use xmltree::Element;

use super::PREFIX;

/// Attempts at a change before giving up when other writers keep winning.
const ATTEMPTS: usize = 16;

/// Locks a user may hold at once; a LOCK beyond is refused (a client that
/// never unlocks must not grow the table without end).
const MAX_LOCKS: usize = 1000;

/// One lock as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Held {
    token: String,
    /// The locked path with the drive's prefix, URL-encoded (`/dav/files/a`).
    path: String,
    principal: Option<String>,
    /// The client's `DAV:owner` element, as XML.
    owner: Option<String>,
    /// When it lapses (Unix milliseconds); never when absent.
    expires_ms: Option<u64>,
    timeout_s: Option<u64>,
    shared: bool,
    deep: bool,
}

/// `path` without a trailing slash: `/a/` and `/a` are one resource.
fn key(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

/// Whether `path` lies beneath `ancestor` (both keys).
fn beneath(path: &str, ancestor: &str) -> bool {
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && (ancestor.ends_with('/') || path.as_bytes()[ancestor.len()] == b'/')
}

impl Held {
    fn at(&self) -> &str {
        key(&self.path)
    }

    /// Whether the lock applies to `path`: on it, or deep on an ancestor.
    fn covers(&self, path: &str) -> bool {
        self.at() == path || (self.deep && beneath(path, self.at()))
    }

    fn lapsed(&self, now_ms: u64) -> bool {
        self.expires_ms.is_some_and(|t| t <= now_ms)
    }

    fn to_dav(&self) -> DavLock {
        let mut path = DavPath::new(&self.path).unwrap_or_else(|_| root_path());
        let _ = path.set_prefix(PREFIX);
        DavLock {
            token: self.token.clone(),
            path: Box::new(path),
            principal: self.principal.clone(),
            owner: self.owner.as_deref().and_then(owner_element).map(Box::new),
            timeout_at: self
                .expires_ms
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
            timeout: self.timeout_s.map(Duration::from_secs),
            shared: self.shared,
            deep: self.deep,
        }
    }
}

/// The client's `DAV:owner` as a document of its own: the element in the
/// default namespace `DAV:`, and a declaration on each element inside it
/// of its own namespace (in the request they sit on an ancestor, which is
/// not stored).
fn owner_xml(owner: &Element) -> Option<String> {
    fn declare(el: &mut Element) {
        if let Some(ns) = el.namespace.clone() {
            let prefix = el.prefix.clone().unwrap_or_default();
            let mut map = xmltree::Namespace::empty();
            map.put(prefix, ns);
            el.namespaces = Some(map);
        }
        for child in el.children.iter_mut() {
            if let xmltree::XMLNode::Element(c) = child {
                declare(c);
            }
        }
    }
    let mut owner = owner.clone();
    owner.prefix = None;
    owner.namespace = Some("DAV:".into());
    declare(&mut owner);
    let mut xml = Vec::new();
    owner.write(&mut xml).ok()?;
    String::from_utf8(xml).ok()
}

/// The stored owner as `D:owner`, the prefix the drive's answers declare.
fn owner_element(xml: &str) -> Option<Element> {
    let mut el = Element::parse(xml.as_bytes()).ok()?;
    el.prefix = Some("D".into());
    el.namespaces = None;
    Some(el)
}

fn root_path() -> DavPath {
    let mut p = DavPath::new(&format!("{PREFIX}/")).unwrap_or_else(|_| {
        // The prefix is a constant that parses; this is never reached.
        DavPath::new("/").unwrap_or_else(|_| unreachable!("'/' is a path"))
    });
    let _ = p.set_prefix(PREFIX);
    p
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn path_string(path: &DavPath) -> String {
    path.with_prefix().as_url_string()
}

/// The rules, over one user's locks (lapsed ones already dropped).
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
struct Table {
    locks: Vec<Held>,
}

/// What a request submitted that may satisfy a lock.
struct Submitted<'a> {
    principal: Option<&'a str>,
    ignore_principal: bool,
    tokens: &'a [String],
}

impl Submitted<'_> {
    fn holds(&self, l: &Held) -> bool {
        self.tokens.contains(&l.token)
            && (self.ignore_principal || self.principal == l.principal.as_deref())
    }
}

impl Table {
    fn parse(body: &str) -> Table {
        serde_json::from_str(body).unwrap_or_default()
    }

    fn drop_lapsed(&mut self, now_ms: u64) -> bool {
        let before = self.locks.len();
        self.locks.retain(|l| !l.lapsed(now_ms));
        self.locks.len() != before
    }

    /// The lock a new one at `path` would conflict with, if any: one that
    /// covers the path or (for a deep lock) lies beneath it, unless both
    /// are shared.
    fn conflict(&self, path: &str, shared: bool, deep: bool) -> Option<&Held> {
        self.locks
            .iter()
            .find(|l| (l.covers(path) || (deep && beneath(l.at(), path))) && !(shared && l.shared))
    }

    /// The first lock on `path` (and beneath it, when `deep`) the request
    /// does not satisfy. Shared locks on one resource are satisfied by
    /// any one of them.
    fn unsatisfied(&self, path: &str, deep: bool, by: &Submitted<'_>) -> Option<&Held> {
        let applies = |l: &&Held| l.covers(path) || (deep && beneath(l.at(), path));
        let shared_held = |l: &Held| {
            l.shared
                && self
                    .locks
                    .iter()
                    .any(|o| o.shared && o.at() == l.at() && by.holds(o))
        };
        self.locks
            .iter()
            .filter(applies)
            .find(|l| !by.holds(l) && !shared_held(l))
    }

    fn covering(&self, path: &str) -> Vec<&Held> {
        self.locks.iter().filter(|l| l.covers(path)).collect()
    }

    fn position(&self, path: &str, token: &str) -> Option<usize> {
        self.locks
            .iter()
            .position(|l| l.token == token && l.covers(path))
    }

    /// Drops the locks on `path` and beneath it.
    fn remove_under(&mut self, path: &str) -> bool {
        let before = self.locks.len();
        self.locks
            .retain(|l| !(l.at() == path || beneath(l.at(), path)));
        self.locks.len() != before
    }
}

/// The lock system of one user's requests.
#[derive(Clone)]
pub struct SharedLocks {
    index: Arc<dyn GraphIndex>,
    user: String,
    /// The table as this request last read it: a PROPFIND asks for the
    /// locks of every entry it lists, and one read serves them all.
    seen: Arc<Mutex<Option<Table>>>,
}

impl std::fmt::Debug for SharedLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLocks")
            .field("user", &self.user)
            .finish()
    }
}

impl SharedLocks {
    pub fn new(index: Arc<dyn GraphIndex>, user: String) -> Self {
        SharedLocks {
            index,
            user,
            seen: Arc::default(),
        }
    }

    async fn load(&self) -> Option<(u64, Table)> {
        match self.index.lock_table(&self.user).await {
            Ok(found) => {
                let (version, body) = found.unwrap_or((0, String::new()));
                let mut table = Table::parse(&body);
                table.drop_lapsed(now_ms());
                Some((version, table))
            }
            Err(e) => {
                tracing::warn!(user = %self.user, error = %e, "could not read the drive's locks");
                None
            }
        }
    }

    /// The table for reading: this request's copy, or a fresh one. Locks
    /// that cannot be read are none (reads only inform; a write's check
    /// fails closed in [`SharedLocks::change`]).
    async fn read(&self) -> Table {
        if let Some(t) = self.seen.lock().ok().and_then(|s| s.clone()) {
            return t;
        }
        let table = self.load().await.map(|(_, t)| t).unwrap_or_default();
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(table.clone());
        }
        table
    }

    /// Reads the table, applies `change` and stores the result when it
    /// changed, again from a fresh read when another writer got there
    /// first. `Err(())` when the index cannot be reached.
    async fn change<T>(&self, mut change: impl FnMut(&mut Table) -> T) -> Result<T, ()> {
        for _ in 0..ATTEMPTS {
            let (version, mut table) = self.load().await.ok_or(())?;
            let before = table.clone();
            let out = change(&mut table);
            let stored = if table == before {
                true
            } else {
                let body = serde_json::to_string(&table).map_err(|_| ())?;
                match self
                    .index
                    .replace_lock_table(&self.user, version, &body)
                    .await
                {
                    Ok(done) => done,
                    Err(e) => {
                        tracing::warn!(user = %self.user, error = %e, "could not store the drive's locks");
                        return Err(());
                    }
                }
            };
            if stored {
                if let Ok(mut s) = self.seen.lock() {
                    *s = Some(table);
                }
                return Ok(out);
            }
        }
        tracing::warn!(user = %self.user, "the drive's locks kept changing under a write; gave up");
        Err(())
    }
}

/// A lock to stand for "the locks could not be checked": a write then
/// fails as locked (423) rather than going ahead unchecked.
fn unavailable(path: &DavPath) -> DavLock {
    DavLock {
        token: String::new(),
        path: Box::new(path.clone()),
        principal: None,
        owner: None,
        timeout_at: None,
        timeout: None,
        shared: false,
        deep: false,
    }
}

impl DavLockSystem for SharedLocks {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let at = path_string(path);
        let owner = owner.and_then(owner_xml);
        let new = Held {
            token: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            path: at.clone(),
            principal: principal.map(str::to_string),
            owner,
            expires_ms: timeout.map(|t| now_ms() + t.as_millis() as u64),
            timeout_s: timeout.map(|t| t.as_secs()),
            shared,
            deep,
        };
        let path = path.clone();
        async move {
            let outcome = self
                .change(|t| {
                    if let Some(l) = t.conflict(key(&at), shared, deep) {
                        return Err(l.to_dav());
                    }
                    if t.locks.len() >= MAX_LOCKS {
                        return Err(unavailable(&path));
                    }
                    t.locks.push(new.clone());
                    Ok(new.to_dav())
                })
                .await;
            outcome.unwrap_or_else(|()| Err(unavailable(&path)))
        }
        .boxed()
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let (at, token) = (path_string(path), token.to_string());
        async move {
            self.change(|t| match t.position(key(&at), &token) {
                Some(i) => {
                    t.locks.remove(i);
                    Ok(())
                }
                None => Err(()),
            })
            .await?
        }
        .boxed()
    }

    fn refresh(
        &'_ self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        let (at, token) = (path_string(path), token.to_string());
        async move {
            self.change(|t| {
                let i = t.position(key(&at), &token).ok_or(())?;
                let l = &mut t.locks[i];
                l.expires_ms = timeout.map(|d| now_ms() + d.as_millis() as u64);
                l.timeout_s = timeout.map(|d| d.as_secs());
                Ok(l.to_dav())
            })
            .await?
        }
        .boxed()
    }

    fn check(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let at = path_string(path);
        let principal = principal.map(str::to_string);
        let tokens = submitted_tokens.to_vec();
        let path = path.clone();
        async move {
            // A write is checked against a fresh read, never a stale copy.
            let Some((_, table)) = self.load().await else {
                return Err(unavailable(&path));
            };
            let by = Submitted {
                principal: principal.as_deref(),
                ignore_principal,
                tokens: &tokens,
            };
            match table.unsatisfied(key(&at), deep, &by) {
                Some(l) => Err(l.to_dav()),
                None => Ok(()),
            }
        }
        .boxed()
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let at = path_string(path);
        async move {
            let table = self.read().await;
            table
                .covering(key(&at))
                .into_iter()
                .map(Held::to_dav)
                .collect()
        }
        .boxed()
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let at = path_string(path);
        async move {
            self.change(|t| {
                t.remove_under(key(&at));
            })
            .await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(path: &str, token: &str, shared: bool, deep: bool) -> Held {
        Held {
            token: token.into(),
            path: path.into(),
            principal: Some("ann".into()),
            owner: None,
            expires_ms: None,
            timeout_s: None,
            shared,
            deep,
        }
    }

    fn by<'a>(tokens: &'a [String]) -> Submitted<'a> {
        Submitted {
            principal: Some("ann"),
            ignore_principal: false,
            tokens,
        }
    }

    #[test]
    fn paths_and_cover() {
        assert_eq!(key("/dav/files/a/"), "/dav/files/a");
        assert_eq!(key("/"), "/");
        assert!(beneath("/dav/files/a/b", "/dav/files/a"));
        assert!(!beneath("/dav/files/ab", "/dav/files/a"));
        assert!(!beneath("/dav/files/a", "/dav/files/a"));
        let deep = held("/dav/files/a/", "t", false, true);
        assert!(deep.covers("/dav/files/a") && deep.covers("/dav/files/a/b/c"));
        let flat = held("/dav/files/a/", "t", false, false);
        assert!(flat.covers("/dav/files/a") && !flat.covers("/dav/files/a/b"));
    }

    #[test]
    fn exclusive_conflicts_and_shared_coexist() {
        let t = Table {
            locks: vec![held("/dav/files/a/b", "t1", true, false)],
        };
        assert!(t.conflict("/dav/files/a/b", true, false).is_none());
        assert!(t.conflict("/dav/files/a/b", false, false).is_some());
        // A deep lock on an ancestor meets the lock beneath it.
        assert!(t.conflict("/dav/files/a", false, true).is_some());
        assert!(t.conflict("/dav/files/a", false, false).is_none());
        assert!(t.conflict("/dav/files/c", false, true).is_none());
    }

    #[test]
    fn a_write_needs_a_token_of_every_lock_on_it() {
        let t = Table {
            locks: vec![
                held("/dav/files/a", "deep", false, true),
                held("/dav/files/x", "s1", true, false),
                held("/dav/files/x", "s2", true, false),
            ],
        };
        let none: Vec<String> = vec![];
        assert_eq!(
            t.unsatisfied("/dav/files/a/f", false, &by(&none))
                .map(|l| l.token.as_str()),
            Some("deep")
        );
        let deep = vec!["deep".to_string()];
        assert!(t.unsatisfied("/dav/files/a/f", false, &by(&deep)).is_none());
        // One of two shared locks is enough.
        assert!(
            t.unsatisfied("/dav/files/x", false, &by(&["s2".to_string()]))
                .is_none()
        );
        // Someone else's token is not.
        let other = Submitted {
            principal: Some("bob"),
            ignore_principal: false,
            tokens: &deep,
        };
        assert!(t.unsatisfied("/dav/files/a/f", false, &other).is_some());
        // A deep check (a folder's DELETE) meets locks beneath it.
        assert!(t.unsatisfied("/dav/files", true, &by(&deep)).is_some());
    }

    #[test]
    fn lapsed_locks_go_and_removal_takes_what_is_beneath() {
        let mut t = Table {
            locks: vec![
                Held {
                    expires_ms: Some(10),
                    ..held("/dav/files/old", "t0", false, false)
                },
                held("/dav/files/a", "t1", false, false),
                held("/dav/files/a/b", "t2", false, false),
                held("/dav/files/ab", "t3", false, false),
            ],
        };
        assert!(t.drop_lapsed(11));
        assert_eq!(t.locks.len(), 3);
        assert!(t.remove_under("/dav/files/a"));
        assert_eq!(
            t.locks.iter().map(|l| l.token.as_str()).collect::<Vec<_>>(),
            ["t3"]
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(Table::parse(&json), t);
    }

    #[test]
    fn a_stored_lock_comes_back_with_its_prefix_and_owner() {
        // As requests parse them: in DAV:, declared on an ancestor, with a
        // prefix or as the default namespace.
        for request in [
            r#"<D:lockinfo xmlns:D="DAV:"><D:owner>ann's laptop</D:owner></D:lockinfo>"#,
            r#"<lockinfo xmlns='DAV:'><owner>ann's laptop</owner></lockinfo>"#,
            r#"<D:lockinfo xmlns:D="DAV:"><D:owner><D:href>mailto:ann</D:href></D:owner></D:lockinfo>"#,
        ] {
            let parsed = Element::parse(request.as_bytes()).unwrap();
            let owner = parsed.get_child("owner").unwrap();
            let l = Held {
                owner: owner_xml(owner),
                ..held("/dav/files/a%20b.txt", "t", false, false)
            };
            let d = l.to_dav();
            assert_eq!(d.path.with_prefix().as_url_string(), "/dav/files/a%20b.txt");
            assert_eq!(
                d.path.as_url_string(),
                "/files/a%20b.txt",
                "the path in the tree"
            );
            let back = d.owner.expect(request);
            assert_eq!(back.namespace.as_deref(), Some("DAV:"), "{request}");
            assert_eq!(back.name, "owner");
            let text = back
                .get_text()
                .or_else(|| back.get_child("href").and_then(|h| h.get_text()));
            assert!(
                matches!(text.as_deref(), Some("ann's laptop" | "mailto:ann")),
                "{request}: {back:?}"
            );
        }
    }
}
