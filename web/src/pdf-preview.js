/*
 * PDF first-page preview with pdf.js, loaded only when a PDF is opened. The worker is a separate file served
 * from the page's own origin (CSP script-src 'self' covers it); eval is turned off, so no CSP hole is needed.
 */
import { GlobalWorkerOptions, getDocument } from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';

GlobalWorkerOptions.workerSrc = workerUrl;

/** Renders page 1 of the PDF bytes into `canvas`, at most `width` CSS pixels wide; returns the page count. */
export async function renderFirstPage(data, canvas, width) {
  const task = getDocument({ data, isEvalSupported: false, enableXfa: false, disableFontFace: false, useSystemFonts: false });
  const doc = await task.promise;
  try {
    const page = await doc.getPage(1);
    const base = page.getViewport({ scale: 1 });
    const dpr = window.devicePixelRatio || 1;
    const scale = Math.min(2, width / base.width);
    const viewport = page.getViewport({ scale: scale * dpr });
    Object.assign(canvas, { width: Math.round(viewport.width), height: Math.round(viewport.height) });
    canvas.style.width = `${Math.round(viewport.width / dpr)}px`;
    await page.render({ canvas, canvasContext: canvas.getContext('2d'), viewport }).promise;
    return doc.numPages;
  } finally {
    doc.destroy();
  }
}
