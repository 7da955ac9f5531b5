/*
 * The graph drawing: Cytoscape.js (canvas renderer) for drawing and interaction, a d3-force Web Worker for the
 * layout. Loaded with import() the first time a graph is opened, so the initial page stays small.
 */
import cytoscape from 'cytoscape';
import { EDGE_LOOK, FILE_LOOK, FOLDER_LOOK, TAG_LOOK, nodeSize } from './look.js';

const FILE_FAMILIES = Object.keys(FILE_LOOK);

function stylesheet() {
  const s = [
    {
      selector: 'node',
      style: {
        width: 'data(size)', height: 'data(size)', label: 'data(short)', 'font-size': 10, color: '#1f2937',
        'text-valign': 'bottom', 'text-margin-y': 3, 'text-outline-color': '#ffffff', 'text-outline-width': 2,
        'min-zoomed-font-size': 7, 'border-width': 1.5, 'border-color': '#ffffff', 'overlay-opacity': 0,
      },
    },
    {
      selector: 'node[kind = "tag"]',
      style: {
        shape: TAG_LOOK.shape, 'background-color': TAG_LOOK.color, 'border-color': TAG_LOOK.border,
        color: TAG_LOOK.text, 'font-weight': 'bold', 'font-size': 11,
      },
    },
    {
      selector: 'node[kind = "folder"]',
      style: {
        shape: FOLDER_LOOK.shape, 'background-color': FOLDER_LOOK.color, 'border-color': FOLDER_LOOK.border,
        color: FOLDER_LOOK.text, 'font-weight': 'bold', 'font-size': 11,
      },
    },
    ...FILE_FAMILIES.map((f) => ({
      selector: `node[family = "${f}"]`,
      style: { shape: FILE_LOOK[f].shape, 'background-color': FILE_LOOK[f].color },
    })),
    { selector: 'node.root', style: { 'border-width': 3, 'border-color': '#111827' } },
    { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#2457c5' } },
    { selector: 'node.expanding', style: { 'border-style': 'dashed', 'border-color': '#111827', 'border-width': 3 } },
    {
      selector: 'edge',
      style: {
        'curve-style': 'haystack', 'haystack-radius': 0, width: 'data(width)', opacity: 'data(opacity)',
        'line-color': EDGE_LOOK.TAGGED.color,
      },
    },
    ...Object.entries(EDGE_LOOK).map(([kind, look]) => ({
      selector: `edge[kind = "${kind}"]`,
      style: { 'line-color': look.color, 'line-style': look.style },
    })),
  ];
  return s;
}

// Cytoscape adds a <style> element unless one with this id exists; the page's CSP (style-src 'self') would block
// it, and the rule it carries (position: relative) is in app.css, so a placeholder with that id is put first.
const CY_STYLESHEET_ID = '__________cytoscape_stylesheet';

const short = (label) => (label.length > 24 ? `${label.slice(0, 23)}…` : label);

export function createRenderer(container, { onExpand, onActivate, onLayoutState }) {
  if (!document.getElementById(CY_STYLESHEET_ID)) {
    const placeholder = document.createElement('meta');
    placeholder.id = CY_STYLESHEET_ID;
    document.head.append(placeholder);
  }
  const cy = cytoscape({
    container,
    style: stylesheet(),
    layout: { name: 'preset' },
    minZoom: 0.03,
    maxZoom: 6,
    textureOnViewport: true,
    hideEdgesOnViewport: false,
    motionBlur: false,
    pixelRatio: 'auto',
    selectionType: 'single',
    boxSelectionEnabled: false,
  });
  const worker = new Worker(new URL('./layout.worker.js', import.meta.url), { type: 'module' });
  const r = {
    cy, running: false, autoFit: true, ids: [], latest: null, raf: 0, frames: 0, programmatic: false, grabbed: new Set(), gen: 0, lastApply: 0,
  };

  // Big graphs take a full redraw per position update, so they get at most ~12 updates a second while the
  // layout runs; the frames in between stay free for panning and zooming.
  const BIG_GRAPH = 400;
  const BIG_GRAPH_GAP_MS = 80;
  function scheduleApply() { if (!r.raf) r.raf = requestAnimationFrame(applyPositions); }

  function applyPositions(now = performance.now()) {
    r.raf = 0;
    if (r.latest && !r.latest.final && r.ids.length > BIG_GRAPH && now - r.lastApply < BIG_GRAPH_GAP_MS) { scheduleApply(); return; }
    r.lastApply = now;
    const msg = r.latest;
    if (!msg) return;
    r.latest = null;
    if (msg.ids) r.ids = msg.ids;
    const { xy } = msg;
    cy.batch(() => {
      for (let i = 0; i < r.ids.length; i += 1) {
        if (r.grabbed.has(r.ids[i])) continue;
        const n = cy.getElementById(r.ids[i]);
        if (n.nonempty()) n.position({ x: xy[2 * i], y: xy[2 * i + 1] });
      }
    });
    r.frames += 1;
    if (r.autoFit && (r.frames < 20 || r.frames % 8 === 0)) fit();
  }

  worker.onmessage = ({ data }) => {
    if (data.gen !== r.gen) return; // from a layout that has since been replaced
    if (data.type === 'positions') {
      r.latest = data.ids || !r.latest?.ids ? data : { ...data, ids: r.latest.ids };
      scheduleApply();
    } else if (data.type === 'end') {
      // settle synchronously: the last positions, the final fit, then "done" (tests read positions after it)
      if (r.raf) { cancelAnimationFrame(r.raf); r.raf = 0; }
      if (r.latest) { r.latest.final = true; applyPositions(); }
      if (r.autoFit) fit();
      r.running = false;
      onLayoutState(false);
    }
  };

  function fit() {
    if (cy.elements().empty()) return;
    r.programmatic = true;
    cy.fit(undefined, 30);
    if (cy.zoom() > 1.6) cy.zoom({ level: 1.6, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
    r.programmatic = false;
  }

  function sendGraph(alpha) {
    const nodes = cy.nodes().map((n) => ({ id: n.id(), x: n.position('x'), y: n.position('y'), r: n.data('size') / 2 }));
    const links = cy.edges().map((e) => ({ source: e.data('source'), target: e.data('target'), weight: e.data('weight'), kind: e.data('kind') }));
    r.gen += 1;
    worker.postMessage({ type: 'graph', gen: r.gen, nodes, links, alpha });
    if (!r.running) { r.running = true; onLayoutState(true); }
  }

  const nodeData = (n) => ({
    id: n.id, kind: n.kind, label: n.label, short: short(n.label), family: n.kind === 'file' ? n.family : n.kind,
    degree: n.degree, size: nodeSize(n.kind, n.degree),
  });
  const edgeData = (e) => {
    const w = Math.min(1, Math.max(0, e.weight ?? 1));
    return {
      id: e.key, source: e.source, target: e.target, kind: e.kind, weight: w,
      width: e.kind === 'TAGGED' ? 1 : 1 + 1.5 * w, opacity: 0.35 + 0.55 * w,
    };
  };

  /** Adds nodes and edges. New nodes start near `anchorId` when given (an expand), else on a spiral. */
  function add(nodes, edges, anchorId) {
    const anchor = anchorId ? cy.getElementById(anchorId) : null;
    const base = anchor?.nonempty() ? anchor.position() : null;
    const start = cy.nodes().length;
    const els = [];
    nodes.forEach((n, i) => {
      const existing = cy.getElementById(n.id);
      if (existing.nonempty()) { existing.data(nodeData(n)); return; }
      const k = start + i;
      const pos = base
        ? { x: base.x + (Math.random() - 0.5) * 80, y: base.y + (Math.random() - 0.5) * 80 }
        : { x: 14 * Math.sqrt(k + 0.5) * Math.cos(k * 2.39996), y: 14 * Math.sqrt(k + 0.5) * Math.sin(k * 2.39996) };
      els.push({ group: 'nodes', data: nodeData(n), position: pos });
    });
    for (const e of edges) if (cy.getElementById(e.key).empty()) els.push({ group: 'edges', data: edgeData(e) });
    cy.batch(() => cy.add(els));
    sendGraph(base ? 0.35 : 1);
  }

  function reset() {
    worker.postMessage({ type: 'stop' });
    r.gen += 1;
    if (r.running) { r.running = false; onLayoutState(false); }
    r.latest = null;
    r.ids = [];
    r.frames = 0;
    r.autoFit = true;
    cy.elements().remove();
  }

  cy.on('onetap', 'node', (e) => onExpand(e.target.id()));
  cy.on('dbltap', 'node', (e) => onActivate(e.target.id()));
  cy.on('grab', 'node', (e) => { r.grabbed.add(e.target.id()); r.autoFit = false; });
  cy.on('drag', 'node', (e) => {
    const p = e.target.position();
    worker.postMessage({ type: 'drag', id: e.target.id(), x: p.x, y: p.y });
  });
  cy.on('free', 'node', (e) => { r.grabbed.delete(e.target.id()); worker.postMessage({ type: 'release', id: e.target.id() }); });
  cy.on('viewport', () => { if (!r.programmatic) r.autoFit = false; });

  return {
    cy,
    reset,
    add,
    setRoot(id) { cy.nodes('.root').removeClass('root'); cy.getElementById(id).addClass('root'); },
    setExpanding(id, on) { cy.getElementById(id).toggleClass('expanding', on); },
    remove(id) { cy.getElementById(id).remove(); sendGraph(0.1); },
    fit() { r.autoFit = false; fit(); },
    relayout() {
      cy.nodes().forEach((n, k) => { n.position({ x: 14 * Math.sqrt(k + 0.5) * Math.cos(k * 2.39996), y: 14 * Math.sqrt(k + 0.5) * Math.sin(k * 2.39996) }); });
      r.autoFit = true;
      r.frames = 0;
      sendGraph(1);
    },
    resize() { cy.resize(); },
    size: () => ({ nodes: cy.nodes().length, edges: cy.edges().length }),
    layoutRunning: () => r.running,
    panBy(x, y) { cy.panBy({ x, y }); },
    renderedPosition(id) { const n = cy.getElementById(id); return n.nonempty() ? n.renderedPosition() : null; },
    select(id) { cy.$(':selected').unselect(); cy.getElementById(id).select(); },
  };
}
