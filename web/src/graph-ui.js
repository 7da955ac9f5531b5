/* The graph view: toolbar, legend, the accessible node list, and the model; the drawing is loaded lazily. */
import { api } from './api.js';
import { $, el, mediaFamily, muted, on, qs, reveal } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { reportError } from './message.js';
import { app } from './state.js';
import { EDGE_LOOK, FILE_LOOK } from './graph/look.js';

const GRAPH_MAX_NODES = 1000;
const EXPAND_MAX_NODES = 300;

const G = { nodes: new Map(), edges: new Map(), root: null, rootParams: null, seq: 0, renderer: null, loading: null, status: null };
const nodeKey = (id) => id.slice(id.indexOf(':') + 1);

function edgeKey(e) {
  const ends = ['TAGGED', 'BROADER'].includes(e.kind) ? [e.source, e.target] : [e.source, e.target].sort();
  return `${e.kind}|${ends[0]}|${ends[1]}`;
}

/** Loads Cytoscape and the layout worker the first time they are needed. */
async function renderer() {
  if (G.renderer) return G.renderer;
  G.loading ??= import('./graph/renderer.js').then(({ createRenderer }) => {
    G.renderer = createRenderer($('#graph-canvas'), {
      onExpand: (id) => { const n = G.nodes.get(id); if (n) expandNode(n); },
      onActivate: (id) => { const n = G.nodes.get(id); if (n) activateNode(n); },
      onLayoutState: (running) => { $('#graph-canvas').dataset.layout = running ? 'running' : 'done'; },
    });
    new ResizeObserver(() => G.renderer.resize()).observe($('#graph-wrap'));
    return G.renderer;
  });
  return G.loading;
}

const fetchGraph = (params, depth, max = GRAPH_MAX_NODES) => api(`/graph${qs({ ...params, depth, max_nodes: max })}`);

/** Opens the graph around {file: id} or {tag: name}. */
export async function openGraph(params) {
  app.showTab('graph');
  reveal($('.views'));
  resetGraph();
  const seq = G.seq;
  Object.assign(G, { rootParams: params, root: params.file ? `file:${params.file}` : `tag:${params.tag}` });
  setTitle('graph.loading');
  try {
    const [view, r] = await Promise.all([fetchGraph(params, Number($('#graph-depth').value) || 1), renderer()]);
    if (seq !== G.seq) return;
    const { nodes, edges } = mergeGraph(view || {});
    r.add(nodes, edges, null);
    r.setRoot(G.root);
    const label = G.nodes.get(G.root)?.label || params.tag || params.file;
    setTitle(params.file ? 'graph.aroundFile' : 'graph.aroundTag', { name: label });
    setStatus(view?.truncated ? { key: 'graph.truncated' } : null);
  } catch (e) {
    if (seq === G.seq) setTitle('graph.failed');
    reportError(e);
  }
}

function setTitle(key, params) {
  G.title = { key, params };
  $('#graph-title').textContent = t(key, params);
}

function setStatus(status) {
  G.status = status;
  const counts = G.nodes.size ? t('graph.counts', { nodes: G.nodes.size, edges: G.edges.size }) : '';
  $('#graph-status').textContent = [status ? t(status.key, status.params) : '', counts].filter(Boolean).join(' ');
  $('#graph-empty').hidden = G.nodes.size > 0;
  $('#graph-canvas').dataset.nodes = String(G.nodes.size);
}

function resetGraph() {
  G.nodes.clear();
  G.edges.clear();
  Object.assign(G, { seq: G.seq + 1, root: null });
  G.renderer?.reset();
  renderGraphList();
  setStatus(null);
}

/** Merges a GraphView into the model; returns the nodes and edges that are new. */
function mergeGraph(view) {
  const nodes = [];
  const edges = [];
  for (const n of view.nodes || []) {
    const old = G.nodes.get(n.id);
    if (old) { old.degree = Math.max(old.degree, n.degree || 0); continue; }
    const node = {
      id: n.id, kind: ['tag', 'folder'].includes(n.kind) ? n.kind : 'file', label: n.label || nodeKey(n.id),
      media_type: n.media_type || '', family: mediaFamily(n.media_type), degree: n.degree || 0,
    };
    G.nodes.set(n.id, node);
    nodes.push(node);
  }
  for (const e of view.edges || []) {
    const key = edgeKey(e);
    if (e.source === e.target || !G.nodes.has(e.source) || !G.nodes.has(e.target) || G.edges.has(key)) continue;
    const edge = { ...e, key };
    G.edges.set(key, edge);
    edges.push(edge);
  }
  if (nodes.length) renderGraphList(); // appends only the new ones
  return { nodes, edges };
}

/** The click action: fetch the neighbourhood (depth 1) of a node and merge it in around that node. */
async function expandNode(n) {
  if (!G.nodes.has(n.id)) return;
  const seq = G.seq;
  const r = await renderer();
  r.setExpanding(n.id, true);
  setStatus({ key: 'graph.expanding', params: { name: n.label } });
  try {
    const view = await fetchGraph({ [n.kind]: nodeKey(n.id) }, 1, EXPAND_MAX_NODES);
    if (seq !== G.seq) return;
    const { nodes, edges } = mergeGraph(view || {});
    r.add(nodes, edges, n.id);
    setStatus({ key: nodes.length ? 'graph.expanded' : 'graph.noNew', params: { n: nodes.length, name: n.label } });
  } catch (e) {
    setStatus(null);
    reportError(e);
  } finally {
    r.setExpanding(n.id, false);
  }
}

/** The double-click action: open a file, filter the file list by a tag, or expand a folder. */
function activateNode(n) {
  if (n.kind === 'file') app.openFile(nodeKey(n.id));
  else if (n.kind === 'folder') expandNode(n);
  else app.selectTag(nodeKey(n.id), { toggle: false });
}

export function removeGraphNode(id) {
  if (!G.nodes.delete(id)) return;
  for (const [key, e] of G.edges) if (e.source === id || e.target === id) G.edges.delete(key);
  G.renderer?.remove(id);
  $(`#graph-list li[data-node="${CSS.escape(id)}"]`)?.remove();
  setStatus(G.status);
}

const swatch = (n) => el('span', { class: `swatch ${n.kind === 'file' ? `file family-${n.family}` : n.kind}`, 'aria-hidden': 'true' });
const ACTIVATE = { file: ['graph.open', 'graph.openFile'], tag: ['graph.filter', 'graph.filterTag'], folder: ['graph.expand', 'graph.expandTitle'] };

function graphItem(n) {
  return el('li', { class: `graph-item ${n.kind}`, 'data-node': n.id },
    swatch(n),
    el('button', {
      type: 'button', class: 'link graph-node', text: n.label, 'data-node': n.id,
      title: t('graph.expandTitle', { name: n.label }), onclick: () => expandNode(n),
    }),
    muted(n.kind === 'file' ? n.media_type || t('graph.file') : t(`graph.${n.kind}`), 'span'),
    el('button', {
      type: 'button', class: 'small graph-activate', text: t(ACTIVATE[n.kind][0]), onclick: () => activateNode(n),
      'aria-label': t(ACTIVATE[n.kind][1], { name: n.label }),
    }));
}

/** The accessible list of nodes: the label button expands (like a click), the second button opens or filters. */
function renderGraphList() {
  const list = $('#graph-list');
  const shown = new Set([...list.children].map((li) => li.dataset.node));
  if (shown.size > G.nodes.size || [...shown].some((id) => !G.nodes.has(id))) { list.replaceChildren(); shown.clear(); }
  const frag = document.createDocumentFragment();
  for (const n of G.nodes.values()) if (!shown.has(n.id)) frag.append(graphItem(n));
  list.append(frag);
}

function buildLegend() {
  const items = Object.keys(FILE_LOOK).map((family) => el('span', { class: 'legend-item' },
    el('span', { class: `swatch file family-${family}`, 'aria-hidden': 'true' }), t(`legend.${family}`)));
  items.push(el('span', { class: 'legend-item' }, el('span', { class: 'swatch tag', 'aria-hidden': 'true' }), t('legend.tag')));
  items.push(el('span', { class: 'legend-item' }, el('span', { class: 'swatch folder', 'aria-hidden': 'true' }), t('legend.folder')));
  for (const kind of Object.keys(EDGE_LOOK)) {
    items.push(el('span', { class: 'legend-item' }, el('span', { class: `legend-line edge-${kind}`, 'aria-hidden': 'true' }), t(`legend.${kind}`)));
  }
  $('#graph-legend').replaceChildren(...items);
}

export function bindGraph() {
  on('#graph-fit', 'click', () => G.renderer?.fit());
  on('#graph-relayout', 'click', () => G.renderer?.relayout());
  on('#graph-depth', 'change', () => { if (G.rootParams) openGraph(G.rootParams); });
  buildLegend();
  Object.assign(app, { openGraph, removeGraphNode, resizeGraph: () => G.renderer?.resize() });
  onLanguageChange(() => {
    buildLegend();
    if (G.title) setTitle(G.title.key, G.title.params);
    setStatus(G.status);
    $('#graph-list').replaceChildren();
    renderGraphList();
  });
  // A small hook for the browser tests and the perf script (read-only facts and a programmatic pan).
  window.__graphfs = {
    graphSize: () => ({ nodes: G.nodes.size, edges: G.edges.size, drawn: G.renderer?.size() ?? { nodes: 0, edges: 0 } }),
    layoutRunning: () => Boolean(G.renderer?.layoutRunning()),
    panBy: (x, y) => G.renderer?.panBy(x, y),
    nodePosition: (id) => G.renderer?.renderedPosition(id) ?? null,
    nodeIds: () => [...G.nodes.keys()],
    openGraph: (params) => openGraph(params),
  };
}
