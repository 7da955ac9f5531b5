//! Embeddings in the vector index and SIMILAR edges ([`Similarity`]).

#[allow(unused_imports)]
use super::*;

const EMBEDDING_SETTING: &str =
    "MATCH (s:GraphfsSetting {key: 'embedding'}) RETURN s.model AS model, s.dimensions AS dims";

fn model_from(rows: &[Row]) -> Result<Option<(String, usize)>> {
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let model: String = r.get("model").map_err(de_err)?;
    let dims: i64 = r.get("dims").map_err(de_err)?;
    Ok(usize::try_from(dims).ok().map(|d| (model, d)))
}

/// The recorded embedding model, read inside a write transaction.
pub(super) async fn txn_embedding_model(txn: &mut Txn) -> Result<Option<(String, usize)>> {
    model_from(&txn_rows(txn, query(EMBEDDING_SETTING)).await?)
}

impl Neo4jGraphIndex {
    /// The recorded embedding model and its vector length, if any; also
    /// remembered for queries.
    pub(super) async fn embedding_model(&self) -> Result<Option<(String, usize)>> {
        let model = model_from(&self.rows(query(EMBEDDING_SETTING)).await?)?;
        self.dimensions
            .store(model.as_ref().map_or(0, |(_, d)| *d), Ordering::Relaxed);
        Ok(model)
    }

    pub(super) async fn ensure_vector_index(&self, dimensions: usize) -> Result<()> {
        match self.graph.run(query(&vector_index(dimensions))).await {
            Ok(()) => Ok(()),
            Err(neo4rs::Error::Neo4j(e)) if e.code().contains("AlreadyExists") => Ok(()),
            Err(e) => Err(db_err(e)),
        }
    }
}

/// The most candidates asked of the vector index for one query.
const MAX_CANDIDATES: usize = 4096;

#[async_trait]
impl Similarity for Neo4jGraphIndex {
    async fn use_embedding_model(&self, model: &str, dimensions: usize) -> Result<u64> {
        if self.embedding_model().await? == Some((model.to_string(), dimensions)) {
            self.ensure_vector_index(dimensions).await?;
            return Ok(0);
        }
        // Recorded first: from now on vectors of the old length are refused.
        self.graph
            .run(
                query("MERGE (s:GraphfsSetting {key: 'embedding'}) SET s.model = $model, s.dimensions = $dims")
                    .param("model", model)
                    .param("dims", i64::try_from(dimensions).unwrap_or(0)),
            )
            .await
            .map_err(db_err)?;
        self.dimensions.store(dimensions, Ordering::Relaxed);
        // Vectors of another model are not comparable with the new ones:
        // drop them and their edges, rebuild the index for the new length,
        // and embed every file again. In batches: a store may be large.
        for stmt in [
            "MATCH (f:File) WHERE f.embedding IS NOT NULL
             CALL { WITH f REMOVE f.embedding } IN TRANSACTIONS OF 1000 ROWS",
            "MATCH ()-[s:SIMILAR]->() CALL { WITH s DELETE s } IN TRANSACTIONS OF 1000 ROWS",
            "DROP INDEX graphfs_file_embedding IF EXISTS",
        ] {
            self.graph.run(query(stmt)).await.map_err(db_err)?;
        }
        self.ensure_vector_index(dimensions).await?;
        let rows = self
            .rows(
                query(
                    // Turns spread after what is queued: new uploads
                    // still get turns among them.
                    "CALL () {
                         OPTIONAL MATCH (q:Job) WHERE q.vtag IS NOT NULL
                         WITH q ORDER BY q.vtag LIMIT 1
                         RETURN coalesce(q.vtag, 0) AS low
                     }
                     CALL () { MATCH (f:File) RETURN count(f) AS files }
                     MATCH (f:File)
                     CALL { WITH f, low, files
                         MERGE (j:Job {file_id: f.id})
                         ON CREATE SET j.seq = toInteger(rand() * 4503599627370496), j.attempts = 0,
                             j.due_at = $now, j.worker = '', j.lease_until = 0, j.last_error = '',
                             j.vtag = low + 1 + toInteger(rand() * files)
                         ON MATCH SET j.again = j.worker <> ''
                         MERGE (j)-[:FOR]->(f)
                         SET f.status = CASE WHEN f.status = 'running' THEN f.status ELSE 'pending' END,
                             f.status_reason = ''
                     } IN TRANSACTIONS OF 500 ROWS
                     RETURN count(f) AS n",
                )
                .param("now", now_ms()),
            )
            .await?;
        let n: i64 = rows.first().map(|r| r.get("n").unwrap_or(0)).unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn similar_files(
        &self,
        viewer: &str,
        id: FileId,
        limit: usize,
    ) -> Result<Vec<SimilarFile>> {
        self.get_file(viewer, id).await?;
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (:File {{id: $id}})-[s:SIMILAR]-(f:File) WHERE {VISIBLE}
                     RETURN f.id AS id, f.name AS name, max(s.score) AS score ORDER BY score DESC, id LIMIT $limit"
                ))
                .param("id", id.to_string())
                .param("viewer", viewer)
                .param("limit", i64::try_from(limit.clamp(1, 1000)).unwrap_or(10)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SimilarFile {
                    id: r
                        .get::<String>("id")
                        .map_err(de_err)?
                        .parse()
                        .map_err(de_err)?,
                    name: r.get("name").map_err(de_err)?,
                    score: r.get::<f64>("score").map_err(de_err)? as f32,
                })
            })
            .collect()
    }

    async fn set_similar(&self, id: FileId, similar: &[(FileId, f32)]) -> Result<()> {
        self.get_file_internal(id).await?;
        let ids: Vec<String> = similar.iter().map(|(f, _)| f.to_string()).collect();
        let scores: Vec<f64> = similar.iter().map(|(_, s)| f64::from(*s)).collect();
        self.graph
            .run(
                query(
                    "MATCH (f:File {id: $id})
                     OPTIONAL MATCH (f)-[s:SIMILAR]->() DELETE s
                     WITH DISTINCT f
                     UNWIND range(0, size($ids) - 1) AS i
                     MATCH (o:File {id: $ids[i]}) WHERE o.id <> f.id
                     MERGE (f)-[r:SIMILAR]->(o) SET r.score = $scores[i]",
                )
                .param("id", id.to_string())
                .param("ids", ids)
                .param("scores", scores),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn nearest_files(
        &self,
        viewer: Option<&str>,
        embedding: &[f32],
        limit: usize,
    ) -> Result<Vec<(FileId, f32)>> {
        // No model recorded (no vector index yet), or a query from another
        // model: nothing is comparable.
        if embedding.len() != self.dimensions.load(Ordering::Relaxed) {
            return Ok(Vec::new());
        }
        let vector: Vec<f64> = embedding.iter().map(|x| f64::from(*x)).collect();
        let limit = limit.clamp(1, 1000);
        // The index answers the nearest files of everyone; ask for more than
        // needed so that enough visible ones remain after the filter, and
        // wider again for a viewer who may see few of them.
        let mut k = limit * if viewer.is_some() { 4 } else { 1 };
        let rows = loop {
            let rows = self
                .rows(
                    query(&format!(
                        "CALL db.index.vector.queryNodes('graphfs_file_embedding', $k, $vector)
                         YIELD node AS f, score
                         WITH f, score WHERE $all OR {VISIBLE}
                         RETURN f.id AS id, score ORDER BY score DESC, id LIMIT $limit"
                    ))
                    .param("k", i64::try_from(k).unwrap_or(4096))
                    .param("vector", vector.clone())
                    .param("all", viewer.is_none())
                    .param("viewer", viewer.unwrap_or(""))
                    .param("limit", i64::try_from(limit).unwrap_or(10)),
                )
                .await?;
            if rows.len() >= limit || viewer.is_none() || k >= MAX_CANDIDATES {
                break rows;
            }
            k = (k * 4).min(MAX_CANDIDATES);
        };
        rows.iter()
            .map(|r| {
                let id: FileId = r
                    .get::<String>("id")
                    .map_err(de_err)?
                    .parse()
                    .map_err(de_err)?;
                // Neo4j reports cosine as (1 + cos) / 2.
                let score = r.get::<f64>("score").map_err(de_err)?;
                Ok((id, (2.0 * score - 1.0) as f32))
            })
            .collect()
    }
}
