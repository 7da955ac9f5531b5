//! The drive's views: `/tags/<tag>/…` lists the files carrying every tag
//! of the path (its subfolders are the other tags on those files),
//! `/search/<query>/` lists what a search finds, and `/shared/<owner>/`
//! the files that owner shares with the caller. They hold the files the
//! caller may see, their own and shared; a file's name is made unique
//! within a view by its id when two share one.

use std::collections::{BTreeSet, HashMap};

use dav_server::fs::{FsError, FsResult};
use graphfs_domain::{FileQuery, FileRecord, TagMatch, name_with_id, normalize_tag};

use super::fs::{GraphDav, fs_error};
use super::path::MAX_TAG_DEPTH;

/// Most files one view lists.
const VIEW_FILES: usize = 1000;
/// Most tag folders one view lists.
const VIEW_TAGS: usize = 500;
/// Most search hits `/search/<query>/` lists.
const SEARCH_HITS: usize = 100;

pub(super) enum ViewNode {
    Dir {
        folders: Vec<String>,
        files: Vec<(String, FileRecord)>,
    },
    File(Box<FileRecord>),
}

/// Names as the view shows them: a name two files share gets the id's
/// first 8 characters before its extension (`a (01f3c2d4).txt`).
pub(super) fn view_names(files: Vec<FileRecord>) -> Vec<(String, FileRecord)> {
    let mut count: HashMap<String, usize> = HashMap::new();
    for f in &files {
        *count.entry(f.name.clone()).or_default() += 1;
    }
    files
        .into_iter()
        .map(|f| {
            let name = if count.get(&f.name).copied().unwrap_or(0) > 1 {
                name_with_id(&f.name, &f.id.to_string())
            } else {
                f.name.clone()
            };
            (name, f)
        })
        .collect()
}

impl GraphDav {
    /// The path's segments as tags the caller's vocabulary has, or `None`.
    async fn known_tags(&self, user: &str, segments: &[String]) -> FsResult<Option<Vec<String>>> {
        if segments.len() > MAX_TAG_DEPTH {
            return Ok(None);
        }
        let mut tags = Vec::with_capacity(segments.len());
        for seg in segments {
            let Ok(tag) = normalize_tag(seg) else {
                return Ok(None);
            };
            let found = self
                .state
                .index
                .list_tags(user, Some(&tag), 20)
                .await
                .map_err(fs_error)?;
            if !found.iter().any(|t| t.name == tag) {
                return Ok(None);
            }
            tags.push(tag);
        }
        Ok(Some(tags))
    }

    async fn tag_listing(&self, user: &str, tags: &[String]) -> FsResult<ViewNode> {
        let index = &self.state.index;
        if tags.is_empty() {
            let folders = index
                .list_tags(user, None, VIEW_TAGS)
                .await
                .map_err(fs_error)?
                .into_iter()
                .map(|t| t.name)
                .collect();
            return Ok(ViewNode::Dir {
                folders,
                files: vec![],
            });
        }
        let page = index
            .list_files(
                user,
                &FileQuery {
                    tags: tags.to_vec(),
                    tag_match: TagMatch::All,
                    limit: VIEW_FILES,
                    ..Default::default()
                },
            )
            .await
            .map_err(fs_error)?;
        let folders: Vec<String> = if tags.len() < MAX_TAG_DEPTH {
            let others: BTreeSet<&str> = page
                .items
                .iter()
                .flat_map(|f| f.tags.iter().map(|t| t.name.as_str()))
                .filter(|t| !tags.iter().any(|p| p == t))
                .collect();
            others
                .into_iter()
                .take(VIEW_TAGS)
                .map(str::to_string)
                .collect()
        } else {
            vec![]
        };
        Ok(ViewNode::Dir {
            folders,
            files: view_names(page.items),
        })
    }

    /// What `/tags/<segments>` is: a folder when every segment is a tag of
    /// the caller's, else a file of the folder above.
    pub(super) async fn tag_node(&self, user: &str, segments: &[String]) -> FsResult<ViewNode> {
        if let Some(tags) = self.known_tags(user, segments).await? {
            return self.tag_listing(user, &tags).await;
        }
        let Some((name, parent)) = segments.split_last() else {
            return Err(FsError::NotFound);
        };
        if parent.is_empty() {
            return Err(FsError::NotFound);
        }
        let tags = self
            .known_tags(user, parent)
            .await?
            .ok_or(FsError::NotFound)?;
        match self.tag_listing(user, &tags).await? {
            ViewNode::Dir { files, .. } => files
                .into_iter()
                .find(|(shown, _)| shown == name)
                .map(|(_, f)| ViewNode::File(Box::new(f)))
                .ok_or(FsError::NotFound),
            file => Ok(file),
        }
    }

    /// The tags a file copied to `/tags/<segments>` gets: those of the
    /// folder it lands in.
    pub(super) async fn tags_of_destination(
        &self,
        user: &str,
        segments: &[String],
    ) -> FsResult<Vec<String>> {
        let (_, parent) = segments.split_last().ok_or(FsError::Forbidden)?;
        match self.known_tags(user, parent).await? {
            Some(tags) if !tags.is_empty() => Ok(tags),
            _ => Err(FsError::NotFound),
        }
    }

    /// What `/shared/<owner>/<name>` is.
    pub(super) async fn shared_node(&self, user: &str, segments: &[String]) -> FsResult<ViewNode> {
        let page = self
            .state
            .index
            .list_files(
                user,
                &FileQuery {
                    shared: Some(true),
                    sort: graphfs_domain::SortKey::Name,
                    order: graphfs_domain::SortOrder::Asc,
                    limit: VIEW_FILES,
                    ..Default::default()
                },
            )
            .await
            .map_err(fs_error)?;
        let Some((owner, rest)) = segments.split_first() else {
            let owners: BTreeSet<String> = page.items.into_iter().map(|f| f.owner).collect();
            return Ok(ViewNode::Dir {
                folders: owners.into_iter().collect(),
                files: vec![],
            });
        };
        let files = view_names(
            page.items
                .into_iter()
                .filter(|f| &f.owner == owner)
                .collect(),
        );
        match rest {
            [] if files.is_empty() => Err(FsError::NotFound),
            [] => Ok(ViewNode::Dir {
                folders: vec![],
                files,
            }),
            [name] => files
                .into_iter()
                .find(|(shown, _)| shown == name)
                .map(|(_, f)| ViewNode::File(Box::new(f)))
                .ok_or(FsError::NotFound),
            _ => Err(FsError::NotFound),
        }
    }

    /// What `/search/<query>/<name>` is.
    pub(super) async fn search_node(&self, user: &str, segments: &[String]) -> FsResult<ViewNode> {
        let Some(query) = segments.first() else {
            return Ok(ViewNode::Dir {
                folders: vec![],
                files: vec![],
            });
        };
        let hits = self
            .state
            .index
            .search(user, query, SEARCH_HITS)
            .await
            .map_err(fs_error)?;
        let files = view_names(hits.into_iter().map(|h| h.file).collect());
        match segments {
            [_] => Ok(ViewNode::Dir {
                folders: vec![],
                files,
            }),
            [_, name] => files
                .into_iter()
                .find(|(shown, _)| shown == name)
                .map(|(_, f)| ViewNode::File(Box::new(f)))
                .ok_or(FsError::NotFound),
            _ => Err(FsError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphfs_domain::{FileId, TaggingStatus};

    fn file(name: &str) -> FileRecord {
        FileRecord {
            id: FileId::new(),
            owner: "alice".into(),
            name: name.into(),
            folder: "/".into(),
            size: 1,
            sha256: String::new(),
            media_type: "text/plain".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            status: TaggingStatus::Done,
            status_reason: None,
            tags: vec![],
            metadata: serde_json::json!({}),
            shared_with: vec![],
            object_key: String::new(),
        }
    }

    #[test]
    fn names_two_files_share_are_told_apart_by_id() {
        let (a, b, c) = (file("a.txt"), file("a.txt"), file("b"));
        let shown = view_names(vec![a.clone(), b.clone(), c, file("b.md")]);
        let names: Vec<&str> = shown.iter().map(|(n, _)| n.as_str()).collect();
        let short = |f: &FileRecord| f.id.to_string().chars().take(8).collect::<String>();
        assert_eq!(names[0], format!("a ({}).txt", short(&a)));
        assert_eq!(names[1], format!("a ({}).txt", short(&b)));
        assert_eq!(&names[2..], ["b", "b.md"]);
    }
}
