//! The graph as the page draws it: nodes and edges around a start.

use async_trait::async_trait;

use crate::{GraphStart, GraphView, Result};

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
