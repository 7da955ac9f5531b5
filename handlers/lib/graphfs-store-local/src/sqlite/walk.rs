//! The graph view around a file or tag ([`GraphWalk`]), from the edge tables.

#[allow(unused_imports)]
use super::*;

pub(super) fn neighbourhood_blocking(
    conn: &Connection,
    viewer: &str,
    start: &GraphStart,
    depth: u32,
    max_nodes: usize,
) -> Result<GraphView> {
    let mut g = GraphBuilder::new(max_nodes);
    let mut queue: VecDeque<(String, u32)> = VecDeque::new();
    match start {
        GraphStart::File(id) => {
            let f = find_visible(conn, viewer, *id)?;
            let nid = format!("file:{}", f.record.id);
            g.node(
                nid.clone(),
                NodeKind::File,
                f.record.name,
                Some(f.record.media_type),
            );
            queue.push_back((nid, 0));
        }
        GraphStart::Tag(name) => {
            let id = visible_tag_id(conn, viewer, name)?;
            let canonical: String = conn
                .query_row("SELECT name FROM tags WHERE id = ?1", [id], |r| r.get(0))
                .map_err(db_err)?;
            let nid = format!("tag:{canonical}");
            g.node(nid.clone(), NodeKind::Tag, canonical, None);
            queue.push_back((nid, 0));
        }
    }
    let mut expanded = HashSet::new();
    let vis_file = format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.id = :id AND {VISIBLE}");
    while let Some((nid, d)) = queue.pop_front() {
        if d >= depth || !expanded.insert(nid.clone()) {
            continue;
        }
        if let Some(fid) = nid.strip_prefix("file:") {
            let rowid: Option<i64> = conn
                .query_row("SELECT rowid FROM files WHERE id = ?1", [fid], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let Some(rowid) = rowid else { continue };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT t.name, ft.score FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
                     WHERE ft.file_rowid = ?1 ORDER BY ft.score DESC, t.name",
                )
                .map_err(db_err)?;
            let tags: Vec<(String, f64)> = stmt
                .query_map([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            for (name, score) in tags {
                let tid = format!("tag:{name}");
                if g.node(tid.clone(), NodeKind::Tag, name, None) {
                    g.edge(EdgeKind::Tagged, &nid, &tid, score as f32);
                    queue.push_back((tid, d + 1));
                }
            }
            let mut stmt = conn
                .prepare_cached(
                    "SELECT o.id, s.score FROM similar s JOIN files o ON o.rowid = s.other_rowid
                     WHERE s.file_rowid = ?1
                     UNION SELECT o.id, s.score FROM similar s JOIN files o ON o.rowid = s.file_rowid
                     WHERE s.other_rowid = ?1 ORDER BY 2 DESC LIMIT 20",
                )
                .map_err(db_err)?;
            let sims: Vec<(String, f64)> = stmt
                .query_map([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            for (other, score) in sims {
                let row = conn
                    .prepare_cached(&vis_file)
                    .and_then(|mut s| {
                        s.query_row(
                            rusqlite::named_params! {":id": other, ":viewer": viewer},
                            file_from_row,
                        )
                        .optional()
                    })
                    .map_err(db_err)?;
                if let Some(f) = row {
                    let oid = format!("file:{}", f.record.id);
                    if g.node(
                        oid.clone(),
                        NodeKind::File,
                        f.record.name,
                        Some(f.record.media_type),
                    ) {
                        g.edge(EdgeKind::Similar, &nid, &oid, score as f32);
                        queue.push_back((oid, d + 1));
                    }
                }
            }
        } else if let Some(tag) = nid.strip_prefix("tag:") {
            let Some(tid) = tag_id(conn, tag).map_err(db_err)? else {
                continue;
            };
            let sql = format!(
                "SELECT {FILE_COLUMNS}, ft.score FROM file_tags ft JOIN files f ON f.rowid = ft.file_rowid
                 WHERE ft.tag_id = :tid AND {VISIBLE} ORDER BY ft.score DESC, f.id LIMIT {TAG_FANOUT}"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let files: Vec<(FileRow, f64)> = stmt
                .query_map(
                    rusqlite::named_params! {":tid": tid, ":viewer": viewer},
                    |r| Ok((file_from_row(r)?, r.get(14)?)),
                )
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            for (f, score) in files {
                let fid = format!("file:{}", f.record.id);
                if g.node(
                    fid.clone(),
                    NodeKind::File,
                    f.record.name,
                    Some(f.record.media_type),
                ) {
                    g.edge(EdgeKind::Tagged, &fid, &nid, score as f32);
                    queue.push_back((fid, d + 1));
                }
            }
            for rt in related_blocking(conn, viewer, tid, COOCCUR_FANOUT)? {
                let oid = format!("tag:{}", rt.name);
                if g.node(oid.clone(), NodeKind::Tag, rt.name, None) {
                    g.edge(EdgeKind::CoOccurs, &nid, &oid, rt.count as f32);
                    queue.push_back((oid, d + 1));
                }
            }
        }
    }
    Ok(g.finish())
}

#[async_trait]
impl GraphWalk for SqliteGraphIndex {
    async fn neighbourhood(
        &self,
        viewer: &str,
        start: &GraphStart,
        depth: u32,
        max_nodes: usize,
    ) -> Result<GraphView> {
        let (viewer, start) = (viewer.to_string(), start.clone());
        let start = match start {
            GraphStart::Tag(t) => {
                GraphStart::Tag(normalize_tag(&t).map_err(|e| Error::InvalidInput(e.to_string()))?)
            }
            s => s,
        };
        self.read(move |c| neighbourhood_blocking(c, &viewer, &start, depth.min(3), max_nodes))
            .await
    }
}
