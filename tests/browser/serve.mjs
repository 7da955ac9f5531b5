// Serves web/dist the way the GraphFS server does (same CSP and security headers) and forwards /api, /readyz,
// /healthz and /metrics to a running graphfs. run.sh uses it while the graphfs binary under test does not yet
// serve this build of the page itself.
//   node serve.mjs --dist ../../web/dist --backend http://127.0.0.1:PORT --port PORT2
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

export const CSP = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; "
  + "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json',
  '.woff2': 'font/woff2', '.wasm': 'application/wasm',
};
const PROXIED = /^\/(api\/|readyz$|healthz$|metrics$)/;

export function startServer({ dist, backend, port = 0, host = '127.0.0.1' }) {
  const root = path.resolve(dist);
  const target = new URL(backend);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (PROXIED.test(url.pathname)) {
      const upstream = http.request({
        host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host },
      }, (up) => { res.writeHead(up.statusCode, up.headers); up.pipe(res); });
      upstream.on('error', (e) => { res.writeHead(502, { 'content-type': 'text/plain' }); res.end(String(e)); });
      req.pipe(upstream);
      return;
    }
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403); res.end(); return; }
    let stat = null;
    try { stat = statSync(file); if (stat.isDirectory()) { file = path.join(file, 'index.html'); stat = statSync(file); } } catch { stat = null; }
    const headers = {
      'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY',
    };
    if (!stat) { res.writeHead(404, { ...headers, 'content-type': 'text/plain' }); res.end('not found'); return; }
    headers['content-type'] = TYPES[path.extname(file)] || 'application/octet-stream';
    headers['content-length'] = stat.size;
    headers['cache-control'] = url.pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { dist: { type: 'string' }, backend: { type: 'string' }, port: { type: 'string', default: '0' } } });
  const server = await startServer({ dist: values.dist, backend: values.backend, port: Number(values.port) });
  console.log(`serving ${values.dist} at http://127.0.0.1:${server.address().port}/ (API: ${values.backend})`);
}
