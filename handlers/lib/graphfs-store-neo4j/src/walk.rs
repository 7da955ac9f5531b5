//! The graph view around a file or tag ([`GraphWalk`]).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl GraphWalk for Neo4jGraphIndex {
    async fn neighbourhood(
        &self,
        viewer: &str,
        start: &GraphStart,
        depth: u32,
        max_nodes: usize,
    ) -> Result<GraphView> {
        let mut g = GraphBuilder::new(max_nodes);
        let mut queue = VecDeque::new();
        match start {
            GraphStart::File(id) => {
                let f = self.get_file(viewer, *id).await?;
                let nid = format!("file:{}", f.id);
                g.node(nid.clone(), NodeKind::File, f.name, Some(f.media_type));
                queue.push_back((nid, 0));
            }
            GraphStart::Tag(t) => {
                let name = normalize_tag(t).map_err(|e| Error::InvalidInput(e.to_string()))?;
                self.require_visible_tag(viewer, &name).await?;
                let nid = format!("tag:{name}");
                g.node(nid.clone(), NodeKind::Tag, name, None);
                queue.push_back((nid, 0));
            }
        }
        let mut expanded = HashSet::new();
        while let Some((nid, d)) = queue.pop_front() {
            if d >= depth.min(3) || !expanded.insert(nid.clone()) {
                continue;
            }
            if let Some(fid) = nid.strip_prefix("file:") {
                let rows = self
                    .rows(query("MATCH (:File {id: $id})-[r:TAGGED]->(t:Tag) RETURN t.name AS n, r.score AS s ORDER BY s DESC, n").param("id", fid))
                    .await?;
                for r in rows {
                    // Null when the tag was deleted while being read.
                    let Some(name) = r.get::<Option<String>>("n").map_err(de_err)? else {
                        continue;
                    };
                    let s: f64 = r.get::<Option<f64>>("s").map_err(de_err)?.unwrap_or(0.0);
                    let tid = format!("tag:{name}");
                    if g.node(tid.clone(), NodeKind::Tag, name, None) {
                        g.edge(EdgeKind::Tagged, &nid, &tid, s as f32);
                        queue.push_back((tid, d + 1));
                    }
                }
                let rows = self
                    .rows(
                        query(&format!(
                            "MATCH (:File {{id: $id}})-[s:SIMILAR]-(f:File) WHERE {VISIBLE}
                             RETURN f.id AS id, f.name AS name, f.media_type AS mt, max(s.score) AS s ORDER BY s DESC LIMIT 20"
                        ))
                        .param("id", fid)
                        .param("viewer", viewer),
                    )
                    .await?;
                for r in rows {
                    let Some(id) = r.get::<Option<String>>("id").map_err(de_err)? else {
                        continue; // deleted while being read
                    };
                    let oid = format!("file:{id}");
                    if g.node(
                        oid.clone(),
                        NodeKind::File,
                        r.get::<Option<String>>("name")
                            .map_err(de_err)?
                            .unwrap_or_default(),
                        r.get::<Option<String>>("mt").map_err(de_err)?,
                    ) {
                        g.edge(
                            EdgeKind::Similar,
                            &nid,
                            &oid,
                            r.get::<Option<f64>>("s").map_err(de_err)?.unwrap_or(0.0) as f32,
                        );
                        queue.push_back((oid, d + 1));
                    }
                }
            } else if let Some(tag) = nid.strip_prefix("tag:") {
                let rows = self
                    .rows(
                        query(&format!(
                            "MATCH (f:File)-[r:TAGGED]->(:Tag {{name: $tag}}) WHERE {VISIBLE}
                             RETURN f.id AS id, f.name AS name, f.media_type AS mt, r.score AS s
                             ORDER BY s DESC, id LIMIT {TAG_FANOUT}"
                        ))
                        .param("tag", tag)
                        .param("viewer", viewer),
                    )
                    .await?;
                for r in rows {
                    let Some(id) = r.get::<Option<String>>("id").map_err(de_err)? else {
                        continue; // deleted while being read
                    };
                    let fid = format!("file:{id}");
                    if g.node(
                        fid.clone(),
                        NodeKind::File,
                        r.get::<Option<String>>("name")
                            .map_err(de_err)?
                            .unwrap_or_default(),
                        r.get::<Option<String>>("mt").map_err(de_err)?,
                    ) {
                        g.edge(
                            EdgeKind::Tagged,
                            &fid,
                            &nid,
                            r.get::<Option<f64>>("s").map_err(de_err)?.unwrap_or(0.0) as f32,
                        );
                        queue.push_back((fid, d + 1));
                    }
                }
                for rt in self.related(viewer, tag, COOCCUR_FANOUT as usize).await? {
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
}
