//! Folders ([`Folders`]): a row per folder of each owner, the root left out.

#[allow(unused_imports)]
use super::*;

/// Makes `path` and its missing ancestors for `owner` (inside the caller's
/// transaction); whether `path` itself was new.
pub(super) fn make_folders(c: &Connection, owner: &str, path: &str) -> Result<bool> {
    let now = stored_time(now());
    let mut made = false;
    for p in folder_ancestry(path) {
        made = c
            .execute(
                "INSERT OR IGNORE INTO folders(owner, path, created_at) VALUES (?1, ?2, ?3)",
                params![owner, p, now],
            )
            .map_err(db_err)?
            > 0;
    }
    Ok(made)
}

/// `Conflict` when another file than `except` of `owner` has `name` in
/// `folder` (inside the caller's write transaction, so the check holds).
pub(super) fn check_name_free(
    c: &Connection,
    owner: &str,
    folder: &str,
    name: &str,
    except: Option<i64>,
) -> Result<()> {
    let taken: bool = c
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM files WHERE owner = ?1 AND folder = ?2 AND name = ?3
                 AND rowid IS NOT ?4)",
            params![owner, folder, name, except],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if taken {
        Err(name_taken(folder, name))
    } else {
        Ok(())
    }
}

fn exists(c: &Connection, owner: &str, path: &str) -> Result<bool> {
    if path == ROOT_FOLDER {
        return Ok(true);
    }
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM folders WHERE owner = ?1 AND path = ?2)",
        params![owner, path],
        |r| r.get(0),
    )
    .map_err(db_err)
}

/// The SQL condition (on `f.folder`, bound to `:fd`) that keeps to the
/// files of a folder filter; none when it keeps everything (the root and
/// all beneath it).
pub(super) fn folder_condition(fd: &FolderFilter) -> Option<&'static str> {
    if !fd.subfolders {
        Some(" AND f.folder = :fd")
    } else if fd.path != ROOT_FOLDER {
        Some(" AND (f.folder = :fd OR substr(f.folder, 1, length(:fd) + 1) = :fd || '/')")
    } else {
        None
    }
}

/// `path` itself or anything beneath it, as a SQL condition on `col`.
const WITHIN: &str = "(COL = ?2 OR substr(COL, 1, length(?2) + 1) = ?2 || '/')";

fn within(col: &str) -> String {
    WITHIN.replace("COL", col)
}

#[async_trait]
impl Folders for SqliteGraphIndex {
    async fn create_folder(&self, owner: &str, path: &str) -> Result<bool> {
        let (owner, path) = (owner.to_string(), path.to_string());
        if path == ROOT_FOLDER {
            return Ok(false);
        }
        self.write(move |c| make_folders(c, &owner, &path)).await
    }

    async fn folder_exists(&self, owner: &str, path: &str) -> Result<bool> {
        let (owner, path) = (owner.to_string(), path.to_string());
        self.read(move |c| exists(c, &owner, &path)).await
    }

    async fn subfolders(&self, owner: &str, parent: &str) -> Result<Vec<FolderInfo>> {
        let (owner, parent) = (owner.to_string(), parent.to_string());
        self.read(move |c| {
            // Children are one segment below: the prefix, then no further '/'.
            let prefix = if parent == ROOT_FOLDER {
                "/".to_string()
            } else {
                format!("{parent}/")
            };
            let mut stmt = c
                .prepare_cached(
                    "SELECT path, created_at FROM folders
                     WHERE owner = ?1 AND substr(path, 1, length(?2)) = ?2
                       AND instr(substr(path, length(?2) + 1), '/') = 0
                     ORDER BY path",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![owner, prefix], |r| {
                    let path: String = r.get(0)?;
                    let created: String = r.get(1)?;
                    Ok(FolderInfo {
                        name: folder_name(&path).to_string(),
                        path,
                        created_at: parse_stored_time(&created),
                    })
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(rows)
        })
        .await
    }

    async fn file_at(&self, owner: &str, folder: &str, name: &str) -> Result<Option<FileRecord>> {
        let (owner, folder, name) = (owner.to_string(), folder.to_string(), name.to_string());
        self.read(move |c| {
            let sql = format!(
                "SELECT {FILE_COLUMNS} FROM files f WHERE f.owner = ?1 AND f.folder = ?2 AND f.name = ?3
                 ORDER BY f.created_at DESC, f.id DESC LIMIT 1"
            );
            let row = c
                .prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params![owner, folder, name], file_from_row).optional())
                .map_err(db_err)?;
            row.map(|r| complete(c, r).map_err(db_err)).transpose()
        })
        .await
    }

    async fn delete_folder(&self, owner: &str, path: &str) -> Result<()> {
        let (owner, path) = (owner.to_string(), path.to_string());
        if path == ROOT_FOLDER {
            return Err(Error::InvalidInput(
                "the root folder cannot be removed".into(),
            ));
        }
        self.write(move |c| {
            if !exists(c, &owner, &path)? {
                return Err(Error::NotFound(format!("folder '{path}'")));
            }
            let busy: bool = c
                .query_row(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM files WHERE owner = ?1 AND {})
                            OR EXISTS (SELECT 1 FROM folders WHERE owner = ?1 AND path <> ?2 AND {})",
                        within("folder"),
                        within("path")
                    ),
                    params![owner, path],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if busy {
                return Err(Error::Conflict(format!("folder '{path}' is not empty")));
            }
            c.execute(
                "DELETE FROM folders WHERE owner = ?1 AND path = ?2",
                params![owner, path],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn move_folder(&self, owner: &str, from: &str, to: &str) -> Result<u64> {
        check_folder_move(from, to)?;
        let (owner, from, to) = (owner.to_string(), from.to_string(), to.to_string());
        self.write(move |c| {
            if !exists(c, &owner, &from)? {
                return Err(Error::NotFound(format!("folder '{from}'")));
            }
            if exists(c, &owner, &to)? {
                return Err(Error::Conflict(format!("folder '{to}' already exists")));
            }
            if let Some(parent) = parent_folder(&to) {
                make_folders(c, &owner, parent)?;
            }
            // '/from/rest' becomes '/to/rest': keep what follows the old prefix.
            let rebase = |col: &str| {
                format!(
                    "UPDATE {} SET {col} = ?3 || substr({col}, length(?2) + 1)
                     WHERE owner = ?1 AND {}",
                    if col == "path" { "folders" } else { "files" },
                    within(col)
                )
            };
            c.execute(&rebase("path"), params![owner, from, to])
                .map_err(db_err)?;
            let moved = c
                .execute(&rebase("folder"), params![owner, from, to])
                .map_err(db_err)?;
            Ok(moved as u64)
        })
        .await
    }
}
