// End-to-end tests of the web page in headless Chromium. Run with run.sh (it starts graphfs and sets the env).
// The steps share one signed-in page and run in order; each asserts on the page and, where it matters, on the API.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiCall, env, launch, makeFixtureFolder, missingRoute, tinyPdf, tinyPng, uploadRaw, waitFor } from './helpers.mjs';

let browser;
let context;
let page;
const problems = []; // page errors and CSP violations, checked at the end
const fixture = makeFixtureFolder();
const ids = {}; // file name -> id, once uploaded

async function dismissMessage() {
  if (await page.isVisible('#message')) await page.click('#message-close');
}

const shot = (name) => page.screenshot({ path: path.join(env.artifacts, `${name}.png`) });
const fileRow = (name) => page.locator(`#file-list .file-row[data-name="${name}"]`);

async function openFileByName(name) {
  if (await page.isHidden('#files-view')) await page.click('#tab-files');
  await fileRow(name).locator('.file-name').click();
  await page.waitForFunction((n) => document.querySelector('#panel-title')?.textContent === n
    && !document.querySelector('#file-panel').hasAttribute('aria-busy'), name);
}

async function tagsOf(id) {
  const r = await apiCall('GET', `/files/${id}`);
  assert.equal(r.status, 200);
  return r.body.tags;
}

describe('GraphFS web page', () => {
  before(async () => {
    browser = await launch();
    context = await browser.newContext({
      viewport: { width: 1400, height: 1000 }, acceptDownloads: true, locale: 'en-US', reducedMotion: 'reduce',
    });
    await context.exposeFunction('__reportCsp', (text) => problems.push(`csp: ${text}`));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__reportCsp(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(`csp: ${m.text()}`); });
  });

  after(async () => {
    await browser?.close();
  });

  test('the sign-in form rejects a bad token and accepts the right one (kept in sessionStorage, never in the URL)', async () => {
    await page.goto(env.url);
    await page.waitForSelector('body[data-ready="signin"]');
    await shot('signin');
    await page.fill('#token-input', 'not-the-token');
    await page.click('#sign-in');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message-text'), /not accepted/i);
    assert.equal(await page.isVisible('#app-view'), false);

    await page.fill('#token-input', env.token);
    await page.click('#sign-in');
    await page.waitForSelector('#app-view:not([hidden])');
    assert.match(await page.textContent('#current-user'), /dev/);
    assert.ok(!page.url().includes(env.token), 'the token must not be in the URL');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('graphfs.token')), env.token);
    assert.equal(await page.evaluate(() => localStorage.getItem('graphfs.token')), null);
    // the limit from /me is shown
    assert.match(await page.textContent('#drop-limit'), /KB per file/);
  });

  test('uploading a folder (with nested subfolders) shows per-file progress reaching done', async () => {
    await page.setInputFiles('#folder-input', fixture.dir);
    const expected = Object.keys(fixture.files).map((rel) => `expedition/${rel}`);
    await page.waitForFunction((n) => document.querySelectorAll('#upload-list .upload-row[data-state="done"]').length === n,
      expected.length, { timeout: 30000 });
    const rows = await page.$$eval('#upload-list .upload-row', (els) => els.map((r) => ({
      path: r.dataset.path, state: r.dataset.state, progress: r.querySelector('progress').value, id: r.dataset.id,
    })));
    assert.deepEqual(rows.map((r) => r.path).sort(), expected.sort());
    assert.ok(rows.some((r) => r.path.includes('/logs/deep/')), 'a file two folders deep was uploaded');
    for (const r of rows) {
      assert.equal(r.state, 'done');
      assert.equal(r.progress, 100);
      ids[path.basename(r.path)] = r.id;
    }
    assert.equal(await page.$eval('#overall-progress', (p) => p.value), 100);
    assert.match(await page.textContent('#overall-text'), /4 of 4 uploaded/);
    for (const name of Object.keys(ids)) assert.match(ids[name], /^[0-9a-f]{32}$/);
    // The folders came along: the server keeps each file's path.
    const budget = await apiCall('GET', `/files/${ids['budget.csv']}`);
    assert.equal(budget.body.folder, '/expedition/logs/deep');
    const zebra = await apiCall('GET', `/files/${ids['zebra.txt']}`);
    assert.equal(zebra.body.folder, '/expedition');
  });

  test('tagging status updates live: rows turn done and get tag chips without a reload', async () => {
    const marker = await page.evaluate(() => { window.__noReload = 1; return 1; });
    assert.equal(marker, 1);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#file-list .file-row')];
      return rows.length >= 4 && rows.every((r) => r.dataset.status === 'done' && r.querySelector('.tag-chip'));
    }, null, { timeout: 60000 });
    assert.equal(await page.evaluate(() => window.__noReload), 1, 'the page was not reloaded');
    const chips = await fileRow('zebra.txt').locator('.tag-chip').allTextContents();
    assert.ok(chips.includes('zebrafish'), `zebra.txt tags: ${chips}`);
    // the sidebar learns the new tags too
    await page.waitForSelector('#tags-list .tag-link[data-tag="lighthouse"]');
    await shot('files');
  });

  test('refused files get a clear message: over the size limit (checked before sending) and a bad name (server problem)', async () => {
    assert.ok(env.maxUpload > 0, 'run.sh starts the server with --max-upload-bytes');
    await page.click('#clear-uploads');
    await page.setInputFiles('#file-input', [
      { name: 'huge.txt', mimeType: 'text/plain', buffer: Buffer.alloc(env.maxUpload + 1000, 120) },
      { name: 'bad\u0001name.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
    ]);
    const huge = page.locator('#upload-list .upload-row[data-path="huge.txt"]');
    await huge.locator('.upload-error').waitFor();
    assert.equal(await huge.getAttribute('data-state'), 'refused');
    assert.match(await huge.locator('.upload-error').textContent(), /larger than this server.s limit/);
    const bad = page.locator('#upload-list .upload-row').filter({ hasText: 'name.txt' });
    await bad.locator('.upload-error:not([hidden])').waitFor();
    assert.equal(await bad.getAttribute('data-state'), 'error');
    assert.match(await bad.locator('.upload-error').textContent(), /Invalid name: .*control character/i);
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message-text'), /were not uploaded|was not uploaded/);
    await shot('upload-refused');
    const list = await apiCall('GET', '/files?limit=200');
    assert.ok(!list.body.items.some((f) => f.name === 'huge.txt'), 'the refused file is not on the server');
    await page.click('#message-close');
  });

  test('search as you type highlights a word that only one file contains, with facets and a type filter', async () => {
    await page.locator('#search-input').pressSequentially('zebrafi', { delay: 40 });
    await page.waitForFunction(() => document.querySelector('#search-results mark'));
    const hits = await page.$$eval('#search-results .search-hit', (els) => els.map((e) => e.querySelector('.hit-name').textContent));
    assert.deepEqual(hits, ['zebra.txt']);
    const marks = await page.$$eval('#search-results mark', (els) => els.map((e) => e.textContent.toLowerCase()));
    assert.ok(marks.some((m) => m.startsWith('zebrafi')), `marks: ${marks}`);
    // the snippet is text with <mark> elements only: no server HTML is parsed
    assert.equal(await page.$$eval('#search-results .snippet *', (els) => els.every((e) => e.localName === 'mark')), true);
    await shot('search');
    // "lighthouse" is in three files; a facet narrows the hits down
    await page.fill('#search-input', 'lighthouse');
    await page.waitForFunction(() => /lighthouse/.test(document.querySelector('#search-status').textContent)
      && document.querySelectorAll('#search-results .search-hit').length >= 2);
    const all = await page.locator('#search-results .search-hit').count();
    const facet = page.locator('#search-facets .facet[data-tag="csv"]');
    if (await facet.count()) {
      await facet.click();
      assert.equal(await facet.getAttribute('aria-pressed'), 'true');
      assert.ok(await page.locator('#search-results .search-hit').count() < all);
      await facet.click();
    }
    await page.selectOption('#search-media', 'image');
    await page.waitForFunction(() => document.querySelectorAll('#search-results .search-hit').length === 0);
    await page.selectOption('#search-media', '');
    assert.equal(await page.locator('#search-results .search-hit').count(), all);
    await page.click('#search-clear');
    assert.equal(await page.isVisible('#search-section'), false);
  });

  test('the file panel previews text safely, and Markdown as formatted text', async () => {
    await openFileByName('page.html');
    const pre = page.locator('#panel-preview [data-testid="text-preview"]');
    await pre.waitFor();
    assert.match(await pre.textContent(), /<script>window.__pwned = true<\/script>/, 'HTML is shown as text');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script from a file ran');
    assert.equal(await page.locator('#panel-preview script').count(), 0);
    await openFileByName('notes.md');
    await page.locator('#panel-preview [data-testid="markdown-preview"] strong').waitFor();
    assert.equal(await page.locator('#panel-preview [data-testid="markdown-preview"] strong').textContent(), 'lighthouse');
    const tags = await page.$$eval('#panel-tags .tag-chip', (els) => els.map((e) => e.dataset.source));
    assert.ok(tags.length > 0 && tags.every((s) => ['user', 'keyword', 'metadata', 'llm', 'taxonomy'].includes(s)));
    assert.match(await page.textContent('#panel-meta'), /text\/markdown/);
    await shot('panel');
  });

  test('images and PDFs preview from blob URLs (PDF first page drawn by pdf.js in its worker)', async () => {
    const png = await uploadRaw('red.png', tinyPng(), 'image/png');
    const pdf = await uploadRaw('square.pdf', tinyPdf(), 'application/pdf');
    await page.selectOption('#sort', 'name'); // reload the list
    await page.selectOption('#sort', 'created');
    await fileRow('red.png').waitFor();
    await openFileByName('red.png');
    const img = page.locator('#panel-preview img');
    await img.waitFor();
    assert.match(await img.getAttribute('src'), /^blob:/);
    await page.waitForFunction(() => document.querySelector('#panel-preview img')?.naturalWidth === 8);
    await openFileByName('square.pdf');
    await page.waitForFunction(() => /First page of 1 page/.test(document.querySelector('#panel-preview')?.textContent || ''), null, { timeout: 20000 });
    const blue = await page.$eval('#panel-preview canvas', (c) => {
      const d = c.getContext('2d').getImageData(Math.floor(c.width / 2), Math.floor(c.height / 2), 1, 1).data;
      return d[2] > 200 && d[0] < 60 && d[1] < 60;
    });
    assert.ok(blue, 'the PDF page (a blue square) was drawn');
    await shot('panel-pdf');
    await apiCall('DELETE', `/files/${png.id}`);
    await apiCall('DELETE', `/files/${pdf.id}`);
  });

  test('the graph opens from a file; clicking a tag node on the canvas expands it', async () => {
    await openFileByName('zebra.txt');
    await page.click('#show-graph');
    await page.waitForFunction(() => window.__graphfs.graphSize().drawn.nodes > 1);
    await page.waitForFunction(() => !window.__graphfs.layoutRunning(), null, { timeout: 20000 });
    const before = await page.evaluate(() => window.__graphfs.graphSize());
    assert.equal(await page.locator('#graph-list li').count(), before.nodes, 'the list view shows the same nodes');
    assert.match(await page.textContent('#graph-title'), /zebra\.txt/);
    await shot('graph');

    // Re-open around notes.md, whose "lighthouse" tag is shared with other files; pick the tag node whose
    // neighbourhood (per the API) brings the most nodes that are not drawn yet, and click it on the canvas.
    await openFileByName('notes.md');
    await page.click('#show-graph');
    await page.waitForFunction((id) => window.__graphfs.nodeIds().includes(id), `file:${ids['notes.md']}`);
    await page.waitForFunction(() => !window.__graphfs.layoutRunning(), null, { timeout: 20000 });
    const start = await page.evaluate(() => window.__graphfs.graphSize());
    const shownIds = new Set(await page.evaluate(() => window.__graphfs.nodeIds()));
    let best = null;
    for (const id of shownIds) {
      if (!id.startsWith('tag:')) continue;
      const view = (await apiCall('GET', `/graph?tag=${encodeURIComponent(id.slice(4))}&depth=1&max_nodes=300`)).body;
      const fresh = view.nodes.filter((n) => !shownIds.has(n.id)).map((n) => n.id);
      if (!best || fresh.length > best.fresh.length) best = { id, fresh };
    }
    assert.ok(best && best.fresh.length > 0, 'some tag of notes.md leads to more nodes');
    const box = await page.locator('#graph-canvas').boundingBox();
    const pos = await page.evaluate((id) => window.__graphfs.nodePosition(id), best.id);
    await page.mouse.click(box.x + pos.x, box.y + pos.y);
    await page.waitForFunction((n) => window.__graphfs.graphSize().nodes > n, start.nodes, { timeout: 15000 })
      .catch(async (e) => { throw new Error(`${e.message}; expanding ${best.id}; status: ${await page.textContent('#graph-status')}`); });
    const grown = await page.evaluate(() => window.__graphfs.graphSize());
    assert.equal(grown.nodes, start.nodes + best.fresh.length, `${JSON.stringify(start)} -> ${JSON.stringify(grown)}`);
    assert.ok(grown.edges > start.edges);
    await page.waitForFunction((n) => document.querySelectorAll('#graph-list li').length === n, grown.nodes);
    const listed = new Set(await page.$$eval('#graph-list li', (els) => els.map((e) => e.dataset.node)));
    for (const id of best.fresh) assert.ok(listed.has(id), `${id} is in the list view`);
    assert.match(await page.textContent('#graph-status'), /new node/);
    await page.click('#graph-fit');
    // keyboard path: the list's buttons expand and open
    await page.locator(`#graph-list li[data-node="file:${ids['notes.md']}"] .graph-activate`).click();
    await page.waitForFunction(() => document.querySelector('#panel-title')?.textContent === 'notes.md');
    await page.waitForFunction(() => !window.__graphfs.layoutRunning(), null, { timeout: 20000 });
    await shot('graph-expanded');
  });

  test('double-clicking a file node opens its panel', async () => {
    const id = `file:${ids['zebra.txt']}`;
    await page.evaluate(() => window.__graphfs.openGraph({ tag: 'zebrafish' }));
    await page.waitForFunction((n) => window.__graphfs.nodeIds().includes(n), id);
    await page.waitForFunction(() => !window.__graphfs.layoutRunning(), null, { timeout: 20000 });
    const box = await page.locator('#graph-canvas').boundingBox();
    const pos = await page.evaluate((n) => window.__graphfs.nodePosition(n), id);
    await page.mouse.dblclick(box.x + pos.x, box.y + pos.y);
    await page.waitForFunction(() => document.querySelector('#panel-title')?.textContent === 'zebra.txt');
  });

  test('a file is IN its folder in the graph, and the folder node expands to its subfolders and files', async () => {
    const folderId = 'folder:/expedition';
    await page.evaluate((id) => window.__graphfs.openGraph({ file: id }), ids['notes.md']);
    await page.waitForFunction((n) => window.__graphfs.nodeIds().includes(n), folderId);
    await page.waitForFunction(() => !window.__graphfs.layoutRunning(), null, { timeout: 20000 });
    const view = (await apiCall('GET', '/graph?folder=/expedition&depth=1&max_nodes=300')).body;
    const nodes = view.nodes.map((n) => n.id);
    assert.ok(nodes.includes('folder:/expedition/logs') && nodes.includes(`file:${ids['zebra.txt']}`), JSON.stringify(nodes));
    assert.ok(view.edges.some((e) => e.kind === 'IN' && e.source === `file:${ids['notes.md']}` && e.target === folderId));
    await page.locator(`#graph-list li[data-node="${folderId}"] .graph-activate`).click();
    await page.waitForFunction((want) => want.every((id) => window.__graphfs.nodeIds().includes(id)), nodes);
  });

  test('browsing folders: breadcrumbs and subfolders list the files directly in a folder, and a file dropped there goes into it', async (t) => {
    // Whatever happens here, the steps after this one see every folder's files.
    t.after(() => page.click('#folder-crumbs button[data-folder=""]').catch(() => {}));
    const loose = await uploadRaw('loose-note.txt', 'A note kept at the top of the tree.\n');
    await page.click('#tab-files');
    const shown = () => page.$$eval('#file-list .file-row', (rows) => rows.map((r) => [r.dataset.name, r.dataset.folder]));
    const subfolders = () => page.$$eval('#subfolders button', (bs) => bs.map((b) => b.dataset.folder));
    const browse = async (selector, folder) => {
      await page.click(selector);
      await page.waitForFunction((f) => document.querySelector('#folder-crumbs [aria-current]')?.dataset.folder === f
        && !document.querySelector('#file-list').hasAttribute('aria-busy'), folder);
    };
    // Every folder's files at first, each outside the root saying where it lives.
    assert.equal(await page.getAttribute('#folder-crumbs [aria-current]', 'data-folder'), '');
    assert.match(await fileRow('budget.csv').locator('.file-folder').textContent(), /\/expedition\/logs\/deep/);
    // The root: only its own files; /expedition among its subfolders.
    await browse('#folder-crumbs button[data-folder="/"]', '/');
    await page.waitForFunction(() => [...document.querySelectorAll('#subfolders button')].some((b) => b.dataset.folder === '/expedition'));
    const root = await shown();
    const rootApi = (await apiCall('GET', '/files?folder=/&subfolders=false&limit=200')).body.items.map((f) => f.name);
    assert.deepEqual(root.map(([name]) => name).sort(), rootApi.sort(), `page ${JSON.stringify(root)}, API ${JSON.stringify(rootApi)}`);
    assert.ok(root.some(([name]) => name === 'loose-note.txt') && root.every(([, folder]) => folder === '/'), JSON.stringify(root));
    // Into /expedition from its chip, then /expedition/logs: what the API lists there, nothing deeper.
    await browse('#subfolders button[data-folder="/expedition"]', '/expedition');
    assert.deepEqual((await shown()).map(([name]) => name).sort(), ['notes.md', 'zebra.txt']);
    await page.waitForFunction(() => [...document.querySelectorAll('#subfolders button')].some((b) => b.dataset.folder === '/expedition/logs'));
    await browse('#subfolders button[data-folder="/expedition/logs"]', '/expedition/logs');
    const api = (await apiCall('GET', '/files?folder=/expedition/logs&subfolders=false')).body.items.map((f) => f.name);
    assert.deepEqual((await shown()).map(([name]) => name).sort(), api.sort());
    assert.deepEqual(api, ['page.html']);
    assert.deepEqual(await subfolders(), ['/expedition/logs/deep']);
    const crumbs = await page.$$eval('#folder-crumbs button', (bs) => bs.map((b) => b.dataset.folder));
    assert.deepEqual(crumbs, ['', '/', '/expedition', '/expedition/logs']);
    // A file picked while browsing goes into this folder.
    await page.setInputFiles('#file-input', { name: 'tide-table.txt', mimeType: 'text/plain', buffer: Buffer.from('High tide at the harbour at dawn.\n') });
    await page.waitForSelector('#file-list .file-row[data-name="tide-table.txt"]');
    const listed = (await apiCall('GET', '/files?folder=/expedition/logs&subfolders=false')).body.items;
    const tide = listed.find((f) => f.name === 'tide-table.txt');
    assert.ok(tide, JSON.stringify(listed));
    assert.equal(tide.folder, '/expedition/logs');
    await shot('folders');
    // Back up by a crumb, then to every folder's files again.
    await browse('#folder-crumbs button[data-folder="/expedition"]', '/expedition');
    assert.equal(await fileRow('tide-table.txt').count(), 0);
    await browse('#folder-crumbs button[data-folder=""]', '');
    assert.equal(await fileRow('tide-table.txt').count(), 1);
    // Gone again, so the steps after this one see the files they expect.
    for (const id of [tide.id, loose.id]) assert.equal((await apiCall('DELETE', `/files/${id}`)).status, 204);
    await page.click('#folder-crumbs button[data-folder=""]');
    await page.waitForFunction(() => !document.querySelector('#file-list .file-row[data-name="tide-table.txt"]')
      && !document.querySelector('#file-list .file-row[data-name="loose-note.txt"]'));
  });

  test('adding and removing a tag in the panel changes the file on the server', async () => {
    await page.click('#tab-files');
    await openFileByName('zebra.txt');
    await page.fill('#tag-input', 'E2E Added, second-tag');
    await page.click('#add-tag');
    await page.locator('#panel-tags .tag-chip[data-tag="e2e added"]').waitFor();
    let tags = await tagsOf(ids['zebra.txt']);
    assert.ok(tags.some((x) => x.name === 'e2e added' && x.source === 'user'), JSON.stringify(tags));
    assert.ok(tags.some((x) => x.name === 'second-tag'));
    assert.equal(await page.inputValue('#tag-input'), '');
    await page.click('#panel-tags .tag-chip[data-tag="second-tag"] .remove-tag');
    await page.locator('#panel-tags .tag-chip[data-tag="second-tag"]').waitFor({ state: 'detached' });
    tags = await tagsOf(ids['zebra.txt']);
    assert.ok(!tags.some((x) => x.name === 'second-tag'), JSON.stringify(tags));
    assert.ok(tags.some((x) => x.name === 'e2e added'));
    await fileRow('zebra.txt').locator('.tag-chip[data-tag="e2e added"]').waitFor();
  });

  test('renaming a file', async () => {
    await page.fill('#rename-input', 'zebra-renamed.txt');
    await dismissMessage();
    await page.click('#rename');
    await page.waitForFunction(() => document.querySelector('#panel-title').textContent === 'zebra-renamed.txt');
    await page.waitForSelector('#message:not([hidden])');
    await fileRow('zebra-renamed.txt').waitFor();
    const r = await apiCall('GET', `/files/${ids['zebra.txt']}`);
    assert.equal(r.body.name, 'zebra-renamed.txt');
    assert.match(await page.textContent('#message-text'), /Renamed/);
  });

  test('downloading gives the exact bytes under the file name', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'zebra-renamed.txt');
    const bytes = readFileSync(await download.path());
    assert.deepEqual(bytes, readFileSync(path.join(fixture.dir, 'zebra.txt')));
  });

  test('uploading to a taken name keeps the old content in the history, and restoring it brings it back', async () => {
    const first = await uploadRaw('history.txt', 'the first draft');
    const second = await uploadRaw('history.txt', 'the second draft');
    assert.equal(second.id, first.id, 'the same file');
    await page.click('#tab-files');
    await page.selectOption('#sort', 'name'); // reload the list
    await page.selectOption('#sort', 'created');
    await fileRow('history.txt').waitFor();
    await openFileByName('history.txt');
    const entry = page.locator('#panel-history li[data-version="1"]');
    await entry.waitFor();
    assert.match(await entry.textContent(), /Version 1/);
    await entry.locator('[data-testid="restore-version"]').click();
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-ok');
    await page.locator('#panel-history li[data-version="2"]').waitFor();
    const content = await apiCall('GET', `/files/${first.id}/content`);
    assert.equal(content.body.toString(), 'the first draft');
    const versions = await apiCall('GET', `/files/${first.id}/versions`);
    assert.deepEqual(versions.body.items.map((v) => v.version), [2, 1]);
    // The restore re-tags the file; the steps after this one count the vocabulary, so let it settle.
    await waitFor(async () => (await apiCall('GET', `/files/${first.id}`)).body.status === 'done', { what: 'the restored file tagged' });
  });

  test('similar files come from GET /files/{id}/similar', async () => {
    const probe = await apiCall('GET', `/files/${ids['notes.md']}/similar?limit=5`);
    await openFileByName('notes.md');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#panel-similar').textContent));
    assert.ok(!missingRoute(probe), 'the server serves this endpoint');
    assert.equal(probe.status, 200);
    const expected = probe.body.items.map((x) => x.id);
    const shown = await page.$$eval('#panel-similar li[data-id]', (els) => els.map((e) => e.dataset.id));
    assert.deepEqual(shown.slice(0, expected.length), expected);
    assert.equal(await page.isVisible('#similar-note'), false);
  });

  test('the Tags page lists the vocabulary with counts and a tag\'s files', async () => {
    await page.click('#tab-tags');
    await page.locator('#tag-vocab .vocab-row[data-tag="lighthouse"]').waitFor();
    const api = await apiCall('GET', '/tags?limit=1000');
    const expected = api.body.items.find((x) => x.name === 'lighthouse');
    const count = await page.textContent('#tag-vocab .vocab-row[data-tag="lighthouse"] .vocab-count');
    assert.equal(Number(count), expected.count);
    assert.ok(expected.count >= 2);
    assert.equal(await page.locator('#tag-vocab .vocab-row').count(), api.body.items.length);
    await page.click('#tag-vocab .vocab-row[data-tag="lighthouse"] .tag-files-button');
    await page.waitForFunction((n) => document.querySelectorAll('#tag-files li[data-id]').length === n, expected.count);
    await shot('tags');
  });

  test('merging two tags', async () => {
    await uploadRaw('merge-a.txt', 'alpha file for merging');
    const a = (await apiCall('GET', '/files?limit=200')).body.items.find((f) => f.name === 'merge-a.txt');
    await apiCall('PATCH', `/files/${a.id}`, { json: { add_tags: ['e2e-merge-from'] } });
    await apiCall('PATCH', `/files/${ids['notes.md']}`, { json: { add_tags: ['e2e-merge-into'] } });
    const probe = await apiCall('POST', `/tags/${encodeURIComponent('e2e-no-such-tag')}/merge`, { json: { into: 'e2e-nothing' } });
    await page.click('#tab-files');
    await page.click('#tab-tags');
    await page.locator('#tag-vocab .vocab-row[data-tag="e2e-merge-from"]').waitFor();
    await dismissMessage();
    await page.fill('#merge-from', 'e2e-merge-from');
    await page.fill('#merge-into', 'e2e-merge-into');
    await page.click('#merge-tags');
    await page.waitForSelector('#message:not([hidden])');
    assert.ok(!missingRoute(probe), 'the server serves this endpoint');
    assert.match(await page.textContent('#message-text'), /Merged/);
    await page.locator('#tag-vocab .vocab-row[data-tag="e2e-merge-from"]').waitFor({ state: 'detached' });
    const into = (await apiCall('GET', '/tags?limit=1000')).body.items.find((x) => x.name === 'e2e-merge-into');
    assert.equal(into.count, 2);
    assert.ok(!(await tagsOf(a.id)).some((x) => x.name === 'e2e-merge-from'));
    assert.ok((await tagsOf(a.id)).some((x) => x.name === 'e2e-merge-into'));
  });

  test('renaming a tag', async () => {
    await apiCall('PATCH', `/files/${ids['budget.csv']}`, { json: { add_tags: ['e2e-old-name'] } });
    const probe = await apiCall('PATCH', `/tags/${encodeURIComponent('e2e-no-such-tag')}`, { json: { name: 'e2e-nothing' } });
    await page.click('#tab-files');
    await page.click('#tab-tags');
    await page.locator('#tag-vocab .vocab-row[data-tag="e2e-old-name"]').waitFor();
    await dismissMessage();
    await page.fill('#rename-tag-from', 'e2e-old-name');
    await page.fill('#rename-tag-to', 'e2e-new-name');
    await page.click('#rename-tag');
    await page.waitForSelector('#message:not([hidden])');
    assert.ok(!missingRoute(probe), 'the server serves this endpoint');
    assert.match(await page.textContent('#message-text'), /Renamed/);
    await page.locator('#tag-vocab .vocab-row[data-tag="e2e-new-name"]').waitFor();
    assert.equal(await page.locator('#tag-vocab .vocab-row[data-tag="e2e-old-name"]').count(), 0);
    assert.ok((await tagsOf(ids['budget.csv'])).some((x) => x.name === 'e2e-new-name'));
  });

  test('an admin imports a taxonomy from a file (a bad one refused with the reason) and goes back to the default', async () => {
    await page.click('#tab-files');
    await page.click('#tab-tags');
    await page.waitForFunction(() => /default taxonomy/.test(document.querySelector('#taxonomy-status').textContent));
    await dismissMessage();
    const csv = (text) => ({ name: 'harbour.csv', mimeType: 'text/csv', buffer: Buffer.from(text) });
    await page.setInputFiles('#taxonomy-file', csv('name,description,parent\nharbour,Ports and boats,\nbeacons,Lights that guide ships,harbour\n'));
    await page.selectOption('#taxonomy-mode', 'extend');
    await page.click('#taxonomy-import');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message-text'), /Taxonomy imported/);
    await page.waitForFunction(() => /imported taxonomy/.test(document.querySelector('#taxonomy-status').textContent));
    const doc = (await apiCall('GET', '/taxonomy')).body;
    assert.equal(doc.imported, true);
    assert.ok(doc.topics.some((x) => x.name === 'beacons' && x.parent === 'harbour'), JSON.stringify(doc.topics.slice(-3)));
    await dismissMessage();
    await page.setInputFiles('#taxonomy-file', csv('name,description,parent\nbuoys,Floating markers,nowhere\n'));
    await page.click('#taxonomy-import');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message-text'), /"nowhere" is not a topic/);
    await dismissMessage();
    await page.click('#taxonomy-reset');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message-text'), /default taxonomy is back/);
    assert.equal((await apiCall('GET', '/taxonomy')).body.imported, false);
  });

  test("the Tags page shows each tag's origin, and rejecting a tag takes it off for good until it is allowed again", async () => {
    await apiCall('PATCH', `/files/${ids['budget.csv']}`, { json: { add_tags: ['e2e-unwanted'] } });
    await page.click('#tab-files');
    await page.click('#tab-tags');
    const row = '#tag-vocab .vocab-row[data-tag="e2e-unwanted"]';
    await page.locator(row).waitFor();
    assert.equal(await page.textContent(`${row} .vocab-origin`), 'user');
    const lighthouse = (await apiCall('GET', '/tags?limit=1000')).body.items.find((x) => x.name === 'lighthouse');
    const origins = await page.textContent('#tag-vocab .vocab-row[data-tag="lighthouse"] .vocab-origin');
    assert.ok(lighthouse.sources.length > 0);
    const english = { user: 'user', keyword: 'keyword', metadata: 'metadata', llm: 'model', taxonomy: 'taxonomy' };
    assert.equal(origins, lighthouse.sources.map((x) => english[x]).join(', '), "the sources in the API's order");
    await dismissMessage();
    await page.click(`${row} .reject-tag`);
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message-text'), /rejected: taken off 1 of your files/);
    await page.locator(row).waitFor({ state: 'detached' });
    await page.locator('#rejected-tags li[data-tag="e2e-unwanted"]').waitFor();
    assert.deepEqual((await apiCall('GET', '/rejected-tags')).body.items, ['e2e-unwanted']);
    assert.ok(!(await tagsOf(ids['budget.csv'])).some((x) => x.name === 'e2e-unwanted'));
    await shot('tags-rejected');
    await dismissMessage();
    await page.click('#rejected-tags li[data-tag="e2e-unwanted"] .allow-tag');
    await page.locator('#rejected-tags li[data-tag="e2e-unwanted"]').waitFor({ state: 'detached' });
    assert.deepEqual((await apiCall('GET', '/rejected-tags')).body.items, []);
  });

  test('deleting asks for confirmation; cancel keeps the file, confirm removes it (404 afterwards)', async () => {
    await page.click('#tab-files');
    await openFileByName('zebra-renamed.txt');
    await page.click('#delete');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match(await page.textContent('#confirm-text'), /zebra-renamed\.txt/);
    await shot('delete-confirm');
    await page.click('#confirm-cancel');
    await page.waitForFunction(() => !document.querySelector('#confirm-dialog').open);
    assert.equal((await apiCall('GET', `/files/${ids['zebra.txt']}`)).status, 200);
    assert.equal(await fileRow('zebra-renamed.txt').count(), 1);

    await page.click('#delete');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-ok');
    await fileRow('zebra-renamed.txt').waitFor({ state: 'detached' });
    assert.equal(await page.isVisible('#panel-body'), false);
    const r = await apiCall('GET', `/files/${ids['zebra.txt']}`);
    assert.equal(r.status, 404);
    assert.equal(r.body.status, 404);
  });

  test('API tokens: make one (the secret shown once, and it works), see it listed, revoke it', async () => {
    await page.click('#tokens-open');
    await page.waitForSelector('#tokens-dialog[open]');
    await page.waitForSelector('#tokens-list [data-testid="token-row"]');
    // The session's own token is listed and marked.
    assert.match(await page.textContent('#tokens-list'), /this session/);
    await page.fill('#token-label', 'backup script');
    await page.selectOption('#token-expiry', '30');
    await page.click('#token-create');
    await page.waitForSelector('#token-made:not([hidden])');
    const secret = await page.inputValue('#token-secret');
    assert.match(secret, /^gfs_[0-9a-f]{48}$/);
    const me = await fetch(`${env.api}/api/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(me.status, 200);
    const row = page.locator('#tokens-list [data-testid="token-row"]', { hasText: 'backup script' });
    await row.waitFor();
    assert.match(await row.textContent(), /expires/);
    assert.ok(!(await page.textContent('#tokens-list')).includes(secret), 'the list never shows a secret');
    await shot('tokens');
    await row.locator('[data-testid="token-revoke"]').click();
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-ok');
    await row.waitFor({ state: 'detached' });
    const after = await fetch(`${env.api}/api/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(after.status, 401);
    await page.click('#tokens-close');
    await page.waitForFunction(() => !document.querySelector('#tokens-dialog').open);
    // Opened again, the secret is gone for good.
    await page.click('#tokens-open');
    await page.waitForSelector('#tokens-dialog[open]');
    assert.equal(await page.inputValue('#token-secret'), '');
    assert.equal(await page.isVisible('#token-made'), false);
    await page.click('#tokens-close');
  });

  test('switching to Chinese translates the page, sets <html lang>, and is remembered', async () => {
    await page.selectOption('#lang-switch', 'zh');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.textContent('#tab-files'), '文件');
    assert.equal(await page.textContent('#tab-graph'), '图谱');
    assert.equal(await page.textContent('#sign-out'), '退出登录');
    assert.equal(await page.getAttribute('#search-input', 'placeholder'), '搜索名称、正文、标签和语义…');
    assert.match(await page.textContent('#current-user'), /已登录/);
    assert.match(await page.textContent('#file-list .file-row .badge'), /已完成|等待中|处理中/);
    assert.equal(await page.evaluate(() => localStorage.getItem('graphfs.lang')), 'zh');
    await shot('chinese');
    await page.reload();
    await page.waitForSelector('#app-view:not([hidden])'); // still signed in (sessionStorage)
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.textContent('#tab-tags'), '标签');
    await page.selectOption('#lang-switch', 'en');
    assert.equal(await page.textContent('#tab-files'), 'Files');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
  });

  test('a fresh browser follows navigator.language (zh-CN) until the user chooses', async () => {
    const zh = await browser.newContext({ locale: 'zh-CN' });
    const p = await zh.newPage();
    await p.goto(env.url);
    await p.waitForSelector('body[data-ready="signin"]');
    assert.equal(await p.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await p.textContent('#sign-in'), '登录');
    await zh.close();
  });

  test('signing out forgets the token', async () => {
    await page.click('#sign-out');
    await page.waitForSelector('#signin-view:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('graphfs.token')), null);
  });

  test("signs in through the organisation's provider (OIDC: Keycloak's login page, authorization code with PKCE)", async () => {
    assert.ok(env.oidcIssuer, 'run.sh starts Keycloak and gives graphfs its issuer');
    const ctx = await browser.newContext({ locale: 'en-US' });
    const p = await ctx.newPage();
    p.on('pageerror', (e) => problems.push(`pageerror (provider sign-in): ${e.message}`));
    await p.goto(env.url);
    await p.waitForSelector('body[data-ready="signin"]');
    await p.click('[data-testid="sign-in-provider"]');
    // The provider's own page: its form, its password check.
    await p.waitForURL((u) => u.toString().startsWith(env.oidcIssuer));
    await p.fill('#username', 'alice');
    await p.fill('#password', 'alice-password');
    await p.click('#kc-login');
    await p.waitForURL((u) => u.toString().startsWith(env.url));
    await p.waitForSelector('#app-view:not([hidden])');
    await p.screenshot({ path: path.join(env.artifacts, 'provider-signed-in.png') });
    assert.match(await p.textContent('#current-user'), /oidc:alice/);
    assert.ok(!p.url().includes('code='), `the code left the address bar: ${p.url()}`);
    // The page holds the provider's access token; the API takes it, with alice's group as the admin role.
    const token = await p.evaluate(() => sessionStorage.getItem('graphfs.token'));
    assert.ok(token?.startsWith('ey'), 'a JWT');
    const me = await fetch(`${env.api}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
    assert.deepEqual([me.user, me.admin], ['oidc:alice', true]);
    // The page refreshes the provider's short-lived token through the server; a reload with the refresh due
    // does it before using the token.
    assert.ok(await p.evaluate(() => sessionStorage.getItem('graphfs.oidc.refresh')), 'the page keeps the refresh token');
    await p.evaluate(() => sessionStorage.setItem('graphfs.oidc.refreshAt', '0'));
    await p.reload();
    await p.waitForSelector('#app-view:not([hidden])');
    const renewed = await p.evaluate(() => sessionStorage.getItem('graphfs.token'));
    assert.ok(renewed?.startsWith('ey') && renewed !== token, 'a new access token after the refresh');
    assert.match(await p.textContent('#current-user'), /oidc:alice/);
    const nextAt = Number(await p.evaluate(() => sessionStorage.getItem('graphfs.oidc.refreshAt')));
    assert.ok(nextAt > Date.now(), 'the next refresh is planned');
    // Signing out ends the refreshes.
    await p.click('#sign-out');
    assert.equal(await p.evaluate(() => sessionStorage.getItem('graphfs.oidc.refresh')), null);
    await ctx.close();
  });

  test('no page errors and no Content-Security-Policy violations happened', async () => {
    assert.deepEqual(problems, []);
  });
});
