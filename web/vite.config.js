import { defineConfig } from 'vite';

// The GraphFS server serves web/dist at '/', with a strict CSP (script-src 'self', style-src 'self'):
// index.html must carry no inline script or style, so nothing is inlined (assetsInlineLimit 0) and the
// module-preload polyfill (an inline-able helper) is off. Hashed files go under /assets/.
const api = process.env.GRAPHFS_API || 'http://127.0.0.1:18080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: true,
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1300,
    rollupOptions: {
      output: {
        // pdf.js ships its worker as .mjs; emit it as .js so any server maps it to text/javascript.
        assetFileNames: (info) => (/\.mjs$/.test(info.names?.[0] || info.name || '')
          ? 'assets/[name]-[hash].js' : 'assets/[name]-[hash][extname]'),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/api': api, '/readyz': api, '/healthz': api },
  },
  preview: {
    proxy: { '/api': api, '/readyz': api, '/healthz': api },
  },
});
