/*
 * A deliberately small Markdown renderer that builds DOM nodes (never HTML strings): headings, paragraphs,
 * lists, block quotes, fenced code, rules, and inline code/bold/italics. Links are shown as text, raw HTML
 * stays text, so nothing in a file can run script or load anything.
 */
import { el } from './dom.js';

function inline(text) {
  const frag = document.createDocumentFragment();
  const re = /(`[^`]+`)|(\*\*[^*]+\*\*|__[^_]+__)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    frag.append(text.slice(last, m.index));
    if (m[1]) frag.append(el('code', { text: m[1].slice(1, -1) }));
    else if (m[2]) frag.append(el('strong', { text: m[2].slice(2, -2) }));
    else if (m[3]) frag.append(el('em', { text: m[3].slice(1, -1) }));
    else frag.append(el('span', { class: 'md-link', title: m[5], text: m[4] }));
    last = re.lastIndex;
  }
  frag.append(text.slice(last));
  return frag;
}

export function renderMarkdown(src) {
  const root = el('div', { class: 'markdown' });
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) root.append(el('p', {}, inline(para.join(' '))));
    para = [];
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flush();
      const code = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence[1]); i += 1) code.push(lines[i]);
      root.append(el('pre', {}, el('code', { text: code.join('\n') })));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    const item = /^\s*(?:[-*+]|(\d+)[.)])\s+(.*)$/.exec(line);
    if (heading) { flush(); root.append(el(`h${Math.min(6, heading[1].length + 2)}`, {}, inline(heading[2]))); }
    else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { flush(); root.append(el('hr')); }
    else if (item) {
      if (para.length) flush();
      const kind = item[1] ? 'ol' : 'ul';
      if (!list || list.localName !== kind) { list = el(kind); root.append(list); }
      list.append(el('li', {}, inline(item[2])));
    } else if (/^\s*>/.test(line)) { flush(); root.append(el('blockquote', {}, inline(line.replace(/^\s*>\s?/, '')))); }
    else if (!line.trim()) flush();
    else { list = null; para.push(line.trim()); }
  }
  flush();
  return root;
}
