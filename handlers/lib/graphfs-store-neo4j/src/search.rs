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

/// `s` as one quoted Lucene phrase: whatever it holds is text, not syntax.
pub(super) fn lucene_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// How the index keeps to the viewer's files.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plan {
    /// The viewer is a required term, so only their files are ranked. It
    /// scores nothing (boost 0): a file shared with more people has a longer
    /// `viewers` field, and a scoring term ranked it lower.
    Scoped,
    /// No viewer term; the best matches of everyone's files are ranked and
    /// the viewer's kept. Taken when the viewer owns at least half the
    /// store, where the term keeps few files out yet costs most of a common
    /// word's search (25 ms against 5 at a million files).
    Open,
}

/// Whether the viewer owns enough of the store's files for [`Plan::Open`]:
/// then most of the best matches are theirs.
fn plan_for(own: i64, total: i64) -> Plan {
    if own > 0 && own.saturating_mul(2) >= total {
        Plan::Open
    } else {
        Plan::Scoped
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
        let viewer_clause = format!("+viewers:{}^0", lucene_phrase(viewer));
        let in_folder = folder.and_then(folder_condition);
        let limit = limit.clamp(1, 200);
        // The index knows no folders: a folder search ranks more of the
        // viewer's files before keeping the folder's.
        let (first_plan, candidates) = match in_folder {
            Some(_) => (Plan::Scoped, FOLDER_SEARCH_CANDIDATES),
            None => (self.plan_for_viewer(viewer).await?, limit * 5),
        };
        let (cond, fd, fds) = in_folder.unwrap_or(("true", String::new(), String::new()));
        for all in [true, false] {
            let groups = lucene_query(&terms, all);
            let mut plan = first_plan;
            let hits = loop {
                let lucene = match plan {
                    Plan::Scoped => format!("{viewer_clause} {groups}"),
                    Plan::Open => groups.clone(),
                };
                // One row per file kept, each with how many the index
                // ranked; a single row without a file when it ranked none.
                let rows = self
                    .rows(
                        query(&format!(
                            "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()
                             CALL db.index.fulltext.queryNodes('graphfs_file_text', $q, {{limit: $candidates}})
                             YIELD node, score
                             WITH collect([node, score]) AS ranked
                             UNWIND CASE WHEN size(ranked) = 0 THEN [[null, 0.0]] ELSE ranked END AS hit
                             WITH size(ranked) AS ranked, hit[0] AS f, hit[1] AS score
                             WHERE f IS NULL OR ({VISIBLE} AND {cond})
                             WITH ranked, f, score ORDER BY score DESC, f.id LIMIT $limit
                             RETURN ranked, f.id AS id, {FILE_PROJECTION}, score, f.text AS text"
                        ))
                        .param("q", lucene)
                        .param("viewer", viewer)
                        .param("fd", fd.clone())
                        .param("fds", fds.clone())
                        .param("limit", i64::try_from(limit).unwrap_or(20))
                        .param("candidates", i64::try_from(candidates).unwrap_or(100)),
                    )
                    .await?;
                let ranked: Option<i64> = match rows.first() {
                    Some(r) => Some(r.get("ranked").map_err(de_err)?),
                    None => None,
                };
                let mut hits = Vec::new();
                for r in &rows {
                    if r.get::<Option<String>>("id").map_err(de_err)?.is_none() {
                        continue;
                    }
                    let Some(file) = file_from(r)? else {
                        continue;
                    };
                    let text: String = r.get("text").map_err(de_err)?;
                    let score: f64 = r.get("score").map_err(de_err)?;
                    let snip = snippet(&text, &words);
                    hits.push(SearchHit::new(file, score, &words, snip));
                }
                // An open search that kept less than a page, of a full
                // ranking (or of one it cannot tell): the viewer's next
                // files may be past the ranked ones. Ask again for theirs.
                let full = ranked.is_none_or(|n| n >= i64::try_from(candidates).unwrap_or(0));
                if plan == Plan::Open && hits.len() < limit && full {
                    plan = Plan::Scoped;
                    continue;
                }
                break hits;
            };
            if hits.is_empty() {
                continue;
            }
            return Ok(hits);
        }
        Ok(vec![])
    }
}

impl Neo4jGraphIndex {
    /// [`plan_for`] the viewer: their files from their node's `OWNS`
    /// degree and the store's from Neo4j's count of `File` nodes, both kept
    /// by Neo4j, so this reads no file.
    async fn plan_for_viewer(&self, viewer: &str) -> Result<Plan> {
        let rows = self
            .rows(
                query(
                    "MATCH (f:File) WITH count(f) AS total
                     OPTIONAL MATCH (u:User {id: $viewer})
                     RETURN total, CASE WHEN u IS NULL THEN 0 ELSE COUNT { (u)-[:OWNS]->() } END AS own",
                )
                .param("viewer", viewer),
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(Plan::Scoped);
        };
        let total: i64 = r.get("total").map_err(de_err)?;
        let own: i64 = r.get("own").map_err(de_err)?;
        Ok(plan_for(own, total))
    }
}

/// Matches ranked before a folder search keeps those in the folder.
const FOLDER_SEARCH_CANDIDATES: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_keeps_quotes_and_backslashes_as_text() {
        assert_eq!(
            lucene_phrase("candidate-key:river"),
            r#""candidate-key:river""#
        );
        assert_eq!(lucene_phrase(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(lucene_phrase(""), r#""""#);
    }

    #[test]
    fn the_viewer_term_is_left_out_when_they_own_half_the_store() {
        assert_eq!(plan_for(500, 1000), Plan::Open);
        assert_eq!(plan_for(1000, 1000), Plan::Open);
        assert_eq!(plan_for(499, 1000), Plan::Scoped);
        assert_eq!(plan_for(0, 0), Plan::Scoped);
        assert_eq!(plan_for(0, 10), Plan::Scoped);
    }

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
