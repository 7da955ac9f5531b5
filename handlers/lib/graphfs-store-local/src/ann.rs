//! Approximate nearest neighbours by cosine: a hierarchical navigable
//! small-world graph (HNSW, Malkov and Yashunin 2016) held in memory.
//!
//! SQLite has no vector index, and a linear scan reads every vector: 1.5 GB
//! at a million files of 384 floats. The graph answers in a few thousand
//! dot products instead. It is pure (no I/O, no clock, a seeded random
//! source), so what it returns depends only on what was inserted.
//!
//! Vectors are normalised on the way in, so cosine is a dot product. A key
//! inserted again replaces its vector; the old node stays in the graph as a
//! waypoint (searches pass through it but never return it) until the owner
//! rebuilds, which [`Hnsw::dead_share`] tells it when to do.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

/// Links per node on the upper layers; layer 0 keeps twice as many.
const LINKS: usize = 16;

/// Candidates kept while linking a new node. Higher builds slower and finds
/// better neighbours.
const EF_CONSTRUCTION: usize = 100;

/// The graph. Node `i`'s vector is `vectors[i * dim..(i + 1) * dim]`.
///
/// Each node's links sit behind their own lock, so that many threads can
/// link nodes at once while the graph is built (as hnswlib does); a walk
/// takes one node's lock at a time, never two, so nothing can deadlock.
pub struct Hnsw {
    dim: usize,
    vectors: Vec<f32>,
    keys: Vec<i64>,
    live: Vec<bool>,
    levels: Vec<u8>,
    /// `links[i][l]`: node `i`'s neighbours on layer `l`.
    links: Vec<Mutex<Vec<Vec<u32>>>>,
    by_key: HashMap<i64, u32>,
    entry: Mutex<Option<u32>>,
    dead: usize,
    rng: u64,
}

/// A candidate: its distance (1 − cosine) to the query and its node.
#[derive(Clone, Copy, PartialEq)]
struct Near(f32, u32);

impl Eq for Near {}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Node numbers are already well spread: hashing them again is waste.
#[derive(Default)]
struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

type Visited = HashSet<u32, BuildHasherDefault<NodeHasher>>;

/// The dot product, the whole cost of building and searching: with AVX2
/// where the CPU has it (one build runs everywhere), else as the target
/// allows.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static AVX2: OnceLock<bool> = OnceLock::new();
        if *AVX2.get_or_init(|| std::arch::is_x86_feature_detected!("avx2")) {
            // SAFETY: the CPU was just found to have AVX2.
            return unsafe { dot_avx2(a, b) };
        }
    }
    dot_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    // Sixteen running sums: the compiler keeps them in vector registers.
    let mut sums = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter().map(|x| x / norm).collect()
    } else {
        vec![0.0; v.len()]
    }
}

impl Hnsw {
    /// An empty graph for vectors of `dim` floats.
    pub fn new(dim: usize) -> Self {
        Hnsw {
            dim,
            vectors: Vec::new(),
            keys: Vec::new(),
            live: Vec::new(),
            levels: Vec::new(),
            links: Vec::new(),
            by_key: HashMap::new(),
            entry: Mutex::new(None),
            dead: 0,
            rng: 0x853C_49E6_748F_EA9B,
        }
    }

    /// A graph of `items` (key, vector), linked by `threads` threads at
    /// once. Vectors of another length are left out.
    pub fn build(
        dim: usize,
        items: impl IntoIterator<Item = (i64, Vec<f32>)>,
        threads: usize,
    ) -> Self {
        let mut graph = Hnsw::new(dim);
        for (key, vector) in items {
            graph.push(key, &vector);
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    loop {
                        let node = next.fetch_add(1, AtomicOrdering::Relaxed);
                        if node >= graph.keys.len() {
                            break;
                        }
                        graph.link(node as u32);
                    }
                });
            }
        });
        graph
    }

    pub fn dimensions(&self) -> usize {
        self.dim
    }

    /// Keys that a search can return.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// The share of nodes that are replaced or removed vectors.
    pub fn dead_share(&self) -> f64 {
        if self.keys.is_empty() {
            0.0
        } else {
            self.dead as f64 / self.keys.len() as f64
        }
    }

    fn vector(&self, node: u32) -> &[f32] {
        let at = node as usize * self.dim;
        &self.vectors[at..at + self.dim]
    }

    fn distance(&self, query: &[f32], node: u32) -> f32 {
        1.0 - dot(query, self.vector(node))
    }

    /// A level drawn from the geometric distribution HNSW wants:
    /// P(level ≥ l) = LINKS^−l.
    fn random_level(&mut self) -> usize {
        // splitmix64: small, seeded, good enough to draw levels.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let uniform = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-uniform.ln()) / (LINKS as f64).ln()).floor().min(16.0) as usize
    }

    /// Node `node`'s links on `layer`, copied into `out`.
    fn neighbours(&self, node: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        if let Ok(links) = self.links[node as usize].lock()
            && let Some(l) = links.get(layer)
        {
            out.extend_from_slice(l);
        }
    }

    /// Drops `key` from what searches return.
    pub fn remove(&mut self, key: i64) {
        if let Some(node) = self.by_key.remove(&key) {
            self.live[node as usize] = false;
            self.dead += 1;
        }
    }

    /// Appends a node, not linked yet; false for a vector of another length.
    fn push(&mut self, key: i64, vector: &[f32]) -> bool {
        if vector.len() != self.dim {
            return false;
        }
        self.remove(key);
        let node = self.keys.len() as u32;
        let level = self.random_level();
        self.vectors.extend(normalised(vector));
        self.keys.push(key);
        self.live.push(true);
        self.levels.push(level as u8);
        self.links.push(Mutex::new(vec![Vec::new(); level + 1]));
        self.by_key.insert(key, node);
        true
    }

    /// Adds `key` with `vector`, replacing its earlier vector. A vector of
    /// another length is refused (returns false).
    pub fn insert(&mut self, key: i64, vector: &[f32]) -> bool {
        if !self.push(key, vector) {
            return false;
        }
        self.link((self.keys.len() - 1) as u32);
        true
    }

    /// Links a pushed node into the graph: the paper's algorithm 1.
    fn link(&self, node: u32) {
        let level = usize::from(self.levels[node as usize]);
        let entry = {
            let Ok(mut entry) = self.entry.lock() else {
                return;
            };
            match *entry {
                Some(e) => e,
                None => {
                    *entry = Some(node);
                    return;
                }
            }
        };
        let top = usize::from(self.levels[entry as usize]);
        let query = self.vector(node);
        let mut nearest = vec![Near(self.distance(query, entry), entry)];
        for layer in (level + 1..=top).rev() {
            nearest = self.walk(query, &nearest, 1, layer);
        }
        for layer in (0..=level.min(top)).rev() {
            let found = self.walk(query, &nearest, EF_CONSTRUCTION, layer);
            let most = if layer == 0 { 2 * LINKS } else { LINKS };
            let chosen = self.select(&found, LINKS);
            if let Ok(mut own) = self.links[node as usize].lock() {
                // Another thread may have linked to this node already.
                let earlier = std::mem::take(&mut own[layer]);
                own[layer] = chosen.iter().map(|n| n.1).collect();
                own[layer].extend(
                    earlier
                        .into_iter()
                        .filter(|n| !chosen.iter().any(|c| c.1 == *n)),
                );
                if own[layer].len() > most {
                    self.shrink(node, &mut own[layer], most);
                }
            }
            for n in chosen {
                if let Ok(mut theirs) = self.links[n.1 as usize].lock() {
                    let back = &mut theirs[layer];
                    back.push(node);
                    if back.len() > most {
                        self.shrink(n.1, back, most);
                    }
                }
            }
            nearest = found;
        }
        if level > top
            && let Ok(mut entry) = self.entry.lock()
            && entry.is_none_or(|e| usize::from(self.levels[e as usize]) < level)
        {
            *entry = Some(node);
        }
    }

    /// Cuts `node`'s `links` back to `most`, keeping a spread of directions
    /// rather than only the closest.
    fn shrink(&self, node: u32, links: &mut Vec<u32>, most: usize) {
        let base = self.vector(node);
        let mut near: Vec<Near> = links
            .iter()
            .map(|&n| Near(self.distance(base, n), n))
            .collect();
        near.sort();
        *links = self.select(&near, most).iter().map(|n| n.1).collect();
    }

    /// The neighbour heuristic (the paper's algorithm 4): a candidate is
    /// kept when it is closer to the base than to any neighbour kept so far,
    /// so links point different ways; the rest fill what is left. `sorted`
    /// is nearest first.
    fn select(&self, sorted: &[Near], most: usize) -> Vec<Near> {
        let mut kept: Vec<Near> = Vec::with_capacity(most);
        let mut passed = Vec::new();
        for &c in sorted {
            if kept.len() == most {
                break;
            }
            let cv = self.vector(c.1);
            if kept.iter().all(|k| 1.0 - dot(cv, self.vector(k.1)) > c.0) {
                kept.push(c);
            } else {
                passed.push(c);
            }
        }
        for c in passed {
            if kept.len() == most {
                break;
            }
            kept.push(c);
        }
        kept
    }

    /// The `ef` nodes nearest `query` on `layer` found by a best-first walk
    /// from `start`, nearest first.
    fn walk(&self, query: &[f32], start: &[Near], ef: usize, layer: usize) -> Vec<Near> {
        let mut visited = Visited::with_capacity_and_hasher(ef * 16, Default::default());
        let mut links = Vec::with_capacity(2 * LINKS);
        // `frontier` pops the nearest unexpanded node; `best` the farthest kept.
        let mut frontier: BinaryHeap<std::cmp::Reverse<Near>> = BinaryHeap::new();
        let mut best: BinaryHeap<Near> = BinaryHeap::new();
        for &s in start {
            if visited.insert(s.1) {
                frontier.push(std::cmp::Reverse(s));
                best.push(s);
            }
        }
        while best.len() > ef {
            best.pop();
        }
        while let Some(std::cmp::Reverse(c)) = frontier.pop() {
            if best.len() >= ef && best.peek().is_some_and(|far| c.0 > far.0) {
                break;
            }
            self.neighbours(c.1, layer, &mut links);
            for &n in &links {
                if !visited.insert(n) {
                    continue;
                }
                let d = self.distance(query, n);
                if best.len() < ef || best.peek().is_some_and(|far| d < far.0) {
                    frontier.push(std::cmp::Reverse(Near(d, n)));
                    best.push(Near(d, n));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        best.into_sorted_vec()
    }

    /// Up to `k` live keys nearest `query`, with their cosine, best first.
    /// `ef` (at least `k`) trades time for recall.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<(i64, f32)> {
        let Some(entry) = self.entry.lock().ok().and_then(|e| *e) else {
            return Vec::new();
        };
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let query = normalised(query);
        let mut nearest = vec![Near(self.distance(&query, entry), entry)];
        for layer in (1..=usize::from(self.levels[entry as usize])).rev() {
            nearest = self.walk(&query, &nearest, 1, layer);
        }
        self.walk(&query, &nearest, ef.max(k), 0)
            .into_iter()
            .filter(|n| self.live[n.1 as usize])
            .take(k)
            .map(|n| (self.keys[n.1 as usize], 1.0 - n.0))
            .collect()
    }
}

/// Seeded clustered vectors, as embeddings of documents on a few topics
/// are: `n` points around `topics` random centres, each coordinate moved by
/// up to ±`spread`/2.
/// The first and last bytes of a saved graph: a file cut short lacks the
/// last. A new layout gets a new number.
const SAVED_MAGIC: &[u8; 8] = b"GFSHNSW1";

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("saved graph: {what}"),
    )
}

fn read_array<const N: usize>(r: &mut impl std::io::Read) -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn read_u32(r: &mut impl std::io::Read) -> std::io::Result<u32> {
    read_array(r).map(u32::from_le_bytes)
}

fn read_u64(r: &mut impl std::io::Read) -> std::io::Result<u64> {
    read_array(r).map(u64::from_le_bytes)
}

impl Hnsw {
    /// Whether `key` is in the graph with `vector` (as it was normalised on
    /// the way in): nothing to insert again.
    pub fn holds(&self, key: i64, vector: &[f32]) -> bool {
        self.by_key.get(&key).is_some_and(|&node| {
            vector.len() == self.dim && self.vector(node) == normalised(vector)
        })
    }

    /// The keys a search can return.
    pub fn keys(&self) -> impl Iterator<Item = i64> + '_ {
        self.by_key.keys().copied()
    }

    /// Writes the whole graph (every node, the replaced ones too, with its
    /// vector, level and links), little-endian, for [`Hnsw::read_from`].
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let nodes = self.keys.len();
        let entry = *self.entry.lock().map_err(|_| invalid("a poisoned lock"))?;
        w.write_all(SAVED_MAGIC)?;
        w.write_all(&(self.dim as u32).to_le_bytes())?;
        w.write_all(&(nodes as u64).to_le_bytes())?;
        w.write_all(&entry.map_or(u32::MAX, |e| e).to_le_bytes())?;
        w.write_all(&(self.dead as u64).to_le_bytes())?;
        w.write_all(&self.rng.to_le_bytes())?;
        for x in &self.vectors {
            w.write_all(&x.to_le_bytes())?;
        }
        for node in 0..nodes {
            w.write_all(&self.keys[node].to_le_bytes())?;
            w.write_all(&[u8::from(self.live[node]), self.levels[node]])?;
            let links = self.links[node]
                .lock()
                .map_err(|_| invalid("a poisoned lock"))?;
            for layer in links.iter() {
                w.write_all(&(layer.len() as u32).to_le_bytes())?;
                for n in layer {
                    w.write_all(&n.to_le_bytes())?;
                }
            }
        }
        w.write_all(SAVED_MAGIC)
    }

    /// Reads a graph [`Hnsw::write_to`] wrote, of at most `max_bytes` (the
    /// file's length: a damaged count cannot ask for more memory than that).
    /// Anything inconsistent is an error, never a graph that walks wrong.
    pub fn read_from(r: &mut impl std::io::Read, max_bytes: u64) -> std::io::Result<Self> {
        if &read_array::<8>(r)? != SAVED_MAGIC {
            return Err(invalid("not a graph of this layout"));
        }
        let dim = read_u32(r)? as usize;
        let nodes = read_u64(r)?;
        let entry = read_u32(r)?;
        let dead = read_u64(r)?;
        let rng = read_u64(r)?;
        if dim == 0
            || nodes.saturating_mul(dim as u64 * 4) > max_bytes
            || nodes > u64::from(u32::MAX)
        {
            return Err(invalid("sizes beyond the file"));
        }
        let nodes = nodes as usize;
        let mut graph = Hnsw::new(dim);
        graph.rng = rng;
        graph.vectors.reserve_exact(nodes * dim);
        for _ in 0..nodes * dim {
            graph.vectors.push(f32::from_le_bytes(read_array(r)?));
        }
        for node in 0..nodes {
            let key = i64::from_le_bytes(read_array(r)?);
            let [live, level] = read_array::<2>(r)?;
            let mut layers = Vec::with_capacity(usize::from(level) + 1);
            for _ in 0..=level {
                let count = read_u32(r)? as usize;
                if count > 2 * LINKS + 1 {
                    return Err(invalid("more links than a node keeps"));
                }
                let mut layer = Vec::with_capacity(count);
                for _ in 0..count {
                    let n = read_u32(r)?;
                    if n as usize >= nodes {
                        return Err(invalid("a link to no node"));
                    }
                    layer.push(n);
                }
                layers.push(layer);
            }
            graph.keys.push(key);
            graph.live.push(live == 1);
            graph.levels.push(level);
            graph.links.push(Mutex::new(layers));
            if live == 1 && graph.by_key.insert(key, node as u32).is_some() {
                return Err(invalid("a key twice"));
            }
        }
        if &read_array::<8>(r)? != SAVED_MAGIC {
            return Err(invalid("cut short"));
        }
        graph.dead = dead as usize;
        if nodes > 0 {
            if entry as usize >= nodes {
                return Err(invalid("no entry node"));
            }
            *graph
                .entry
                .get_mut()
                .map_err(|_| invalid("a poisoned lock"))? = Some(entry);
        }
        Ok(graph)
    }
}

#[cfg(test)]
pub(crate) fn clustered(
    n: usize,
    dim: usize,
    topics: usize,
    spread: f32,
    seed: u64,
) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..topics)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            centres[i % topics]
                .iter()
                .map(|c| c + spread * next())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(n: usize, dim: usize, topics: usize, seed: u64) -> Vec<Vec<f32>> {
        clustered(n, dim, topics, 0.6, seed)
    }

    /// recall@10 of `index` over 100 queries, against brute force.
    fn recall(index: &Hnsw, vectors: &[Vec<f32>]) -> f64 {
        let (mut hits, mut total) = (0, 0);
        for q in &corpus(100, 64, 40, 99) {
            let truth = exact(vectors, q, 10);
            let found: Vec<i64> = index
                .search(q, 10, 128)
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            hits += truth.iter().filter(|t| found.contains(t)).count();
            total += truth.len();
        }
        hits as f64 / total as f64
    }

    fn exact(vectors: &[Vec<f32>], query: &[f32], k: usize) -> Vec<i64> {
        let q = normalised(query);
        let mut scored: Vec<(f32, i64)> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| (dot(&q, &normalised(v)), i as i64))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(k).map(|(_, i)| i).collect()
    }

    #[test]
    fn finds_nearly_all_true_neighbours() {
        let vectors = corpus(4000, 64, 40, 7);
        let mut index = Hnsw::new(64);
        for (i, v) in vectors.iter().enumerate() {
            assert!(index.insert(i as i64, v));
        }
        let recall = recall(&index, &vectors);
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    #[test]
    fn a_graph_built_on_many_threads_finds_them_as_well() {
        let vectors = corpus(4000, 64, 40, 7);
        let index = Hnsw::build(
            64,
            vectors
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, v)| (i as i64, v)),
            4,
        );
        assert_eq!(index.len(), 4000);
        let recall = recall(&index, &vectors);
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    #[test]
    fn a_saved_graph_reads_back_the_same_and_a_damaged_one_is_refused() {
        let vectors = corpus(1500, 64, 20, 3);
        let mut index = Hnsw::new(64);
        for (i, v) in vectors.iter().enumerate() {
            index.insert(i as i64, v);
        }
        // A replaced vector and a removed key are saved as they are.
        index.insert(5, &vectors[6]);
        index.remove(7);
        let mut saved = Vec::new();
        index.write_to(&mut saved).unwrap();
        let back = Hnsw::read_from(&mut saved.as_slice(), saved.len() as u64).unwrap();
        assert_eq!(back.len(), index.len());
        assert_eq!(back.dead_share(), index.dead_share());
        assert!(back.holds(5, &vectors[6]) && !back.holds(5, &vectors[5]));
        assert!(!back.holds(7, &vectors[7]));
        for q in corpus(20, 64, 20, 8) {
            assert_eq!(back.search(&q, 10, 64), index.search(&q, 10, 64));
        }
        // Inserting goes on where the saved graph left off.
        let mut back = back;
        assert!(back.insert(9999, &vectors[0]));
        assert_eq!(back.search(&vectors[0], 2, 64).len(), 2);

        let cut = &saved[..saved.len() - 3];
        assert!(Hnsw::read_from(&mut &cut[..], cut.len() as u64).is_err());
        let mut other = saved.clone();
        other[0] = b'X';
        assert!(Hnsw::read_from(&mut other.as_slice(), other.len() as u64).is_err());
        // Counts beyond the file are refused before anything is allocated.
        assert!(Hnsw::read_from(&mut saved.as_slice(), 1000).is_err());
        // A link to a node that does not exist: the first link of node 0,
        // after the header and every node's vector (the replaced one too).
        let nodes = u64::from_le_bytes(saved[12..20].try_into().unwrap()) as usize;
        assert_eq!(nodes, 1501);
        let links_at = 8 + 4 + 8 + 4 + 8 + 8 + nodes * 64 * 4 + 8 + 2 + 4;
        assert_ne!(
            &saved[links_at - 4..links_at],
            &[0u8; 4],
            "node 0 has links"
        );
        let mut bad = saved.clone();
        bad[links_at..links_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Hnsw::read_from(&mut bad.as_slice(), bad.len() as u64).is_err());
    }

    #[test]
    fn scores_are_cosines_best_first() {
        let mut index = Hnsw::new(3);
        index.insert(1, &[1.0, 0.0, 0.0]);
        index.insert(2, &[2.0, 2.0, 0.0]);
        index.insert(3, &[0.0, 0.0, -5.0]);
        let found = index.search(&[3.0, 0.0, 0.0], 3, 10);
        let keys: Vec<i64> = found.iter().map(|f| f.0).collect();
        assert_eq!(keys, vec![1, 2, 3]);
        assert!((found[0].1 - 1.0).abs() < 1e-6);
        assert!((found[1].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((found[2].1 - 0.0).abs() < 1e-6);
    }

    #[test]
    fn a_key_inserted_again_is_found_by_its_new_vector_only() {
        let vectors = corpus(500, 16, 5, 3);
        let mut index = Hnsw::new(16);
        for (i, v) in vectors.iter().enumerate() {
            index.insert(i as i64, v);
        }
        let moved: Vec<f32> = vectors[400].iter().map(|x| -x).collect();
        index.insert(7, &moved);
        assert_eq!(index.len(), 500);
        assert!(index.dead_share() > 0.0);
        assert_eq!(index.search(&moved, 1, 32)[0].0, 7);
        let old = index.search(&vectors[7], 500, 500);
        assert!(old.iter().all(|(k, s)| *k != 7 || *s < 0.0), "{old:?}");
        index.remove(7);
        assert!(index.search(&moved, 500, 500).iter().all(|(k, _)| *k != 7));
        assert_eq!(index.len(), 499);
    }

    #[test]
    fn refuses_vectors_of_another_length_and_answers_empty_queries() {
        let mut index = Hnsw::new(4);
        assert!(index.search(&[1.0, 0.0, 0.0, 0.0], 3, 10).is_empty());
        assert!(!index.insert(1, &[1.0, 2.0]));
        assert!(index.insert(1, &[0.0; 4]));
        assert!(index.search(&[1.0, 0.0], 3, 10).is_empty());
        assert_eq!(index.search(&[1.0, 0.0, 0.0, 0.0], 3, 10).len(), 1);
    }
}
