//! Building a bounded graph view, the same way for every backend: nodes up
//! to a limit, edges only between nodes in the view, degrees counted within it.

use std::collections::{HashMap, HashSet};

use crate::{EdgeKind, GraphEdge, GraphNode, GraphView, NodeKind};

pub struct GraphBuilder {
    nodes: Vec<GraphNode>,
    index: HashMap<String, usize>,
    edges: Vec<GraphEdge>,
    edge_ids: HashSet<String>,
    max_nodes: usize,
    truncated: bool,
}

impl GraphBuilder {
    pub fn new(max_nodes: usize) -> Self {
        GraphBuilder {
            nodes: Vec::new(),
            index: HashMap::new(),
            edges: Vec::new(),
            edge_ids: HashSet::new(),
            max_nodes: max_nodes.max(1),
            truncated: false,
        }
    }

    /// Adds a node (once); false when the node limit is reached.
    pub fn node(
        &mut self,
        id: String,
        kind: NodeKind,
        label: String,
        media_type: Option<String>,
    ) -> bool {
        if self.index.contains_key(&id) {
            return true;
        }
        if self.nodes.len() >= self.max_nodes {
            self.truncated = true;
            return false;
        }
        self.index.insert(id.clone(), self.nodes.len());
        self.nodes.push(GraphNode {
            id,
            kind,
            label,
            media_type,
            degree: 0,
        });
        true
    }

    /// Adds an edge between two nodes of the view (once; undirected kinds
    /// are stored in a canonical direction, TAGGED, IN and BROADER as given).
    pub fn edge(&mut self, kind: EdgeKind, source: &str, target: &str, weight: f32) {
        let directed = matches!(kind, EdgeKind::Tagged | EdgeKind::In | EdgeKind::Broader);
        let (a, b) = if directed || source < target {
            (source, target)
        } else {
            (target, source)
        };
        let id = format!("{kind:?}:{a}:{b}");
        if self.index.contains_key(a)
            && self.index.contains_key(b)
            && self.edge_ids.insert(id.clone())
        {
            self.edges.push(GraphEdge {
                id,
                source: a.to_string(),
                target: b.to_string(),
                kind,
                weight,
            });
        }
    }

    pub fn finish(mut self) -> GraphView {
        for e in &self.edges {
            for end in [&e.source, &e.target] {
                if let Some(&i) = self.index.get(end) {
                    self.nodes[i].degree += 1;
                }
            }
        }
        GraphView {
            nodes: self.nodes,
            edges: self.edges,
            truncated: self.truncated,
        }
    }
}

/// One view of several walks: nodes in the order the views give them, up
/// to `max_nodes`, and the edges between the nodes kept.
pub fn merge_views(views: impl IntoIterator<Item = GraphView>, max_nodes: usize) -> GraphView {
    let mut g = GraphBuilder::new(max_nodes);
    let mut edges = Vec::new();
    for view in views {
        g.truncated |= view.truncated;
        for n in view.nodes {
            g.node(n.id, n.kind, n.label, n.media_type);
        }
        edges.extend(view.edges);
    }
    for e in edges {
        g.edge(e.kind, &e.source, &e.target, e.weight);
    }
    g.finish()
}

/// Which tag is broader than which: a taxonomy's topics and their parents,
/// drawn as `narrower BROADER broader` between tag nodes.
#[derive(Debug, Clone, Default)]
pub struct TagHierarchy {
    /// Each narrower tag's broader one.
    broader: HashMap<String, String>,
}

impl TagHierarchy {
    /// From (narrower, broader) pairs of normalised tag names.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> TagHierarchy {
        TagHierarchy {
            broader: pairs.into_iter().filter(|(a, b)| a != b).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.broader.is_empty()
    }

    pub fn broader(&self, tag: &str) -> Option<&str> {
        self.broader.get(tag).map(String::as_str)
    }

    /// The tags directly beneath `tag`, by name.
    pub fn narrower(&self, tag: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .broader
            .iter()
            .filter(|(_, b)| b.as_str() == tag)
            .map(|(n, _)| n.as_str())
            .collect();
        out.sort_unstable();
        out
    }

    /// `view` with its tags' BROADER edges, after adding, as tag nodes,
    /// the tags in `around` (the broader and narrower tags of where a walk
    /// began, that the viewer has) up to `max_nodes`.
    pub fn apply(&self, view: GraphView, around: &[String], max_nodes: usize) -> GraphView {
        let mut g = GraphBuilder::new(max_nodes.max(view.nodes.len()));
        g.truncated = view.truncated;
        for n in view.nodes {
            g.node(n.id, n.kind, n.label, n.media_type);
        }
        for tag in around {
            g.node(format!("tag:{tag}"), NodeKind::Tag, tag.clone(), None);
        }
        for e in view.edges {
            g.edge(e.kind, &e.source, &e.target, e.weight);
        }
        let tags: Vec<String> = g
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Tag)
            .filter_map(|n| n.id.strip_prefix("tag:").map(str::to_string))
            .collect();
        for tag in tags {
            if let Some(up) = self.broader(&tag) {
                g.edge(
                    EdgeKind::Broader,
                    &format!("tag:{tag}"),
                    &format!("tag:{up}"),
                    1.0,
                );
            }
        }
        g.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(nodes: &[&str], edges: &[(&str, &str)]) -> GraphView {
        let mut g = GraphBuilder::new(100);
        for n in nodes {
            g.node(n.to_string(), NodeKind::Tag, n.to_string(), None);
        }
        for (a, b) in edges {
            g.edge(EdgeKind::CoOccurs, a, b, 1.0);
        }
        g.finish()
    }

    #[test]
    fn merged_views_share_nodes_and_recount_degrees() {
        let a = view(&["tag:a", "tag:b"], &[("tag:a", "tag:b")]);
        let b = view(&["tag:b", "tag:c"], &[("tag:b", "tag:c")]);
        let v = merge_views([a, b], 10);
        let ids: Vec<_> = v.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["tag:a", "tag:b", "tag:c"]);
        assert_eq!(v.edges.len(), 2);
        let degree = |id: &str| v.nodes.iter().find(|n| n.id == id).map(|n| n.degree);
        assert_eq!(degree("tag:b"), Some(2));
        assert!(!v.truncated);

        let c = view(&["tag:x", "tag:y"], &[("tag:x", "tag:y")]);
        let d = view(&["tag:z"], &[]);
        let v = merge_views([c, d], 2);
        assert!(v.truncated, "the second view did not fit");
        assert_eq!(v.nodes.len(), 2);
    }

    #[test]
    fn bounded_views_count_degrees_within_the_view() {
        let mut g = GraphBuilder::new(2);
        assert!(g.node("file:a".into(), NodeKind::File, "a".into(), None));
        assert!(g.node("tag:x".into(), NodeKind::Tag, "x".into(), None));
        assert!(!g.node("tag:y".into(), NodeKind::Tag, "y".into(), None));
        g.edge(EdgeKind::Tagged, "file:a", "tag:x", 0.5);
        g.edge(EdgeKind::Tagged, "file:a", "tag:x", 0.5);
        g.edge(EdgeKind::Tagged, "file:a", "tag:y", 0.5);
        let v = g.finish();
        assert!(v.truncated);
        assert_eq!(
            v.edges.len(),
            1,
            "duplicates and edges to absent nodes are dropped"
        );
        assert!(v.nodes.iter().all(|n| n.degree == 1));
    }

    #[test]
    fn a_hierarchy_draws_broader_edges_between_the_tags_in_view() {
        let h = TagHierarchy::new([
            ("invoices".to_string(), "finance".to_string()),
            ("taxes".to_string(), "finance".to_string()),
            ("finance".to_string(), "office".to_string()),
            ("loop".to_string(), "loop".to_string()),
        ]);
        assert_eq!(h.broader("invoices"), Some("finance"));
        assert_eq!(h.narrower("finance"), ["invoices", "taxes"]);
        assert_eq!(h.broader("loop"), None, "a tag is not broader than itself");
        // A walk from "finance" found a file with "invoices"; "office" and
        // "taxes" come from the hierarchy, as the viewer has them.
        let mut g = GraphBuilder::new(10);
        g.node("tag:finance".into(), NodeKind::Tag, "finance".into(), None);
        g.node("file:f".into(), NodeKind::File, "f".into(), None);
        g.node(
            "tag:invoices".into(),
            NodeKind::Tag,
            "invoices".into(),
            None,
        );
        g.edge(EdgeKind::Tagged, "file:f", "tag:finance", 1.0);
        g.edge(EdgeKind::Tagged, "file:f", "tag:invoices", 1.0);
        let v = h.apply(g.finish(), &["office".into(), "taxes".into()], 10);
        let broader: Vec<(&str, &str)> = v
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Broader)
            .map(|e| (e.source.as_str(), e.target.as_str()))
            .collect();
        assert_eq!(
            broader,
            [
                ("tag:finance", "tag:office"),
                ("tag:invoices", "tag:finance"),
                ("tag:taxes", "tag:finance"),
            ]
        );
        assert_eq!(v.edges.len(), 5, "the walk's edges stay");
        let degree = |id: &str| v.nodes.iter().find(|n| n.id == id).map(|n| n.degree);
        assert_eq!(degree("tag:finance"), Some(4));
        // At the node limit the hierarchy adds no node, only edges.
        let mut g = GraphBuilder::new(2);
        g.node(
            "tag:invoices".into(),
            NodeKind::Tag,
            "invoices".into(),
            None,
        );
        g.node("tag:finance".into(), NodeKind::Tag, "finance".into(), None);
        let v = h.apply(g.finish(), &["office".into()], 2);
        assert_eq!(v.nodes.len(), 2);
        assert!(v.truncated);
        assert_eq!(v.edges.len(), 1);
    }
}
