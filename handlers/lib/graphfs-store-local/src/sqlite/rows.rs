//! Reading file rows, and the visibility predicate every file query uses.

#[allow(unused_imports)]
use super::*;

pub(super) const VISIBLE: &str = "(f.owner = :viewer OR EXISTS (SELECT 1 FROM shares s WHERE s.file_rowid = f.rowid AND s.user_id = :viewer))";

/// Columns a query selects after these start at index 14.
pub(super) const FILE_COLUMNS: &str = "f.rowid, f.id, f.owner, f.name, f.size, f.sha256, f.media_type, f.created_at, f.updated_at, f.status, f.status_reason, f.metadata, f.object_key, f.folder";

pub(super) struct FileRow {
    pub(super) rowid: i64,
    pub(super) record: FileRecord,
}

pub(super) fn file_from_row(row: &Row<'_>) -> rusqlite::Result<FileRow> {
    let id: String = row.get(1)?;
    let status: String = row.get(9)?;
    let metadata: String = row.get(11)?;
    let size: i64 = row.get(4)?;
    Ok(FileRow {
        rowid: row.get(0)?,
        record: FileRecord {
            id: id.parse().unwrap_or(FileId(uuid::Uuid::nil())),
            owner: row.get(2)?,
            name: row.get(3)?,
            size: size as u64,
            sha256: row.get(5)?,
            media_type: row.get(6)?,
            created_at: parse_stored_time(&row.get::<_, String>(7)?),
            updated_at: parse_stored_time(&row.get::<_, String>(8)?),
            status: status.parse().unwrap_or(TaggingStatus::Pending),
            status_reason: row.get(10)?,
            tags: Vec::new(),
            metadata: serde_json::from_str(&metadata)
                .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
            shared_with: Vec::new(),
            object_key: row.get(12)?,
            folder: row.get(13)?,
        },
    })
}

/// Fills in a file's tags and shares.
pub(super) fn complete(conn: &Connection, mut f: FileRow) -> rusqlite::Result<FileRecord> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.name, ft.score, ft.source FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
         WHERE ft.file_rowid = ?1 ORDER BY ft.source = 'user' DESC, ft.score DESC, t.name",
    )?;
    f.record.tags = stmt
        .query_map([f.rowid], |r| {
            let source: String = r.get(2)?;
            Ok(FileTag {
                name: r.get(0)?,
                score: r.get::<_, f64>(1)? as f32,
                source: source.parse().unwrap_or(TagSource::Keyword),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt =
        conn.prepare_cached("SELECT user_id FROM shares WHERE file_rowid = ?1 ORDER BY user_id")?;
    f.record.shared_with = stmt
        .query_map([f.rowid], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(f.record)
}

pub(super) fn find_visible(conn: &Connection, viewer: &str, id: FileId) -> Result<FileRow> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.id = :id AND {VISIBLE}");
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(
                rusqlite::named_params! {":id": id.to_string(), ":viewer": viewer},
                file_from_row,
            )
            .optional()
        })
        .map_err(db_err)?
        .ok_or_else(|| access::not_found(id))
}

/// The file if the viewer owns it, by [`access::require_owner`]. Called
/// inside the write transaction, so the check and the change are one.
pub(super) fn find_owned(conn: &Connection, viewer: &str, id: FileId) -> Result<FileRow> {
    let f = find_any(conn, id)?;
    let shared: Vec<String> = conn
        .prepare_cached("SELECT user_id FROM shares WHERE file_rowid = ?1")
        .and_then(|mut s| s.query_map([f.rowid], |r| r.get(0))?.collect())
        .map_err(db_err)?;
    access::require_owner(id, viewer, &f.record.owner, &shared)?;
    Ok(f)
}

pub(super) fn find_any(conn: &Connection, id: FileId) -> Result<FileRow> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.id = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_row([id.to_string()], file_from_row).optional())
        .map_err(db_err)?
        .ok_or_else(|| access::not_found(id))
}
