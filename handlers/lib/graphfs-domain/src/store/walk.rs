//! The graph as the page draws it: nodes and edges around a start.
//!
//! Folders are drawn the same way for every backend, from the [`Folders`]
//! and [`FileCatalog`] traits: a folder's view, and the folders of the
//! files in any view.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::{
    Error, FileId, FileQuery, FolderFilter, GraphBuilder, GraphIndex, GraphStart, GraphView,
    NodeKind, Result, folder_name, parent_folder,
};

#[async_trait]
pub trait GraphWalk: Send + Sync + 'static {
    /// Nodes and edges around a file or tag, breadth first to `depth` hops,
    /// at most `max_nodes` nodes.
    async fn neighbourhood(
        &self,
        viewer: &str,
        start: &GraphStart,
        depth: u32,
        max_nodes: usize,
    ) -> Result<GraphView>;
}

/// Files a folder node expands to in one hop.
pub const FOLDER_FANOUT: usize = 50;

/// The graph id of a folder node.
pub fn folder_node_id(path: &str) -> String {
    format!("folder:{path}")
}

fn folder_label(path: &str) -> String {
    match folder_name(path) {
        "" => "/".to_string(),
        name => name.to_string(),
    }
}

/// One of the viewer's folders with what is around it: its parent, its
/// subfolders and the files in it (at most [`FOLDER_FANOUT`]), each IN its
/// folder. `NotFound` for a folder the viewer does not have.
pub async fn folder_neighbourhood(
    index: &dyn GraphIndex,
    viewer: &str,
    path: &str,
    max_nodes: usize,
) -> Result<GraphView> {
    if !index.folder_exists(viewer, path).await? {
        return Err(Error::NotFound(format!("folder '{path}'")));
    }
    let subfolders = index.subfolders(viewer, path).await?;
    let files = index
        .list_files(
            viewer,
            &FileQuery {
                folder: Some(FolderFilter {
                    path: path.to_string(),
                    subfolders: false,
                }),
                shared: Some(false),
                limit: FOLDER_FANOUT,
                ..Default::default()
            },
        )
        .await?;
    let mut g = GraphBuilder::new(max_nodes);
    let me = folder_node_id(path);
    g.node(me.clone(), NodeKind::Folder, folder_label(path), None);
    if let Some(parent) = parent_folder(path) {
        let pid = folder_node_id(parent);
        g.node(pid.clone(), NodeKind::Folder, folder_label(parent), None);
        g.edge(crate::EdgeKind::In, &me, &pid, 1.0);
    }
    for sub in subfolders {
        let sid = folder_node_id(&sub.path);
        if g.node(sid.clone(), NodeKind::Folder, sub.name, None) {
            g.edge(crate::EdgeKind::In, &sid, &me, 1.0);
        }
    }
    for f in files.items {
        let fid = format!("file:{}", f.id);
        if g.node(fid.clone(), NodeKind::File, f.name, Some(f.media_type)) {
            g.edge(crate::EdgeKind::In, &fid, &me, 1.0);
        }
    }
    let mut view = g.finish();
    view.truncated |= files.next_cursor.is_some();
    Ok(view)
}

/// `view` with the folder of each of the viewer's own files in it, the
/// file IN its folder (within `max_nodes`). Files shared with the viewer
/// are in their owner's folders, which are not the viewer's to draw.
pub async fn with_folders(
    index: &dyn GraphIndex,
    viewer: &str,
    view: GraphView,
    max_nodes: usize,
) -> Result<GraphView> {
    let ids: Vec<FileId> = view
        .nodes
        .iter()
        .filter_map(|n| n.id.strip_prefix("file:")?.parse().ok())
        .collect();
    if ids.is_empty() {
        return Ok(view);
    }
    let folders: HashMap<String, String> = index
        .get_files(viewer, &ids)
        .await?
        .into_iter()
        .filter(|f| f.owner == viewer)
        .map(|f| (format!("file:{}", f.id), f.folder))
        .collect();
    let mut g = GraphBuilder::new(max_nodes);
    let truncated = view.truncated;
    for n in &view.nodes {
        g.node(n.id.clone(), n.kind, n.label.clone(), n.media_type.clone());
    }
    for n in &view.nodes {
        if let Some(folder) = folders.get(&n.id) {
            let fid = folder_node_id(folder);
            if g.node(fid.clone(), NodeKind::Folder, folder_label(folder), None) {
                g.edge(crate::EdgeKind::In, &n.id, &fid, 1.0);
            }
        }
    }
    for e in view.edges {
        g.edge(e.kind, &e.source, &e.target, e.weight);
    }
    let mut out = g.finish();
    out.truncated |= truncated;
    Ok(out)
}
