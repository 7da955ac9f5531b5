// Performance report of the web page (for `make bench`; run through `run.sh perf`, which starts graphfs):
//  - page weight: bytes transferred by the initial load (navigation + resources), and what was loaded lazily;
//  - time to interactive: navigation start to the sign-in form usable, and (signed in) to the file list rendered;
//  - a ~1000-node graph: time to draw and lay it out, and frame times (requestAnimationFrame deltas) while
//    panning it programmatically for ~3 s, and while the layout worker runs.
// The server caps a tag's files at 50 per hop, so the seed is a hub tag plus group tags of ~20 files each, and the
// graph is opened at depth 3 (hub -> files -> groups -> their files).
// Writes the report to $GRAPHFS_ARTIFACTS_DIR/perf.txt (run.sh: ${GRAPHFS_ARTIFACTS:-test-artifacts}/browser/perf.txt).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { apiCall, env, launch } from './helpers.mjs';

const FILES = Number(process.env.GRAPHFS_PERF_FILES || 940);
const GROUPS = Number(process.env.GRAPHFS_PERF_GROUPS || 48);
const PAN_MS = Number(process.env.GRAPHFS_PERF_PAN_MS || 3000);
const HUB = 'perf-hub';

const lines = [];
const out = (s = '') => { lines.push(s); console.log(s); };
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const ms = (v) => `${v.toFixed(1)} ms`;

function stats(deltas) {
  const d = [...deltas].sort((a, b) => a - b);
  const q = (p) => d[Math.min(d.length - 1, Math.floor(p * d.length))];
  const mean = d.reduce((a, b) => a + b, 0) / (d.length || 1);
  return { n: d.length, p50: q(0.5), p95: q(0.95), max: d[d.length - 1], fps: 1000 / mean, long: d.filter((x) => x > 50).length };
}
const fmtStats = (s) => `${s.n} frames, p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, max ${ms(s.max)}, mean ${s.fps.toFixed(1)} fps, ${s.long} over 50 ms`;

async function pool(n, items, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) { const k = i; i += 1; await fn(items[k], k); } }));
}

async function seed() {
  const t0 = Date.now();
  const words = ['river', 'mountain', 'ledger', 'orbit', 'harvest', 'signal', 'copper', 'meadow', 'lantern', 'glacier'];
  await pool(16, Array.from({ length: FILES }, (_, i) => i), async (i) => {
    const body = `perf file ${i}: ${words[i % words.length]} ${words[(i * 7) % words.length]} report number ${i}\n`;
    const r = await apiCall('POST', `/files?name=${encodeURIComponent(`perf-${String(i).padStart(4, '0')}.txt`)}`,
      { body, headers: { 'Content-Type': 'text/plain' } });
    if (r.status >= 300) throw new Error(`seed upload ${i}: HTTP ${r.status}`);
    const p = await apiCall('PATCH', `/files/${r.body.id}`, { json: { add_tags: [HUB, `group-${i % GROUPS}`] } });
    if (p.status >= 300) throw new Error(`seed tag ${i}: HTTP ${p.status}`);
  });
  return Date.now() - t0;
}

async function main() {
  out(`GraphFS web page performance (${new Date().toISOString()})`);
  out(`page: ${env.url}  chromium: ${env.chromium}`);
  const seededMs = await seed();
  const view = (await apiCall('GET', `/graph?tag=${HUB}&depth=3&max_nodes=1000`)).body;
  out(`seeded ${FILES} files with user tags (${GROUPS} groups + a hub) in ${(seededMs / 1000).toFixed(1)} s; `
    + `GET /graph?tag=${HUB}&depth=3 -> ${view.nodes.length} nodes, ${view.edges.length} edges${view.truncated ? ' (truncated)' : ''}`);

  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'en-US' });
    await context.addInitScript(() => {
      // when the page says it is ready (sign-in form, or the app with its file list), note performance.now()
      window.__perfMarks = {};
      new MutationObserver(() => {
        const ready = document.body?.dataset.ready;
        if (ready && !window.__perfMarks[ready]) window.__perfMarks[ready] = performance.now();
        if (!window.__perfMarks.rows && document.querySelector('#file-list .file-row')) window.__perfMarks.rows = performance.now();
      }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready'] });
    });
    const page = await context.newPage();

    // --- cold load: weight and time to the usable sign-in form
    await page.goto(env.url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="signin"]');
    const load = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const sum = (list, k) => list.reduce((a, e) => a + (e[k] || 0), 0);
      return {
        navTransfer: nav.transferSize, navBody: nav.decodedBodySize,
        transfer: nav.transferSize + sum(res, 'transferSize'), decoded: nav.decodedBodySize + sum(res, 'decodedBodySize'),
        files: [nav, ...res].map((e) => `${new URL(e.name).pathname} ${e.transferSize} B`),
        domContentLoaded: nav.domContentLoadedEventEnd, loadEnd: nav.loadEventEnd, signin: window.__perfMarks.signin,
      };
    });
    out('');
    out(`page weight (initial load, ${load.files.length} requests): ${kb(load.transfer)} transferred, ${kb(load.decoded)} decoded`);
    for (const f of load.files) out(`  ${f}`);
    out(`time to interactive (sign-in form usable): ${ms(load.signin)}  (DOMContentLoaded ${ms(load.domContentLoaded)}, load ${ms(load.loadEnd)})`);

    // --- signed in: time to the file list
    await page.fill('#token-input', env.token);
    await page.click('#sign-in');
    await page.waitForSelector('#file-list .file-row');
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#file-list .file-row');
    const warm = await page.evaluate(() => ({ app: window.__perfMarks.app, rows: window.__perfMarks.rows }));
    out(`time to file list rendered (signed in, reload with warm cache): ${ms(warm.rows)} (app shown ${ms(warm.app)})`);

    // --- the graph
    await page.click('#tab-graph');
    await page.selectOption('#graph-depth', '3');
    const before = await page.evaluate(() => performance.getEntriesByType('resource').length);
    const graph = await page.evaluate(async (hub) => {
      const deltas = [];
      let last = performance.now();
      let sampling = true;
      const tick = (now) => { deltas.push(now - last); last = now; if (sampling) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      const t0 = performance.now();
      await window.__graphfs.openGraph({ tag: hub });
      const drawn = performance.now() - t0;
      await new Promise((resolve) => {
        const wait = () => (window.__graphfs.layoutRunning() ? setTimeout(wait, 50) : resolve());
        wait();
      });
      const settled = performance.now() - t0;
      sampling = false;
      return { drawn, settled, size: window.__graphfs.graphSize(), deltas: deltas.slice(1) };
    }, HUB);
    const lazy = await page.evaluate((n) => performance.getEntriesByType('resource').slice(n)
      .filter((e) => !e.name.includes('/api/')).map((e) => `${new URL(e.name).pathname} ${e.transferSize} B`), before);
    out('');
    out(`graph: ${graph.size.nodes} nodes, ${graph.size.edges} edges; fetched and drawn in ${ms(graph.drawn)}, layout settled after ${ms(graph.settled)}`);
    out(`lazily loaded for the graph: ${lazy.join(', ') || '(none: cached)'}`);
    out(`frame times while the layout ran (worker): ${fmtStats(stats(graph.deltas))}`);

    const pan = await page.evaluate(async (duration) => {
      const deltas = [];
      await new Promise((resolve) => {
        let last = performance.now();
        const t0 = last;
        const frame = (now) => {
          deltas.push(now - last);
          last = now;
          const t = (now - t0) / 1000;
          window.__graphfs.panBy(Math.cos(t * 2.1) * 9, Math.sin(t * 1.7) * 7);
          if (now - t0 < duration) requestAnimationFrame(frame); else resolve();
        };
        requestAnimationFrame(frame);
      });
      return deltas.slice(1);
    }, PAN_MS);
    out(`frame times while panning the ${graph.size.nodes}-node graph for ${PAN_MS / 1000} s: ${fmtStats(stats(pan))}`);
    await page.screenshot({ path: path.join(env.artifacts, 'perf-graph.png') });
  } finally {
    await browser.close();
  }
  writeFileSync(path.join(env.artifacts, 'perf.txt'), `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${path.join(env.artifacts, 'perf.txt')}`);
}

await main();
