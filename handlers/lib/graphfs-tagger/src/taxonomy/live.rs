//! The taxonomy in force: the one an admin imported into the graph index,
//! or else the installation's default (the flags'). Every replica and
//! tagger reads it from the index, so an import reaches them all.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use graphfs_domain::{TagHierarchy, TaxonomyStore};

use super::{Taxonomy, TaxonomyError, Topic};

/// How long a replica trusts what it read before asking the index again:
/// an import made elsewhere is in force here within this.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Writers that lose a race retry from what they read this many times.
const ATTEMPTS: usize = 5;

/// What an import does with the taxonomy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Adds the topics; a topic of the same name is replaced.
    Extend,
    /// The imported topics are all there is.
    Replace,
}

#[derive(thiserror::Error, Debug)]
pub enum ImportError {
    #[error(transparent)]
    Invalid(#[from] TaxonomyError),
    #[error("the taxonomy changed under {ATTEMPTS} imports in a row; try again")]
    Contended,
    #[error(transparent)]
    Index(#[from] graphfs_domain::Error),
}

/// One reading of the taxonomy in force.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The stored document's version (0: never imported).
    pub version: u64,
    /// Whether it is an import (false: the default).
    pub imported: bool,
    pub taxonomy: Option<Arc<Taxonomy>>,
    /// Its parents, for the graph's BROADER edges.
    pub hierarchy: Arc<TagHierarchy>,
}

impl InForce {
    fn new(version: u64, imported: bool, taxonomy: Option<Arc<Taxonomy>>) -> InForce {
        let hierarchy = TagHierarchy::new(
            taxonomy
                .iter()
                .flat_map(|t| t.topics())
                .filter_map(|t| Some((t.name.clone(), t.parent.clone()?))),
        );
        InForce {
            version,
            imported,
            taxonomy,
            hierarchy: Arc::new(hierarchy),
        }
    }
}

pub struct LiveTaxonomy {
    default: Option<Arc<Taxonomy>>,
    store: Arc<dyn TaxonomyStore>,
    refresh: Duration,
    read: RwLock<(Instant, Arc<InForce>)>,
    /// One reader of the index at a time; the others take what it read.
    reading: tokio::sync::Mutex<()>,
}

impl LiveTaxonomy {
    /// Reads the index once, so a stored taxonomy that no longer parses is
    /// found at start.
    pub async fn open(
        default: Option<Taxonomy>,
        store: Arc<dyn TaxonomyStore>,
        refresh: Duration,
    ) -> Result<LiveTaxonomy, graphfs_domain::Error> {
        let default = default.map(Arc::new);
        let first = Arc::new(InForce::new(0, false, default.clone()));
        let live = LiveTaxonomy {
            default,
            store,
            refresh,
            read: RwLock::new((Instant::now(), first)),
            reading: tokio::sync::Mutex::new(()),
        };
        live.reload().await?;
        Ok(live)
    }

    /// The taxonomy in force, read again from the index when what this
    /// replica knows is older than the refresh interval. A failed read
    /// keeps what was known (a tagger must not stop for it).
    pub async fn in_force(&self) -> Arc<InForce> {
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let _one = self.reading.lock().await;
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        match self.reload().await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "reading the taxonomy failed; keeping the last one read");
                self.known()
            }
        }
    }

    /// What this replica knows now, however old.
    pub fn known(&self) -> Arc<InForce> {
        match self.read.read() {
            Ok(r) => r.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    fn fresh(&self) -> Option<Arc<InForce>> {
        let r = self.read.read().ok()?;
        (r.0.elapsed() < self.refresh).then(|| r.1.clone())
    }

    fn remember(&self, now: Arc<InForce>) {
        let mut w = match self.read.write() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        *w = (Instant::now(), now);
    }

    async fn reload(&self) -> Result<Arc<InForce>, graphfs_domain::Error> {
        let (version, body) = self.store.stored_taxonomy().await?;
        let known = self.known();
        if version == known.version {
            self.remember(known.clone());
            return Ok(known);
        }
        let now = Arc::new(match body {
            None => InForce::new(version, false, self.default.clone()),
            Some(body) => match Taxonomy::from_yaml(&body) {
                Ok(t) => InForce::new(version, true, Some(Arc::new(t))),
                Err(e) => {
                    // Only checked taxonomies are stored; one written by a
                    // later release may not parse here.
                    tracing::error!(error = %e, version, "the imported taxonomy does not parse; using the default");
                    InForce::new(version, false, self.default.clone())
                }
            },
        });
        if now.version != known.version {
            tracing::info!(
                version = now.version,
                imported = now.imported,
                topics = now.taxonomy.as_ref().map_or(0, |t| t.len()),
                "taxonomy in force"
            );
        }
        self.remember(now.clone());
        Ok(now)
    }

    /// Imports `topics` into the index, where every replica reads it, once
    /// they hold together with what they extend; returns what is in force
    /// afterwards.
    pub async fn import(
        &self,
        topics: Vec<Topic>,
        mode: ImportMode,
    ) -> Result<Arc<InForce>, ImportError> {
        self.write(|current| {
            Ok(Some(match (mode, current) {
                (ImportMode::Extend, Some(current)) => current.extended(topics.clone())?,
                _ => Taxonomy::new(topics.clone())?,
            }))
        })
        .await
    }

    /// Removes the import: the default is in force again.
    pub async fn reset(&self) -> Result<Arc<InForce>, ImportError> {
        self.write(|_| Ok(None)).await
    }

    /// Replaces the stored document with what `change` makes of the
    /// taxonomy in force, retrying from a fresh read when another writer
    /// got there first.
    async fn write(
        &self,
        change: impl Fn(Option<&Taxonomy>) -> Result<Option<Taxonomy>, TaxonomyError>,
    ) -> Result<Arc<InForce>, ImportError> {
        let _one = self.reading.lock().await;
        for _ in 0..ATTEMPTS {
            let current = self.reload().await?;
            let next = change(current.taxonomy.as_deref())?;
            let body = next.as_ref().map(Taxonomy::to_yaml);
            if self
                .store
                .replace_taxonomy(current.version, body.as_deref())
                .await?
            {
                return Ok(self.reload().await?);
            }
        }
        Err(ImportError::Contended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphfs_store_local::SqliteGraphIndex;

    fn topics(csv: &str) -> Vec<Topic> {
        Taxonomy::csv_topics(&format!("name,description,parent\n{csv}")).unwrap()
    }

    async fn index() -> (tempfile::TempDir, Arc<SqliteGraphIndex>) {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteGraphIndex::open(&dir.path().join("graph.db"))
            .await
            .unwrap();
        (dir, Arc::new(index))
    }

    fn names(f: &InForce) -> Vec<String> {
        f.taxonomy
            .iter()
            .flat_map(|t| t.topics())
            .map(|t| t.name.clone())
            .collect()
    }

    #[tokio::test]
    async fn imports_extend_replace_and_reset_to_the_default() {
        let (_dir, index) = index().await;
        let default = Taxonomy::new(topics("money,finances,\n")).unwrap();
        let live = LiveTaxonomy::open(Some(default), index.clone(), Duration::ZERO)
            .await
            .unwrap();
        let first = live.in_force().await;
        assert_eq!((first.version, first.imported), (0, false));
        assert_eq!(names(&first), ["money"]);

        let more = topics("invoice,bills,money\n");
        let now = live.import(more, ImportMode::Extend).await.unwrap();
        assert!(now.imported);
        assert_eq!(names(&now), ["money", "invoice"]);
        assert_eq!(now.hierarchy.broader("invoice"), Some("money"));

        let now = live
            .import(topics("cooking,recipes,\n"), ImportMode::Replace)
            .await
            .unwrap();
        assert_eq!(names(&now), ["cooking"]);
        assert_eq!(now.hierarchy.broader("invoice"), None);

        let now = live.reset().await.unwrap();
        assert!(!now.imported);
        assert_eq!(names(&now), ["money"]);
        assert_eq!(now.version, 3, "a reset is a new version");
    }

    #[tokio::test]
    async fn another_replica_follows_an_import_after_the_refresh() {
        let (_dir, index) = index().await;
        let here = LiveTaxonomy::open(None, index.clone(), Duration::ZERO)
            .await
            .unwrap();
        let there = LiveTaxonomy::open(None, index.clone(), Duration::from_secs(3600))
            .await
            .unwrap();
        let never = LiveTaxonomy::open(None, index.clone(), Duration::ZERO)
            .await
            .unwrap();
        assert!(never.in_force().await.taxonomy.is_none());
        here.import(topics("a,about a,\n"), ImportMode::Extend)
            .await
            .unwrap();
        assert_eq!(names(&*never.in_force().await), ["a"], "read again at once");
        assert!(
            there.in_force().await.taxonomy.is_none(),
            "within its refresh interval a replica keeps what it read"
        );
        // An import that does not fit what is in force changes nothing.
        let clash = vec![Topic {
            name: "c".into(),
            description: "about c".into(),
            aliases: vec!["a".into()],
            parent: None,
        }];
        let err = here
            .import(clash, ImportMode::Extend)
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, ImportError::Invalid(_)), "{err}");
        assert_eq!(names(&*here.in_force().await), ["a"]);
    }
}
