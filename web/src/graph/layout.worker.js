/*
 * Force-directed layout in a Web Worker (d3-force), so the page stays responsive with ~1000 nodes.
 * Protocol:
 *   in:  {type:'graph', gen, nodes:[{id,x,y,r}], links:[{source,target,weight}], alpha}  (whole graph; known ids keep
 *        their velocity; positions sent by the page win), {type:'drag', id, x, y}, {type:'release', id},
 *        {type:'stop'}
 *   out: {type:'positions', gen, ids (only after a 'graph'), xy: Float32Array [x0,y0,x1,y1,...], alpha}, {type:'end', gen}
 */
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY } from 'd3-force';

const FRAME_MS = 16;
let nodes = [];
let byId = new Map();
let sendIds = false;
let timer = 0;
let gen = 0; // echoed back, so the page can drop messages of a replaced layout

const sim = forceSimulation([])
  .alphaMin(0.004)
  .alphaDecay(1 - 0.004 ** (1 / 260))
  .velocityDecay(0.45)
  .stop();

function configure(links) {
  const n = nodes.length;
  const big = n > 400;
  sim.nodes(nodes)
    .force('charge', forceManyBody().strength(big ? -45 : -120).theta(big ? 1.1 : 0.9).distanceMax(big ? 500 : 900))
    .force('link', forceLink(links).id((d) => d.id)
      .distance((l) => 30 + (l.source.r || 10) + (l.target.r || 10) + (l.kind === 'TAGGED' ? 0 : 20))
      .strength((l) => 0.25 + 0.5 * Math.min(1, Math.max(0, l.weight ?? 1)) / Math.sqrt(Math.min(l.source.links, l.target.links) || 1)))
    .force('collide', big ? null : forceCollide((d) => d.r + 3).iterations(1))
    .force('x', forceX(0).strength(big ? 0.03 : 0.05))
    .force('y', forceY(0).strength(big ? 0.03 : 0.05));
}

function post() {
  const xy = new Float32Array(nodes.length * 2);
  nodes.forEach((d, i) => { xy[2 * i] = d.x; xy[2 * i + 1] = d.y; });
  const msg = { type: 'positions', gen, xy, alpha: sim.alpha() };
  if (sendIds) { msg.ids = nodes.map((d) => d.id); sendIds = false; }
  self.postMessage(msg, [xy.buffer]);
}

/** Runs as many ticks as fit in a frame's budget, posts the positions, and goes on until the layout cools. */
function loop() {
  timer = 0;
  const start = performance.now();
  do sim.tick(); while (performance.now() - start < FRAME_MS * 0.6 && sim.alpha() > sim.alphaMin());
  post();
  if (sim.alpha() > sim.alphaMin() || sim.alphaTarget() > 0) timer = setTimeout(loop, FRAME_MS);
  else self.postMessage({ type: 'end', gen });
}

const kick = () => { if (!timer) timer = setTimeout(loop, 0); };

self.onmessage = ({ data }) => {
  if (data.type === 'graph') {
    gen = data.gen;
    const next = data.nodes.map((n) => {
      const old = byId.get(n.id);
      return old ? Object.assign(old, { x: n.x, y: n.y, r: n.r, links: 0 }) : { ...n, links: 0 };
    });
    nodes = next;
    byId = new Map(nodes.map((d) => [d.id, d]));
    const links = data.links.filter((l) => byId.has(l.source) && byId.has(l.target)).map((l) => ({ ...l }));
    for (const l of links) { byId.get(l.source).links += 1; byId.get(l.target).links += 1; }
    configure(links);
    sim.alpha(Math.max(sim.alpha(), data.alpha ?? 1));
    sendIds = true;
    kick();
  } else if (data.type === 'drag') {
    const d = byId.get(data.id);
    if (!d) return;
    Object.assign(d, { fx: data.x, fy: data.y, x: data.x, y: data.y });
    sim.alphaTarget(0.15);
    if (sim.alpha() < 0.15) sim.alpha(0.15);
    kick();
  } else if (data.type === 'release') {
    const d = byId.get(data.id);
    if (d) { d.fx = null; d.fy = null; }
    sim.alphaTarget(0);
  } else if (data.type === 'stop') {
    clearTimeout(timer);
    timer = 0;
    sim.alpha(0);
  }
};
