//! Ranked full-text search ([`TextSearch`]) through the Lucene index.

#[allow(unused_imports)]
use super::*;

/// A Lucene query over the three indexed fields with name and tag matches
/// boosted. Terms contain only letters and digits, so quoting is enough; the
/// last word is also matched as a prefix (search as one types).
pub(super) fn lucene_query(terms: &[QueryTerm], all: bool) -> String {
    let last = terms.len().saturating_sub(1);
    let groups: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, QueryTerm { text: t, cjk })| {
            if i == last && !cjk {
                format!("(name_tokens:{t}*^10 text:{t}* tags_text:{t}*^5 name_tokens:\"{t}\"^10 text:\"{t}\" tags_text:\"{t}\"^5)")
            } else {
                format!("(name_tokens:\"{t}\"^10 text:\"{t}\" tags_text:\"{t}\"^5)")
            }
        })
        .collect();
    if all {
        groups
            .iter()
            .map(|g| format!("+{g}"))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        // At least one term must match (the viewer clause is required too).
        format!("+({})", groups.join(" "))
    }
}

#[async_trait]
impl TextSearch for Neo4jGraphIndex {
    async fn search_in(
        &self,
        viewer: &str,
        q: &str,
        folder: Option<&FolderFilter>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let terms = query_terms(q);
        if terms.is_empty() {
            return Ok(vec![]);
        }
        let words: Vec<String> = terms.iter().map(|t| t.text.clone()).collect();
        let viewer_clause = format!(
            "+viewers:\"{}\"",
            viewer.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let in_folder = folder.and_then(folder_condition);
        // The index keeps to the viewer's files but knows no folders: a
        // folder search ranks more of them before keeping the folder's.
        let candidates = match in_folder {
            Some(_) => FOLDER_SEARCH_CANDIDATES,
            None => limit.clamp(1, 200) * 5,
        };
        let (cond, fd, fds) = in_folder.unwrap_or(("true", String::new(), String::new()));
        for all in [true, false] {
            let lucene = format!("{viewer_clause} {}", lucene_query(&terms, all));
            let rows = self
                .rows(
                    query(&format!(
                        "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()
                         CALL db.index.fulltext.queryNodes('graphfs_file_text', $q, {{limit: $candidates}})
                         YIELD node AS f, score
                         WHERE {VISIBLE} AND {cond}
                         WITH f, score ORDER BY score DESC, f.id LIMIT $limit
                         RETURN {FILE_PROJECTION}, score, f.text AS text"
                    ))
                    .param("q", lucene)
                    .param("viewer", viewer)
                    .param("fd", fd.clone())
                    .param("fds", fds.clone())
                    .param("limit", i64::try_from(limit.clamp(1, 200)).unwrap_or(20))
                    // The index already keeps to the viewer's files; the
                    // margin covers tokenizer collisions of user names.
                    .param("candidates", i64::try_from(candidates).unwrap_or(100)),
                )
                .await?;
            if rows.is_empty() {
                continue;
            }
            let mut hits = Vec::new();
            for r in &rows {
                let Some(file) = file_from(r)? else {
                    continue;
                };
                let text: String = r.get("text").map_err(de_err)?;
                let score: f64 = r.get("score").map_err(de_err)?;
                let snip = snippet(&text, &words);
                hits.push(SearchHit::new(file, score, &words, snip));
            }
            return Ok(hits);
        }
        Ok(vec![])
    }
}

/// Matches ranked before a folder search keeps those in the folder.
const FOLDER_SEARCH_CANDIDATES: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_become_boosted_lucene_groups() {
        let t = query_terms("Tax-report OR title:x");
        let q = lucene_query(&t[..2], true);
        assert_eq!(
            q,
            "+(name_tokens:\"tax\"^10 text:\"tax\" tags_text:\"tax\"^5) +(name_tokens:report*^10 text:report* tags_text:report*^5 name_tokens:\"report\"^10 text:\"report\" tags_text:\"report\"^5)"
        );
        // Any-term fallback still needs one term to match.
        assert!(lucene_query(&t[..2], false).starts_with("+((name_tokens:\"tax\""));
    }
}
