//! Reading file nodes, and the visibility predicate every file query uses.

#[allow(unused_imports)]
use super::*;

/// A document kept whole with its version (`version`, `body` columns): the
/// drive's lock tables and dead properties.
pub(super) fn versioned_body(rows: &[Row]) -> Result<Option<(u64, String)>> {
    rows.first()
        .map(|r| {
            let version: i64 = r.get("version").map_err(de_err)?;
            let body: String = r.get("body").map_err(de_err)?;
            Ok((u64::try_from(version).unwrap_or(0), body))
        })
        .transpose()
}

pub(super) const VISIBLE: &str = "(f.owner = $viewer OR $viewer IN f.shared_with)";

/// The projection every file-returning query ends with.
pub(super) const FILE_PROJECTION: &str = "f {.id, .owner, .name, .folder, .size, .sha256, .media_type, .created_at, .updated_at, .status, .status_reason, .metadata, .shared_with, .object_key} AS f, \
     [(f)-[r:TAGGED]->(t:Tag) | {name: t.name, score: r.score, source: r.source}] AS tags";

// Reads run at read-committed isolation: a node or edge another
// transaction deletes after a query matched it (a file deleted; a file's
// TAGGED edges, which every completed tagging job replaces; a tag left on
// no file) reads back with null properties. Such an entity is gone, not
// malformed: every field may be null here, and a null `id`, tag `name` or
// edge `source` drops that file or tag instead of failing the whole read.
#[derive(Deserialize)]
pub(super) struct FileProps {
    id: Option<String>,
    #[serde(deserialize_with = "or_default")]
    owner: String,
    #[serde(deserialize_with = "or_default")]
    name: String,
    #[serde(deserialize_with = "or_default")]
    folder: String,
    #[serde(deserialize_with = "or_default")]
    size: i64,
    #[serde(deserialize_with = "or_default")]
    sha256: String,
    #[serde(deserialize_with = "or_default")]
    media_type: String,
    #[serde(deserialize_with = "or_default")]
    created_at: String,
    #[serde(deserialize_with = "or_default")]
    updated_at: String,
    #[serde(deserialize_with = "or_default")]
    status: String,
    #[serde(deserialize_with = "or_default")]
    status_reason: String,
    #[serde(deserialize_with = "or_default")]
    metadata: String,
    #[serde(deserialize_with = "or_default")]
    shared_with: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    object_key: String,
}

#[derive(Deserialize)]
pub(super) struct TagProps {
    name: Option<String>,
    #[serde(deserialize_with = "or_default")]
    score: f64,
    source: Option<String>,
}

fn or_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The file a row holds, or `None` when it was deleted while being read.
pub(super) fn file_from(row: &Row) -> Result<Option<FileRecord>> {
    let f: FileProps = row.get("f").map_err(de_err)?;
    let Some(id) = f.id else {
        return Ok(None);
    };
    let tags: Vec<TagProps> = row.get("tags").map_err(de_err)?;
    let mut tags: Vec<FileTag> = tags
        .into_iter()
        .filter_map(|t| {
            Some(FileTag {
                name: t.name?,
                score: t.score as f32,
                source: t.source?.parse().unwrap_or(TagSource::Keyword),
            })
        })
        .collect();
    tags.sort_by(|a, b| {
        (b.source == TagSource::User)
            .cmp(&(a.source == TagSource::User))
            .then(b.score.total_cmp(&a.score))
            .then(a.name.cmp(&b.name))
    });
    let mut shared_with = f.shared_with;
    shared_with.sort();
    Ok(Some(FileRecord {
        id: id.parse().map_err(de_err)?,
        owner: f.owner,
        name: f.name,
        folder: if f.folder.is_empty() {
            ROOT_FOLDER.to_string()
        } else {
            f.folder
        },
        size: u64::try_from(f.size).unwrap_or(0),
        sha256: f.sha256,
        media_type: f.media_type,
        created_at: parse_stored_time(&f.created_at),
        updated_at: parse_stored_time(&f.updated_at),
        status: f.status.parse().unwrap_or(TaggingStatus::Pending),
        status_reason: Some(f.status_reason).filter(|s| !s.is_empty()),
        tags,
        metadata: serde_json::from_str(&f.metadata).unwrap_or_else(|_| serde_json::json!({})),
        shared_with,
        object_key: f.object_key,
    }))
}

impl Neo4jGraphIndex {
    /// Starts a write transaction that holds the file's node locked, if the
    /// viewer owns it ([`access::require_owner`]). The check and the change
    /// that follows are one transaction: a concurrent writer waits for the
    /// lock instead of slipping in between. On refusal nothing stays open.
    pub(super) async fn owned_txn(&self, viewer: &str, id: FileId) -> Result<(Txn, FileRecord)> {
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let checked = async {
            let rows = txn_rows(
                &mut txn,
                query(&format!(
                    "MATCH (f:File {{id: $id}}) SET f._lock = true REMOVE f._lock RETURN {FILE_PROJECTION}"
                ))
                .param("id", id.to_string()),
            )
            .await?;
            let file = rows
                .first()
                .map(file_from)
                .transpose()?
                .flatten()
                .ok_or_else(|| access::not_found(id))?;
            access::require_owner(id, viewer, &file.owner, &file.shared_with)?;
            Ok::<_, Error>(file)
        }
        .await;
        match checked {
            Ok(file) => Ok((txn, file)),
            Err(e) => {
                // Give the lock back now, not when the pool next recycles the connection.
                let _ = txn.rollback().await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use neo4rs::{BoltList, BoltMap, BoltNull, BoltString, BoltType};

    use super::*;

    fn map(entries: Vec<(&str, BoltType)>) -> BoltType {
        BoltType::Map(
            entries
                .into_iter()
                .map(|(k, v)| (BoltString::from(k), v))
                .collect::<BoltMap>(),
        )
    }

    fn null() -> BoltType {
        BoltType::Null(BoltNull)
    }

    fn file_map(id: BoltType) -> BoltType {
        let text = |s: &str| BoltType::from(s);
        map(vec![
            ("id", id),
            ("owner", text("alice")),
            ("name", text("a.txt")),
            ("folder", text("/a")),
            ("size", BoltType::from(3i64)),
            ("sha256", text("00")),
            ("media_type", text("text/plain")),
            ("created_at", text("2026-01-01T00:00:00Z")),
            ("updated_at", text("2026-01-01T00:00:00Z")),
            ("status", text("done")),
            ("status_reason", null()),
            ("metadata", text("{}")),
            ("shared_with", BoltType::List(BoltList::new())),
            ("object_key", text("files/x")),
        ])
    }

    fn tag(name: BoltType, source: BoltType) -> BoltType {
        map(vec![
            ("name", name),
            ("score", BoltType::from(0.5f64)),
            ("source", source),
        ])
    }

    fn row(f: BoltType, tags: Vec<BoltType>) -> Row {
        let fields: BoltList = vec![BoltType::from("f"), BoltType::from("tags")].into();
        Row::new(fields, vec![f, BoltType::List(tags.into())].into())
    }

    #[test]
    fn tags_and_edges_deleted_mid_read_are_left_out() {
        let id = FileId::new();
        let r = row(
            file_map(BoltType::from(id.to_string().as_str())),
            vec![
                tag(BoltType::from("rivers"), BoltType::from("keyword")),
                // The edge was replaced by a tagging job: its source reads null.
                tag(BoltType::from("deltas"), null()),
                // The tag was deleted: its name reads null.
                tag(null(), BoltType::from("llm")),
            ],
        );
        let file = file_from(&r).unwrap().unwrap();
        assert_eq!(file.id, id);
        assert_eq!(file.status_reason, None);
        assert_eq!(file.folder, "/a");
        assert_eq!(
            file.tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["rivers"]
        );
    }

    #[test]
    fn a_file_deleted_mid_read_is_no_file() {
        let mut gone = file_map(null());
        if let BoltType::Map(m) = &mut gone {
            for v in m.value.values_mut() {
                *v = null();
            }
        }
        assert!(file_from(&row(gone, vec![])).unwrap().is_none());
    }

    #[test]
    fn a_malformed_row_is_still_an_error() {
        let r = row(file_map(BoltType::from(42i64)), vec![]);
        assert!(file_from(&r).is_err());
    }
}
