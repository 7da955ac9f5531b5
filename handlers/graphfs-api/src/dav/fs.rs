//! The caller's folder tree as a WebDAV file system: folders and files come
//! from the graph index, bytes from the object store, and writes go through
//! the same upload path as the HTTP API (limits, hashing, tagging).

use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavMetaData, DavProp, FsError, FsFuture, FsResult, FsStream,
    GuardedFileSystem, OpenOptions, ReadDirMeta,
};
use futures::FutureExt;
use graphfs_domain::{
    Error, FileChange, FileId, FileQuery, FileRecord, FolderFilter, ROOT_FOLDER,
    normalize_file_name, parent_folder,
};

use super::file::{Reader, Target, Writer};
use super::path::{DavTarget, FILES, SEARCH, SHARED, TAGS};
use super::props::DeadProps;
use super::views::ViewNode;
use crate::app::SharedState;
use crate::files::{NewUpload, put_tapped, register_upload};

/// Who is asking: the user their credentials name.
#[derive(Debug, Clone)]
pub struct DavUser(pub String);

#[derive(Clone)]
pub struct GraphDav {
    pub state: SharedState,
    pub props: DeadProps,
}

/// How a store error reads to a WebDAV client.
pub(crate) fn fs_error(e: Error) -> FsError {
    match e {
        Error::NotFound(_) => FsError::NotFound,
        Error::TooLarge { .. } => FsError::TooLarge,
        Error::Forbidden(_) | Error::InvalidInput(_) => FsError::Forbidden,
        Error::Conflict(_) => FsError::Exists,
        other => {
            tracing::warn!(error = %other, "webdav request failed");
            FsError::GeneralFailure
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub len: u64,
    pub modified: SystemTime,
    pub dir: bool,
    pub etag: Option<String>,
}

impl Meta {
    pub(super) fn dir(modified: SystemTime) -> Meta {
        Meta {
            len: 0,
            modified,
            dir: true,
            etag: None,
        }
    }

    pub(super) fn file(f: &FileRecord) -> Meta {
        Meta {
            len: f.size,
            modified: f.updated_at.into(),
            dir: false,
            // From the content's hash, so it changes exactly when the bytes
            // do; 128 bits of it, as some clients (neon's) cut long ones.
            etag: Some(f.sha256.chars().take(32).collect::<String>()).filter(|s| !s.is_empty()),
        }
    }
}

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.len
    }
    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }
    fn is_dir(&self) -> bool {
        self.dir
    }
    fn etag(&self) -> Option<String> {
        self.etag.clone().or_else(|| {
            let t = self.modified.duration_since(SystemTime::UNIX_EPOCH).ok()?;
            Some(format!("{:x}", t.as_micros()))
        })
    }
}

struct Entry {
    name: String,
    meta: Meta,
}

impl DavDirEntry for Entry {
    fn name(&self) -> Vec<u8> {
        self.name.as_bytes().to_vec()
    }
    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        futures::future::ready(Ok(meta)).boxed()
    }
}

/// What a path in the tree is.
enum Node {
    Folder(String),
    File(Box<FileRecord>),
}

/// Most files one folder listing reads.
const MAX_LISTED: usize = 10_000;

impl GraphDav {
    /// The folder or file at `path` (a folder wins over a file of the same
    /// name, which the tree then cannot reach).
    async fn node(&self, user: &str, path: &str) -> FsResult<Node> {
        let index = &self.state.index;
        if index.folder_exists(user, path).await.map_err(fs_error)? {
            return Ok(Node::Folder(path.to_string()));
        }
        let (folder, name) = DavTarget::Files(path.to_string())
            .file_parts()
            .ok_or(FsError::NotFound)?;
        match index
            .file_at(user, &folder, &name)
            .await
            .map_err(fs_error)?
        {
            Some(f) => Ok(Node::File(Box::new(f))),
            None => Err(FsError::NotFound),
        }
    }

    /// The folder-tree path of `path`; the root and the views cannot be
    /// written, so anything else is refused.
    async fn tree_path(&self, path: &DavPath) -> FsResult<String> {
        match DavTarget::parse(path.as_bytes())? {
            DavTarget::Files(p) => Ok(p),
            _ => Err(FsError::Forbidden),
        }
    }

    /// The file at `path`, in the tree or in a view.
    async fn file(&self, user: &str, path: &DavPath) -> FsResult<FileRecord> {
        let view = match DavTarget::parse(path.as_bytes())? {
            DavTarget::Root => return Err(FsError::Forbidden),
            DavTarget::Files(p) => {
                return match self.node(user, &p).await? {
                    Node::File(f) => Ok(*f),
                    Node::Folder(_) => Err(FsError::Forbidden),
                };
            }
            DavTarget::Tags(segments) => self.tag_node(user, &segments).await?,
            DavTarget::Search(segments) => self.search_node(user, &segments).await?,
            DavTarget::Shared(segments) => self.shared_node(user, &segments).await?,
        };
        match view {
            ViewNode::File(f) => Ok(*f),
            ViewNode::Dir { .. } => Err(FsError::Forbidden),
        }
    }

    /// A view's node, for the view paths.
    async fn view(&self, user: &str, target: &DavTarget) -> FsResult<Option<ViewNode>> {
        match target {
            DavTarget::Tags(segments) => Ok(Some(self.tag_node(user, segments).await?)),
            DavTarget::Search(segments) => Ok(Some(self.search_node(user, segments).await?)),
            DavTarget::Shared(segments) => Ok(Some(self.shared_node(user, segments).await?)),
            _ => Ok(None),
        }
    }

    async fn listing(&self, user: &str, folder: &str) -> FsResult<Vec<Entry>> {
        let index = &self.state.index;
        let mut out: Vec<Entry> = index
            .subfolders(user, folder)
            .await
            .map_err(fs_error)?
            .into_iter()
            .map(|f| Entry {
                name: f.name,
                meta: Meta::dir(f.created_at.into()),
            })
            .collect();
        let mut query = FileQuery {
            folder: Some(FolderFilter {
                path: folder.to_string(),
                subfolders: false,
            }),
            shared: Some(false),
            limit: 1000,
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = index.list_files(user, &query).await.map_err(fs_error)?;
            // The tree holds the caller's own files (shared ones keep their
            // owner's folder). Of same-named files, the newest.
            for f in page.items.iter().filter(|f| f.owner == user) {
                if seen.insert(f.name.clone()) {
                    out.push(Entry {
                        name: f.name.clone(),
                        meta: Meta::file(f),
                    });
                }
            }
            match page.next_cursor {
                Some(c) if out.len() < MAX_LISTED => query.cursor = Some(c),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn copy_file(
        &self,
        user: &str,
        from: &FileRecord,
        folder: String,
        name: String,
    ) -> FsResult<()> {
        let state = &self.state;
        let body = state
            .store
            .get(&from.object_key, None)
            .await
            .map_err(fs_error)?;
        let id = FileId::new();
        let key = id.object_key();
        let seen = put_tapped(state, &key, body.stream)
            .await
            .map_err(fs_error)?;
        register_upload(
            state,
            NewUpload {
                id,
                key,
                owner: user.to_string(),
                folder,
                name,
                declared_type: Some(from.media_type.clone()),
                create_only: false,
            },
            seen,
        )
        .await
        .map_err(fs_error)?;
        Ok(())
    }
}

/// The parent folder and the (checked) name of a new entry at `path`.
fn new_entry(path: &str) -> FsResult<(String, String)> {
    let (folder, name) = DavTarget::Files(path.to_string())
        .file_parts()
        .ok_or(FsError::Forbidden)?;
    normalize_file_name(&name).map_err(|_| FsError::Forbidden)?;
    Ok((folder, name))
}

impl GuardedFileSystem<DavUser> for GraphDav {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
        user: &'a DavUser,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            let user = user.0.as_str();
            if !options.write {
                let f = self.file(user, path).await?;
                let reader: Box<dyn DavFile> = Box::new(Reader::new(self.state.clone(), f));
                return Ok(reader);
            }
            // The views are read-only: a file joins a tag by a COPY.
            let tree = self.tree_path(path).await?;
            if options.append {
                return Err(FsError::NotImplemented);
            }
            let existing = match self.node(user, &tree).await {
                Ok(Node::File(f)) => Some(*f),
                Ok(Node::Folder(_)) => return Err(FsError::Forbidden),
                Err(FsError::NotFound) => None,
                Err(e) => return Err(e),
            };
            let target = match existing {
                Some(_) if options.create_new => return Err(FsError::Exists),
                Some(f) => Target::Existing(Box::new(f)),
                None if !options.create => return Err(FsError::NotFound),
                None => {
                    let (folder, name) = new_entry(&tree)?;
                    if !self
                        .state
                        .index
                        .folder_exists(user, &folder)
                        .await
                        .map_err(fs_error)?
                    {
                        return Err(FsError::NotFound);
                    }
                    Target::New { folder, name }
                }
            };
            let writer: Box<dyn DavFile> = Box::new(Writer::start(
                self.state.clone(),
                user.to_string(),
                target,
                options.size,
            ));
            Ok(writer)
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
        user: &'a DavUser,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let target = DavTarget::parse(path.as_bytes())?;
            let entries = match &target {
                DavTarget::Root => [FILES, TAGS, SEARCH, SHARED]
                    .into_iter()
                    .map(|name| Entry {
                        name: name.to_string(),
                        meta: Meta::dir(SystemTime::now()),
                    })
                    .collect(),
                DavTarget::Files(p) => match self.node(&user.0, p).await? {
                    Node::Folder(folder) => self.listing(&user.0, &folder).await?,
                    Node::File(_) => return Err(FsError::Forbidden),
                },
                DavTarget::Tags(_) | DavTarget::Search(_) | DavTarget::Shared(_) => {
                    match self.view(&user.0, &target).await? {
                        Some(ViewNode::Dir { folders, files }) => {
                            let now = SystemTime::now();
                            folders
                                .into_iter()
                                .map(|name| Entry {
                                    name,
                                    meta: Meta::dir(now),
                                })
                                .chain(files.into_iter().map(|(name, f)| Entry {
                                    name,
                                    meta: Meta::file(&f),
                                }))
                                .collect()
                        }
                        _ => return Err(FsError::Forbidden),
                    }
                }
            };
            let stream: FsStream<Box<dyn DavDirEntry>> =
                Box::pin(futures::stream::iter(entries.into_iter().map(|e| {
                    let e: Box<dyn DavDirEntry> = Box::new(e);
                    Ok(e)
                })));
            Ok(stream)
        }
        .boxed()
    }

    fn metadata<'a>(
        &'a self,
        path: &'a DavPath,
        user: &'a DavUser,
    ) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let target = DavTarget::parse(path.as_bytes())?;
            let meta = match &target {
                DavTarget::Root => Meta::dir(SystemTime::now()),
                DavTarget::Files(p) => match self.node(&user.0, p).await? {
                    Node::Folder(_) => Meta::dir(SystemTime::now()),
                    Node::File(f) => Meta::file(&f),
                },
                DavTarget::Tags(_) | DavTarget::Search(_) | DavTarget::Shared(_) => {
                    match self.view(&user.0, &target).await? {
                        Some(ViewNode::File(f)) => Meta::file(&f),
                        _ => Meta::dir(SystemTime::now()),
                    }
                }
            };
            let meta: Box<dyn DavMetaData> = Box::new(meta);
            Ok(meta)
        }
        .boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath, user: &'a DavUser) -> FsFuture<'a, ()> {
        async move {
            let user = user.0.as_str();
            let tree = self.tree_path(path).await?;
            if tree == ROOT_FOLDER {
                return Err(FsError::Exists);
            }
            match self.node(user, &tree).await {
                Ok(_) => return Err(FsError::Exists),
                Err(FsError::NotFound) => {}
                Err(e) => return Err(e),
            }
            let parent = parent_folder(&tree).unwrap_or(ROOT_FOLDER);
            let index = &self.state.index;
            if !index.folder_exists(user, parent).await.map_err(fs_error)? {
                return Err(FsError::NotFound);
            }
            index.create_folder(user, &tree).await.map_err(fs_error)?;
            Ok(())
        }
        .boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath, user: &'a DavUser) -> FsFuture<'a, ()> {
        async move {
            let tree = self.tree_path(path).await?;
            if tree == ROOT_FOLDER {
                return Err(FsError::Forbidden);
            }
            self.state
                .index
                .delete_folder(&user.0, &tree)
                .await
                .map_err(|e| match e {
                    Error::Conflict(_) => FsError::Forbidden,
                    other => fs_error(other),
                })?;
            super::props::removed(self.state.index.as_ref(), &user.0, &tree).await;
            Ok(())
        }
        .boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath, user: &'a DavUser) -> FsFuture<'a, ()> {
        async move {
            let f = self.file(&user.0, path).await?;
            match DavTarget::parse(path.as_bytes())? {
                // Out of a tag's folder: the file loses that tag, nothing more.
                DavTarget::Tags(segments) => {
                    let tag = segments
                        .len()
                        .checked_sub(2)
                        .and_then(|i| segments.get(i))
                        .ok_or(FsError::Forbidden)?;
                    let change = FileChange::remove_tag(tag).map_err(|_| FsError::Forbidden)?;
                    self.state
                        .index
                        .update_file(&user.0, f.id, &change)
                        .await
                        .map_err(fs_error)?;
                    return Ok(());
                }
                // Its dead properties go with it (files::delete_file).
                DavTarget::Files(_) => {
                    crate::files::delete_file(&self.state, &user.0, f.id)
                        .await
                        .map_err(fs_error)?;
                }
                _ => return Err(FsError::Forbidden),
            }
            Ok(())
        }
        .boxed()
    }

    fn rename<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        user: &'a DavUser,
    ) -> FsFuture<'a, ()> {
        async move {
            let user = user.0.as_str();
            let (src, dst) = (self.tree_path(from).await?, self.tree_path(to).await?);
            if src == ROOT_FOLDER || dst == ROOT_FOLDER {
                return Err(FsError::Forbidden);
            }
            match self.node(user, &src).await? {
                Node::Folder(_) => {
                    self.state
                        .index
                        .move_folder(user, &src, &dst)
                        .await
                        .map_err(fs_error)?;
                }
                Node::File(f) => {
                    let (folder, name) = new_entry(&dst)?;
                    let change = FileChange::move_to(&folder, Some(&name))
                        .map_err(|_| FsError::Forbidden)?;
                    self.state
                        .index
                        .update_file(user, f.id, &change)
                        .await
                        .map_err(fs_error)?;
                }
            }
            super::props::moved(self.state.index.as_ref(), user, &src, &dst).await;
            Ok(())
        }
        .boxed()
    }

    fn have_props<'a>(
        &'a self,
        path: &'a DavPath,
        user: &'a DavUser,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        // Whether properties can be kept here: anywhere in the tree.
        let _ = user;
        async move { matches!(DavTarget::parse(path.as_bytes()), Ok(DavTarget::Files(_))) }.boxed()
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
        user: &'a DavUser,
    ) -> FsFuture<'a, Vec<(axum::http::StatusCode, DavProp)>> {
        async move {
            let tree = self.tree_path(path).await?;
            self.node(&user.0, &tree).await?;
            self.props.patch(&user.0, &tree, patch).await
        }
        .boxed()
    }

    fn get_props<'a>(
        &'a self,
        path: &'a DavPath,
        do_content: bool,
        user: &'a DavUser,
    ) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            let tree = self.tree_path(path).await?;
            self.props.list(&user.0, &tree, do_content).await
        }
        .boxed()
    }

    fn get_prop<'a>(
        &'a self,
        path: &'a DavPath,
        prop: DavProp,
        user: &'a DavUser,
    ) -> FsFuture<'a, Vec<u8>> {
        async move {
            let tree = self.tree_path(path).await?;
            self.props.get(&user.0, &tree, &prop).await
        }
        .boxed()
    }

    /// RFC 4331 quota: the bytes the user's files and versions take (the
    /// drive's root answers that total; other paths their own size). No
    /// limit is set, so no available bytes are claimed.
    fn get_quota<'a>(&'a self, user: &'a DavUser) -> FsFuture<'a, (u64, Option<u64>)> {
        async move {
            let used = self
                .state
                .index
                .bytes_stored(&user.0)
                .await
                .map_err(fs_error)?;
            Ok((used, None))
        }
        .boxed()
    }

    fn copy<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        user: &'a DavUser,
    ) -> FsFuture<'a, ()> {
        async move {
            let user = user.0.as_str();
            let f = self.file(user, from).await?;
            // Into a tag's folder: the file gets the folder's tags.
            if let DavTarget::Tags(segments) = DavTarget::parse(to.as_bytes())? {
                let tags = self.tags_of_destination(user, &segments).await?;
                let change = graphfs_domain::FileChangeRequest {
                    add_tags: &tags,
                    ..Default::default()
                };
                let change = FileChange::check(&change).map_err(|_| FsError::Forbidden)?;
                self.state
                    .index
                    .update_file(user, f.id, &change)
                    .await
                    .map_err(fs_error)?;
                return Ok(());
            }
            let dst = self.tree_path(to).await?;
            let (folder, name) = new_entry(&dst)?;
            self.copy_file(user, &f, folder, name).await?;
            let src = self.tree_path(from).await?;
            super::props::copied(self.state.index.as_ref(), user, &src, &dst).await;
            Ok(())
        }
        .boxed()
    }
}
