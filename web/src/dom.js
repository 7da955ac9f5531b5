/* Small DOM and formatting helpers. Server text only ever goes in through textContent/attributes. */

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
export const on = (sel, type, fn, opts) => $(sel).addEventListener(type, fn, opts);
export const setHidden = (hidden, ...sels) => sels.forEach((s) => { $(s).hidden = hidden; });

/** Creates an element. attrs: class, text, on<event> handlers; anything else becomes an attribute. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const c of children.flat()) if (c != null && c !== false && c !== '') node.append(c instanceof Node ? c : String(c));
  return node;
}

export const muted = (text, tag = 'p') => el(tag, { class: 'muted', text });

export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
    else if (v !== '' && v != null) u.append(k, String(v));
  }
  return u.toString() ? `?${u}` : '';
}

export function humanSize(bytes) {
  if (bytes == null || !Number.isFinite(Number(bytes))) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(bytes);
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i += 1) v /= 1024;
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const FAMILIES = ['text', 'image', 'audio', 'video', 'application', 'other'];

export function mediaFamily(type) {
  const t = String(type || '').toLowerCase();
  if (t === 'application/pdf') return 'pdf';
  const family = t.split('/')[0];
  return FAMILIES.includes(family) ? family : 'other';
}

export function isTextLike(type) {
  const t = String(type || '').toLowerCase().split(';')[0].trim();
  return t.startsWith('text/') || /\+(json|xml)$/.test(t)
    || /^application\/(json|xml|javascript|x-javascript|ecmascript|x-yaml|yaml|toml|x-sh|sql|x-ndjson|csv)$/.test(t);
}

export function isMarkdown(type, name) {
  return /markdown/i.test(String(type || '')) || /\.(md|markdown)$/i.test(String(name || ''));
}

/** Renders "…text with [matched] terms…" with the bracketed terms as <mark>, using text nodes only. */
export function snippetNodes(text) {
  const frag = document.createDocumentFragment();
  const re = /\[([^[\]]+)\]/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    frag.append(text.slice(last, m.index), el('mark', { text: m[1] }));
    last = re.lastIndex;
  }
  frag.append(text.slice(last));
  return frag;
}

/** Scrolls an element into view, smoothly unless the user prefers reduced motion. */
export function reveal(node, block = 'start') {
  const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  node?.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block });
}
