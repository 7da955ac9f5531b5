//! The tables, indexes and full-text table, created on open.

#[allow(unused_imports)]
use super::*;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'cli',
    expires_at TEXT
);
CREATE TABLE IF NOT EXISTS files (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL DEFAULT '',
    object_key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS files_owner_created ON files(owner, created_at, id);
CREATE INDEX IF NOT EXISTS files_owner_name ON files(owner, name, id);
CREATE INDEX IF NOT EXISTS files_owner_size ON files(owner, size, id);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
CREATE TABLE IF NOT EXISTS shares (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (file_rowid, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shares_user ON shares(user_id);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS tag_aliases (
    alias TEXT PRIMARY KEY,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_tags (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (file_rowid, tag_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS file_tags_tag ON file_tags(tag_id, file_rowid);
-- How many of each owner's files carry each tag, by source: the tag list
-- reads these rather than every edge. The triggers keep them; a file's
-- edges go before the file, while its owner can still be read.
CREATE TABLE IF NOT EXISTS owner_tag_counts (
    owner TEXT NOT NULL,
    tag_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    files INTEGER NOT NULL,
    PRIMARY KEY (owner, tag_id, source)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS owner_tag_counts_add AFTER INSERT ON file_tags BEGIN
    INSERT INTO owner_tag_counts(owner, tag_id, source, files)
        SELECT owner, NEW.tag_id, NEW.source, 1 FROM files WHERE rowid = NEW.file_rowid
        ON CONFLICT(owner, tag_id, source) DO UPDATE SET files = files + 1;
END;
CREATE TRIGGER IF NOT EXISTS owner_tag_counts_remove AFTER DELETE ON file_tags BEGIN
    UPDATE owner_tag_counts SET files = files - 1
        WHERE owner = (SELECT owner FROM files WHERE rowid = OLD.file_rowid)
          AND tag_id = OLD.tag_id AND source = OLD.source;
    DELETE FROM owner_tag_counts
        WHERE owner = (SELECT owner FROM files WHERE rowid = OLD.file_rowid)
          AND tag_id = OLD.tag_id AND source = OLD.source AND files <= 0;
END;
CREATE TRIGGER IF NOT EXISTS owner_tag_counts_change AFTER UPDATE OF tag_id, source ON file_tags
WHEN OLD.tag_id <> NEW.tag_id OR OLD.source <> NEW.source BEGIN
    UPDATE owner_tag_counts SET files = files - 1
        WHERE owner = (SELECT owner FROM files WHERE rowid = OLD.file_rowid)
          AND tag_id = OLD.tag_id AND source = OLD.source;
    DELETE FROM owner_tag_counts
        WHERE owner = (SELECT owner FROM files WHERE rowid = OLD.file_rowid)
          AND tag_id = OLD.tag_id AND source = OLD.source AND files <= 0;
    INSERT INTO owner_tag_counts(owner, tag_id, source, files)
        SELECT owner, NEW.tag_id, NEW.source, 1 FROM files WHERE rowid = NEW.file_rowid
        ON CONFLICT(owner, tag_id, source) DO UPDATE SET files = files + 1;
END;
CREATE TRIGGER IF NOT EXISTS file_edges_first BEFORE DELETE ON files BEGIN
    DELETE FROM file_tags WHERE file_rowid = OLD.rowid;
END;
CREATE TABLE IF NOT EXISTS removed_tags (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (file_rowid, tag_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS similar (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    other_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    score REAL NOT NULL,
    PRIMARY KEY (file_rowid, other_rowid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS similar_other ON similar(other_rowid);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    file_rowid INTEGER NOT NULL UNIQUE REFERENCES files(rowid) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    worker TEXT,
    lease_until INTEGER,
    last_error TEXT
);
-- Claims walk jobs in turn order (jobs_turn); nothing looks jobs up by due
-- time, and each job queued and retried wrote to this index.
DROP INDEX IF EXISTS jobs_due;
-- The jobs held (a few per tagger), for the queue's depth.
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs(lease_until);
-- Each owner's last turn in the tagging queue (see queue::next_turn).
CREATE TABLE IF NOT EXISTS queue_turns (
    owner TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS doc_terms (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    term TEXT NOT NULL,
    PRIMARY KEY (file_rowid, term)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_terms_term ON doc_terms(term);
-- Tags an owner rejected for good (TagStore::set_rejected), by name.
CREATE TABLE IF NOT EXISTS rejected_tags (
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (owner, name)
) WITHOUT ROWID;
-- Each owner's corpus statistics (vocabulary::count_terms): how many of the
-- owner's files recorded each term; the term '' counts those files.
CREATE TABLE IF NOT EXISTS term_counts (
    owner TEXT NOT NULL,
    term TEXT NOT NULL,
    df INTEGER NOT NULL,
    PRIMARY KEY (owner, term)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_embeddings (
    file_rowid INTEGER PRIMARY KEY REFERENCES files(rowid) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
-- The embedding model whose vectors file_embeddings holds ('embedding_model',
-- 'embedding_dimensions').
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
-- Named leases (Leases): who holds each and until when.
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
) WITHOUT ROWID;
-- Each owner's folders, the root left out: made with a file in them or
-- on their own (files.folder names one of them, or '/').
CREATE TABLE IF NOT EXISTS folders (
    owner TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, path)
) WITHOUT ROWID;
-- Each user's WebDAV lock table (DriveLocks), replaced whole by version.
CREATE TABLE IF NOT EXISTS drive_locks (
    owner TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
-- WebDAV dead properties (DriveProps): one document per resource of an
-- owner's tree, replaced whole by version.
CREATE TABLE IF NOT EXISTS drive_props (
    owner TEXT NOT NULL,
    path TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (owner, path)
) WITHOUT ROWID;
-- The imported taxonomy (TaxonomyStore): one row, kept when reset (body
-- NULL) so that its version only grows.
CREATE TABLE IF NOT EXISTS taxonomy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    body TEXT
);
-- Earlier contents of files (Versions), numbered per file from 1.
CREATE TABLE IF NOT EXISTS versions (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    object_key TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    replaced_at TEXT NOT NULL,
    PRIMARY KEY (file_rowid, version)
) WITHOUT ROWID;
-- Files whose full-text row changed, in commit order: the ranking index
-- (ranking.rs) replays what its last commit does not cover, and trims the rest.
CREATE TABLE IF NOT EXISTS text_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    file_rowid INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5(
    name, text, tags, tokenize = 'unicode61 remove_diacritics 2'
);
"#;

/// Columns added since a table was first created: an index made by an
/// older version gets them on open (`CREATE TABLE IF NOT EXISTS` leaves an
/// existing table as it is).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("tokens", "label", "TEXT NOT NULL DEFAULT ''"),
    ("tokens", "source", "TEXT NOT NULL DEFAULT 'cli'"),
    ("tokens", "expires_at", "TEXT"),
    // A job's turn: claims go in turn order, so owners take turns.
    ("jobs", "vtag", "INTEGER NOT NULL DEFAULT 0"),
    // Whether the file was queued again while a handler held its job.
    ("jobs", "again", "INTEGER NOT NULL DEFAULT 0"),
    // The file's folder; files from before folders are in the root.
    ("files", "folder", "TEXT NOT NULL DEFAULT '/'"),
    // How many versions the file has had, so numbers are never given twice.
    ("files", "versions_made", "INTEGER NOT NULL DEFAULT 0"),
];

/// Indexes on added columns, made once the columns exist.
const ADDED_INDEXES: &str = "CREATE INDEX IF NOT EXISTS jobs_turn ON jobs(vtag, id);
     CREATE INDEX IF NOT EXISTS files_owner_folder ON files(owner, folder, name);";

pub(super) fn migrate(c: &Connection) -> Result<()> {
    for (table, column, decl) in ADDED_COLUMNS {
        let present: bool = c
            .query_row(
                "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
                params![table, column],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if !present {
            c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
                .map_err(db_err)?;
        }
    }
    c.execute_batch(ADDED_INDEXES).map_err(db_err)?;
    // Names this store to its full-text ranking index, so an index left
    // from another store is rebuilt rather than trusted.
    c.execute(
        "INSERT OR IGNORE INTO settings(key, value)
         VALUES ('text_index_store', lower(hex(randomblob(16))))",
        [],
    )
    .map_err(db_err)?;
    require_unique_names(c)?;
    // An index from before the per-owner tag counts has edges but no counts.
    count_once(
        c,
        ("owner_tag_counts", "file_tags"),
        "each owner's files per tag",
        "INSERT INTO owner_tag_counts(owner, tag_id, source, files)
             SELECT f.owner, ft.tag_id, ft.source, count(*)
             FROM file_tags ft JOIN files f ON f.rowid = ft.file_rowid
             GROUP BY f.owner, ft.tag_id, ft.source",
    )?;
    // An index from before per-owner counts has terms but no counts yet.
    count_once(
        c,
        ("term_counts", "doc_terms"),
        "each owner's corpus statistics",
        "INSERT INTO term_counts(owner, term, df)
             SELECT f.owner, d.term, count(*) FROM doc_terms d JOIN files f ON f.rowid = d.file_rowid
             GROUP BY f.owner, d.term
         UNION ALL
             SELECT f.owner, '', count(DISTINCT d.file_rowid) FROM doc_terms d JOIN files f ON f.rowid = d.file_rowid
             GROUP BY f.owner;",
    )?;
    Ok(())
}

/// Fills a table of counts that a later version keeps (`tables.0`) from
/// the rows it counts (`tables.1`) with `fill`, once: when the counts are
/// empty and the rows are not, as an index from before the counts is.
fn count_once(c: &Connection, tables: (&str, &str), what: &str, fill: &str) -> Result<()> {
    let (counts, counted) = tables;
    let uncounted: bool = c
        .query_row(
            &format!(
                "SELECT NOT EXISTS (SELECT 1 FROM {counts}) AND EXISTS (SELECT 1 FROM {counted})"
            ),
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if uncounted {
        tracing::info!("counting {what}");
        c.execute_batch(fill).map_err(db_err)?;
    }
    Ok(())
}

/// A name is one file's within its folder, per owner: the index
/// `files_folder_name` keeps it so. An index from before it may hold files
/// that share a name; the first made keeps it, the others are told apart by
/// their ids ([`name_with_id`]), as the graph store does on Neo4j.
fn require_unique_names(c: &Connection) -> Result<()> {
    let made: bool = c
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'files_folder_name')",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if made {
        return Ok(());
    }
    let shared: Vec<(i64, String, String)> = c
        .prepare(
            "SELECT rowid, id, name FROM (
                 SELECT rowid, id, name, row_number() OVER (
                     PARTITION BY owner, folder, name ORDER BY created_at, id) AS nth
                 FROM files)
             WHERE nth > 1",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(db_err)?;
    for (rowid, id, name) in shared {
        let renamed = name_with_id(&name, &id);
        tracing::warn!(%id, %name, %renamed, "renaming a file whose name another file in its folder had first");
        c.execute(
            "UPDATE files SET name = ?2 WHERE rowid = ?1",
            params![rowid, renamed],
        )
        .map_err(db_err)?;
        refresh_fts(c, rowid).map_err(db_err)?;
    }
    c.execute_batch("CREATE UNIQUE INDEX files_folder_name ON files(owner, folder, name)")
        .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_index_from_before_token_sources_gains_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        {
            // The tokens table as the first versions made it.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE users (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
                 CREATE TABLE tokens (
                     hash TEXT PRIMARY KEY,
                     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                     created_at TEXT NOT NULL);
                 INSERT INTO users VALUES ('alice', '2026-01-01T00:00:00.000000Z');
                 INSERT INTO tokens VALUES ('abc123abc123ff', 'alice', '2026-01-01T00:00:00.000000Z');",
            )
            .unwrap();
        }
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        assert_eq!(
            index
                .user_for_token("abc123abc123ff")
                .await
                .unwrap()
                .as_deref(),
            Some("alice")
        );
        let listed = index.list_tokens(Some("alice")).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, "abc123abc123");
        assert_eq!(listed[0].source, graphfs_domain::TokenSource::Cli);
        assert_eq!(listed[0].expires_at, None);
        // Opening again finds the columns there and changes nothing.
        drop(index);
        SqliteGraphIndex::open(&path).await.unwrap();
    }

    /// A store this version made, then changed by `sql` into one as an
    /// older version left it.
    async fn store_changed_by(sql: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        drop(SqliteGraphIndex::open(&path).await.unwrap());
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        (dir, path)
    }

    #[tokio::test]
    async fn an_index_from_before_owner_term_counts_is_counted() {
        use graphfs_domain::Vocabulary;
        // Files with recorded terms, and no counts: as an older version
        // left them (it counted terms from doc_terms each time).
        let (_dir, path) = store_changed_by(
            "INSERT INTO users VALUES ('carol', '2026-01-01T00:00:00.000000Z');
             INSERT INTO users VALUES ('dan', '2026-01-01T00:00:00.000000Z');
             INSERT INTO files(rowid, id, owner, name, size, sha256, media_type, created_at, updated_at, status, object_key)
             VALUES (1, 'f1', 'carol', 'a', 1, '', 'text/plain', 't', 't', 'done', 'k1'),
                    (2, 'f2', 'carol', 'b', 1, '', 'text/plain', 't', 't', 'done', 'k2'),
                    (3, 'f3', 'dan', 'c', 1, '', 'text/plain', 't', 't', 'done', 'k3');
             INSERT INTO doc_terms VALUES (1, 'apple'), (1, 'pear'), (2, 'pear'), (3, 'apple');",
        )
        .await;
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        let terms = ["apple".to_string(), "pear".to_string()];
        let carol = index.corpus_stats("carol", &terms).await.unwrap();
        assert_eq!((carol.documents, carol.document_frequency), (2, vec![1, 2]));
        let dan = index.corpus_stats("dan", &terms).await.unwrap();
        assert_eq!((dan.documents, dan.document_frequency), (1, vec![1, 0]));
        // Opening again counts nothing twice.
        drop(index);
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        let carol = index.corpus_stats("carol", &terms).await.unwrap();
        assert_eq!((carol.documents, carol.document_frequency), (2, vec![1, 2]));
    }

    #[tokio::test]
    async fn an_index_from_before_owner_tag_counts_is_counted() {
        use graphfs_domain::TagStore;
        // Tagged files and no counts, as an older version left them
        // (the triggers that count now were not there).
        let (_dir, path) = store_changed_by(
            "DROP TRIGGER owner_tag_counts_add;
             INSERT INTO users VALUES ('carol', '2026-01-01T00:00:00.000000Z');
             INSERT INTO files(rowid, id, owner, name, size, sha256, media_type, created_at, updated_at, status, object_key)
             VALUES (1, 'f1', 'carol', 'a', 1, '', 'text/plain', 't', 't', 'done', 'k1'),
                    (2, 'f2', 'carol', 'b', 1, '', 'text/plain', 't', 't', 'done', 'k2');
             INSERT INTO tags VALUES (1, 'fruit'), (2, 'red');
             INSERT INTO file_tags VALUES (1, 1, 0.9, 'keyword'), (2, 1, 1.0, 'user'), (2, 2, 0.5, 'keyword');",
        )
        .await;
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        let listed = |tags: Vec<graphfs_domain::TagInfo>| -> Vec<(String, u64)> {
            tags.into_iter().map(|t| (t.name, t.count)).collect()
        };
        let tags = index.list_tags("carol", None, 10).await.unwrap();
        assert_eq!(listed(tags), vec![("fruit".into(), 2), ("red".into(), 1)]);
        // Opening again counts nothing twice.
        drop(index);
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        let tags = index.list_tags("carol", None, 10).await.unwrap();
        assert_eq!(listed(tags), vec![("fruit".into(), 2), ("red".into(), 1)]);
    }

    #[tokio::test]
    async fn an_index_from_before_unique_names_tells_shared_names_apart() {
        // Three files named a.txt: two of erin's in one folder, one of
        // finn's; as a version without the unique index left them.
        let (_dir, path) = store_changed_by(
            "DROP INDEX files_folder_name;
             INSERT INTO users VALUES ('erin', '2026-01-01T00:00:00.000000Z');
             INSERT INTO users VALUES ('finn', '2026-01-01T00:00:00.000000Z');
             INSERT INTO files(rowid, id, owner, name, folder, size, sha256, media_type, created_at, updated_at, status, object_key)
             VALUES (1, 'bbbbbbbb01', 'erin', 'a.txt', '/d', 1, '', 'text/plain', '2026-01-02', 't', 'done', 'k1'),
                    (2, 'aaaaaaaa02', 'erin', 'a.txt', '/d', 1, '', 'text/plain', '2026-01-01', 't', 'done', 'k2'),
                    (3, 'cccccccc03', 'finn', 'a.txt', '/d', 1, '', 'text/plain', '2026-01-03', 't', 'done', 'k3');",
        )
        .await;
        let names = || {
            let c = Connection::open(&path).unwrap();
            let mut stmt = c
                .prepare("SELECT id, name FROM files ORDER BY rowid")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
        };
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        // The first made keeps the name; the later one is told apart.
        let want = vec![
            ("bbbbbbbb01".to_string(), "a (bbbbbbbb).txt".to_string()),
            ("aaaaaaaa02".to_string(), "a.txt".to_string()),
            ("cccccccc03".to_string(), "a.txt".to_string()),
        ];
        assert_eq!(names(), want);
        // From now on the index refuses a shared name, and opening again
        // renames nothing.
        drop(index);
        let c = Connection::open(&path).unwrap();
        let dup = c.execute(
            "INSERT INTO files(rowid, id, owner, name, folder, size, sha256, media_type, created_at, updated_at, status, object_key)
             VALUES (4, 'dddddddd04', 'erin', 'a.txt', '/d', 1, '', 'text/plain', 't', 't', 'done', 'k4')",
            [],
        );
        assert!(dup.is_err(), "a second a.txt in /d is refused");
        drop(c);
        drop(SqliteGraphIndex::open(&path).await.unwrap());
        assert_eq!(names(), want);
    }
}
