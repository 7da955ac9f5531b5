// Shared by the tests and the perf script: the browser, the API (as the page would use it), the fixtures.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const env = {
  url: process.env.GRAPHFS_URL,
  api: process.env.GRAPHFS_API_URL || process.env.GRAPHFS_URL,
  token: process.env.GRAPHFS_TOKEN,
  maxUpload: Number(process.env.GRAPHFS_MAX_UPLOAD_BYTES || 0),
  artifacts: process.env.GRAPHFS_ARTIFACTS_DIR || path.resolve('test-artifacts/browser'),
  chromium: process.env.GRAPHFS_CHROMIUM || '/usr/bin/chromium',
  oidcIssuer: process.env.GRAPHFS_OIDC_ISSUER_URL,
};

if (!env.url || !env.token) {
  throw new Error('GRAPHFS_URL and GRAPHFS_TOKEN are not set: run the tests with tests/browser/run.sh');
}
mkdirSync(env.artifacts, { recursive: true });

export function launch() {
  return chromium.launch({ executablePath: env.chromium, headless: true, args: ['--no-sandbox'] });
}

/** Calls the API directly (not through the page); returns { status, body }. */
export async function apiCall(method, pathAndQuery, { json, body, headers = {} } = {}) {
  const h = { Authorization: `Bearer ${env.token}`, ...headers };
  if (json !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(`${env.api}/api/v1${pathAndQuery}`, { method, headers: h, body: json !== undefined ? JSON.stringify(json) : body });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : Buffer.from(await res.arrayBuffer());
  return { status: res.status, body: data, headers: res.headers };
}

/** True when the server answers like one that lacks the route (404 "no such route", or 405). */
export const missingRoute = (r) => r.status === 405 || (r.status === 404 && /route/i.test(r.body?.detail || ''));

export async function uploadRaw(name, content, type = 'text/plain') {
  const r = await apiCall('POST', `/files?name=${encodeURIComponent(name)}`, { body: content, headers: { 'Content-Type': type } });
  if (r.status !== 201 && r.status !== 200) throw new Error(`upload of ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function waitFor(fn, { timeout = 20000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A folder of small files with distinctive words, with a nested subfolder. */
export function makeFixtureFolder() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'graphfs-e2e-'));
  const dir = path.join(root, 'expedition');
  mkdirSync(path.join(dir, 'logs', 'deep'), { recursive: true });
  const files = {
    'zebra.txt': 'The quick zebrafish swims through the aquarium near the coral reef every morning.\n',
    'notes.md': '# Expedition notes\n\nThe **lighthouse** keeper logged the storm.\n\n- harbour\n- lighthouse beacon\n',
    'logs/page.html': '<!doctype html><html><body><script>window.__pwned = true</script><p>Lighthouse beacon harbour signals at dusk.</p></body></html>\n',
    'logs/deep/budget.csv': 'item,amount\nrope,12\nlantern,40\nlighthouse,100\n',
  };
  for (const [rel, content] of Object.entries(files)) writeFileSync(path.join(dir, rel), content);
  return { root, dir, files };
}

/** A minimal one-page PDF whose page is a filled blue square (no fonts needed). */
export function tinyPdf() {
  const content = '0 0 1 rg 20 20 160 160 re f';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) { c ^= b; for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}

/** A small solid red PNG (w×h). */
export function tinyPng(w = 8, h = 8) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y += 1) for (let x = 0; x < w; x += 1) raw[y * (1 + 3 * w) + 1 + 3 * x] = 255;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
