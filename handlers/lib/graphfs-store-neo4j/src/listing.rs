//! Which files a page of a listing reads ([`FileCatalog::list_files`]).
//!
//! A page is the viewer's own files and the files shared with them, each
//! half limited to the page, merged and cut again. The own half walks the
//! `(owner, key)` index in the listing's order, so a page costs about a page
//! whatever the store holds; the shared half starts from the viewer's
//! `SHARED_WITH` links. Without them a listing read every file of every
//! owner to check who may see it.

#[allow(unused_imports)]
use super::*;

/// How a listing by tag finds its files.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TagRead {
    /// Read the files of these tags and sort them: for a tag few files
    /// carry, or a listing other filters narrow (the walk could read the
    /// whole store to fill a page).
    Gather(Vec<String>),
    /// Walk the owner's files in the listing's order, each checked for the
    /// tags, until the page is full: for a tag many files carry, where
    /// sorting all of them cost more than the page.
    Walk,
    /// A tag the listing needs does not exist: nothing matches.
    Nothing,
}

impl TagRead {
    /// The read for tags that `degrees` files carry each (name, count), in
    /// a store of `files` files, for pages of `page` files; `filtered` when
    /// other conditions than the tags narrow the listing.
    pub(super) fn choose(
        degrees: &[(String, u64)],
        all: bool,
        files: u64,
        page: usize,
        filtered: bool,
    ) -> TagRead {
        let known: Vec<&(String, u64)> = degrees.iter().filter(|(_, d)| *d > 0).collect();
        if known.is_empty() || (all && known.len() < degrees.len()) {
            return TagRead::Nothing;
        }
        if all {
            // The intersection is at most the smallest tag, and may be far
            // smaller: several tags are read from the smallest, never walked.
            let Some((smallest, tagged)) = known.iter().min_by_key(|(_, d)| *d) else {
                return TagRead::Nothing;
            };
            if degrees.len() == 1 && !filtered && walk_pays(*tagged, files, page) {
                return TagRead::Walk;
            }
            return TagRead::Gather(vec![smallest.clone()]);
        }
        let tagged = known.iter().map(|(_, d)| *d).sum();
        if !filtered && walk_pays(tagged, files, page) {
            TagRead::Walk
        } else {
            TagRead::Gather(known.iter().map(|(n, _)| n.clone()).collect())
        }
    }
}

/// A walk reads about `page × files ÷ tagged` files to find a page of
/// tagged ones, a gather reads `tagged`: the walk pays from
/// `tagged² ≥ page × files` on (at 1M files and pages of 50, from about
/// 7,000 tagged files, where either reads about as many).
fn walk_pays(tagged: u64, files: u64, page: usize) -> bool {
    u128::from(tagged) * u128::from(tagged) >= page as u128 * u128::from(files)
}

/// The Cypher of a page of `q` for `viewer`, with its parameters; `read` is
/// how tags are read (`None` without tags, never [`TagRead::Nothing`]).
pub(super) fn page_query(viewer: &str, q: &FileQuery, read: Option<&TagRead>) -> Result<Query> {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<(&str, neo4rs::BoltType)> = vec![("viewer", viewer.into())];
    let Keyset { field, cmp, dir } = Keyset::of(q.sort, q.order);
    let key = format!("f.{field}");
    if !q.tags.is_empty() {
        params.push(("tags", q.tags.clone().into()));
        match (read, q.tag_match) {
            // The head already keeps to files with one of the tags.
            (Some(TagRead::Gather(_)), TagMatch::Any) => {}
            (_, TagMatch::Any) => {
                conds.push("EXISTS { (f)-[:TAGGED]->(t:Tag) WHERE t.name IN $tags }".into())
            }
            (_, TagMatch::All) => conds
                .push("ALL(tn IN $tags WHERE EXISTS { (f)-[:TAGGED]->(:Tag {name: tn}) })".into()),
        }
    }
    if let Some(mt) = &q.media_type {
        conds.push(if mt.ends_with('/') {
            "f.media_type STARTS WITH $mt".into()
        } else {
            "f.media_type = $mt".into()
        });
        params.push(("mt", mt.clone().into()));
    }
    if let Some((cond, fd, fds)) = q.folder.as_ref().and_then(folder_condition) {
        conds.push(cond.into());
        params.push(("fd", fd.into()));
        params.push(("fds", fds.into()));
    }
    if let Some(p) = &q.name_prefix {
        conds.push("f.name STARTS WITH $np".into());
        params.push(("np", p.clone().into()));
    }
    if let Some(s) = q.status {
        conds.push("f.status = $status".into());
        params.push(("status", s.as_str().into()));
    }
    if let Some(c) = &q.cursor {
        let c = Cursor::decode(c)?;
        let k: neo4rs::BoltType = match c.key(q.sort)? {
            CursorKey::Text(s) => s.into(),
            CursorKey::Number(n) => n.into(),
        };
        // The first comparison alone is a range the index seeks to.
        conds.push(format!(
            "{key} {cmp}= $ck AND ({key} {cmp} $ck OR ({key} = $ck AND f.id {cmp} $cid))"
        ));
        params.push(("ck", k));
        params.push(("cid", c.id.into()));
    }
    let limit = q.page_size() + 1;
    let order = format!("{key} {dir}, f.id {dir}");
    let and_conds: String = conds.iter().map(|c| format!(" AND {c}")).collect();
    let (own, shared) = match read {
        Some(TagRead::Gather(from)) => {
            params.push(("from", from.clone().into()));
            let head = match q.tag_match {
                TagMatch::All => "MATCH (:Tag {name: $from[0]})<-[:TAGGED]-(f:File) WITH f",
                TagMatch::Any => {
                    "MATCH (tg:Tag) WHERE tg.name IN $from MATCH (tg)<-[:TAGGED]-(f:File) WITH DISTINCT f"
                }
            };
            (
                format!(
                    "{head} WHERE f.owner = $viewer{and_conds} WITH f ORDER BY {order} LIMIT {limit} RETURN f"
                ),
                format!(
                    "{head} WHERE f.owner <> $viewer AND $viewer IN f.shared_with{and_conds} \
                     WITH f ORDER BY {order} LIMIT {limit} RETURN f"
                ),
            )
        }
        _ => (
            // The owner leads the order so that the (owner, key) index gives
            // it: the walk stops when the page is full.
            format!(
                "MATCH (f:File) WHERE f.owner = $viewer AND {key} IS NOT NULL{and_conds} \
                 WITH f ORDER BY f.owner {dir}, {order} LIMIT {limit} RETURN f"
            ),
            format!(
                "MATCH (:User {{id: $viewer}})<-[:SHARED_WITH]-(f:File) WHERE f.owner <> $viewer{and_conds} \
                 WITH f ORDER BY {order} LIMIT {limit} RETURN f"
            ),
        ),
    };
    let halves = match q.shared {
        Some(true) => shared,
        Some(false) => own,
        None => format!("{own} UNION ALL {shared}"),
    };
    let text = format!(
        "CALL {{ {halves} }} WITH f ORDER BY {order} LIMIT {limit} RETURN {FILE_PROJECTION}"
    );
    let mut cq = query(&text);
    for (k, v) in params {
        cq = cq.param(k, v);
    }
    Ok(cq)
}

impl Neo4jGraphIndex {
    /// How `q`'s tags are read: from how many files carry each (the tag
    /// node's degree, which Neo4j keeps) and how many files there are (a
    /// count Neo4j keeps too).
    pub(super) async fn tag_read(&self, q: &FileQuery) -> Result<Option<TagRead>> {
        if q.tags.is_empty() {
            return Ok(None);
        }
        let rows = self
            .rows(
                query(
                    "MATCH (f:File) WITH count(f) AS files
                     UNWIND $tags AS name OPTIONAL MATCH (t:Tag {name: name})
                     RETURN files, name, CASE WHEN t IS NULL THEN 0 ELSE COUNT { (t)<-[:TAGGED]-() } END AS tagged",
                )
                .param("tags", q.tags.clone()),
            )
            .await?;
        let mut files = 0u64;
        let mut degrees = Vec::with_capacity(rows.len());
        for r in &rows {
            files = u64::try_from(r.get::<i64>("files").map_err(de_err)?).unwrap_or(0);
            let tagged = u64::try_from(r.get::<i64>("tagged").map_err(de_err)?).unwrap_or(0);
            degrees.push((r.get::<String>("name").map_err(de_err)?, tagged));
        }
        let filtered = q.media_type.is_some()
            || q.folder.as_ref().and_then(folder_condition).is_some()
            || q.name_prefix.is_some()
            || q.status.is_some();
        Ok(Some(TagRead::choose(
            &degrees,
            q.tag_match == TagMatch::All,
            files,
            q.page_size(),
            filtered,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(d: &[(&str, u64)]) -> Vec<(String, u64)> {
        d.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn a_tag_many_files_carry_is_walked_and_a_rare_one_gathered() {
        // 1M files, pages of 50: the two cost the same near 7,071 tagged.
        let million = 1_000_000;
        assert_eq!(
            TagRead::choose(&tags(&[("a", 50_000)]), true, million, 50, false),
            TagRead::Walk
        );
        assert_eq!(
            TagRead::choose(&tags(&[("a", 7_000)]), true, million, 50, false),
            TagRead::Gather(vec!["a".into()])
        );
        assert_eq!(
            TagRead::choose(&tags(&[("a", 7_100)]), true, million, 50, false),
            TagRead::Walk
        );
        // Other filters could leave the walk reading the whole store.
        assert_eq!(
            TagRead::choose(&tags(&[("a", 50_000)]), true, million, 50, true),
            TagRead::Gather(vec!["a".into()])
        );
    }

    #[test]
    fn all_of_several_tags_reads_the_smallest_and_a_missing_one_reads_nothing() {
        let d = tags(&[("big", 500_000), ("small", 300), ("mid", 9_000)]);
        assert_eq!(
            TagRead::choose(&d, true, 1_000_000, 50, false),
            TagRead::Gather(vec!["small".into()])
        );
        let d = tags(&[("big", 500_000), ("gone", 0)]);
        assert_eq!(
            TagRead::choose(&d, true, 1_000_000, 50, false),
            TagRead::Nothing
        );
    }

    #[test]
    fn any_of_several_tags_counts_them_together_and_skips_missing_ones() {
        let d = tags(&[("a", 4_000), ("b", 4_000), ("gone", 0)]);
        assert_eq!(
            TagRead::choose(&d, false, 1_000_000, 50, false),
            TagRead::Walk
        );
        assert_eq!(
            TagRead::choose(&d, false, 10_000_000, 50, false),
            TagRead::Gather(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            TagRead::choose(&tags(&[("gone", 0)]), false, 10, 50, false),
            TagRead::Nothing
        );
    }
}
