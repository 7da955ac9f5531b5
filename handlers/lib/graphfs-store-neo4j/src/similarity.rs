//! Embeddings in the vector index and SIMILAR edges ([`Similarity`]).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl Similarity for Neo4jGraphIndex {
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
        if embedding.len() != EMBEDDING_DIMENSIONS {
            return Ok(Vec::new());
        }
        let vector: Vec<f64> = embedding.iter().map(|x| f64::from(*x)).collect();
        // The index answers the nearest files of everyone; ask for more than
        // needed so that enough visible ones remain after the filter.
        let k = i64::try_from(limit.clamp(1, 1000) * if viewer.is_some() { 4 } else { 1 })
            .unwrap_or(40);
        let rows = self
            .rows(
                query(&format!(
                    "CALL db.index.vector.queryNodes('graphfs_file_embedding', $k, $vector)
                     YIELD node AS f, score
                     WITH f, score WHERE $all OR {VISIBLE}
                     RETURN f.id AS id, score ORDER BY score DESC, id LIMIT $limit"
                ))
                .param("k", k)
                .param("vector", vector)
                .param("all", viewer.is_none())
                .param("viewer", viewer.unwrap_or(""))
                .param("limit", i64::try_from(limit.clamp(1, 1000)).unwrap_or(10)),
            )
            .await?;
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
