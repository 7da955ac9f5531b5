/* Search as you type over names, text, tags and meaning, with tag facets (AND/OR) and a media-type filter. */
import { api } from './api.js';
import { $, debounce, el, humanSize, mediaFamily, muted, on, qs, snippetNodes } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { reportError } from './message.js';
import { app } from './state.js';

const DEBOUNCE_MS = 250;
const s = { ctl: null, q: '', hits: [], facets: new Set(), match: 'all', media: '' };

export function hideSearch() {
  s.hits = [];
  s.q = '';
  s.facets.clear();
  $('#search-section').hidden = true;
  $('#search-results').replaceChildren();
  $('#search-facets').replaceChildren();
}

async function runSearch() {
  const q = $('#search-input').value.trim();
  s.ctl?.abort();
  if (!q) { hideSearch(); return; }
  const ctl = new AbortController();
  s.ctl = ctl;
  $('#search-section').hidden = false;
  $('#search-status').textContent = t('search.searching');
  try {
    const data = await api(`/search${qs({ q, limit: 50 })}`, { signal: ctl.signal });
    if (ctl.signal.aborted) return;
    if (q !== s.q) s.facets.clear();
    Object.assign(s, { q, hits: data?.items || [] });
    renderSearch();
  } catch (e) {
    if (e.name === 'AbortError') return;
    $('#search-status').textContent = t('search.failed');
    reportError(e);
  }
}

function visibleHits() {
  const chosen = [...s.facets];
  return s.hits.filter((hit) => {
    const f = hit.file;
    const family = mediaFamily(f.media_type);
    if (s.media && !(family === s.media || (s.media === 'application' && family === 'pdf'))) return false;
    if (!chosen.length) return true;
    const names = new Set((f.tags || []).map((x) => x.name));
    return s.match === 'all' ? chosen.every((c) => names.has(c)) : chosen.some((c) => names.has(c));
  });
}

function renderFacets() {
  const counts = new Map();
  for (const hit of s.hits) for (const tag of hit.file.tags || []) counts.set(tag.name, (counts.get(tag.name) || 0) + 1);
  const facets = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 24);
  for (const f of s.facets) if (!counts.has(f)) facets.push([f, 0]);
  $('#search-facets').replaceChildren(...facets.map(([name, n]) => el('li', {}, el('button', {
    type: 'button', class: 'tag-chip facet', 'data-tag': name, 'aria-pressed': String(s.facets.has(name)),
    title: t('search.facetTitle', { name }),
    onclick: () => { if (s.facets.has(name)) s.facets.delete(name); else s.facets.add(name); renderSearch(); },
  }, name, el('span', { class: 'count', text: ` ${n}` })))));
  const button = $('#facet-match');
  button.hidden = s.facets.size < 2;
  button.textContent = s.match === 'all' ? t('search.matchAll') : t('search.matchAny');
}

function searchHit(hit) {
  const f = hit.file;
  return el('li', { class: 'search-hit', 'data-id': f.id },
    el('div', { class: 'hit-head' },
      el('button', { type: 'button', class: 'link hit-name', text: f.name, onclick: () => app.openFile(f.id) }),
      el('span', { class: 'matched', title: t('search.matchedIn') },
        (hit.matched || []).map((m) => el('span', { class: `match match-${m}`, 'data-match': m, text: t(`match.${m}`) }))),
      muted(`${f.media_type} · ${humanSize(f.size)}`, 'span'),
      el('button', {
        type: 'button', class: 'small hit-graph', text: t('search.graph'), 'aria-label': t('search.graphOf', { name: f.name }),
        onclick: () => app.openGraph({ file: f.id }),
      })),
    hit.snippet ? el('p', { class: 'snippet' }, snippetNodes(hit.snippet)) : null);
}

function renderSearch() {
  if (!s.q) return;
  renderFacets();
  const hits = visibleHits();
  $('#search-results').replaceChildren(...hits.map(searchHit));
  $('#search-status').textContent = hits.length
    ? t('search.results', { n: hits.length, q: s.q }) + (hits.length < s.hits.length ? ` ${t('search.filtered', { n: s.hits.length })}` : '')
    : t('search.none', { q: s.q });
  $('#search-graph').disabled = hits.length === 0;
}

export function bindSearch() {
  const input = $('#search-input');
  const debounced = debounce(runSearch, DEBOUNCE_MS);
  input.addEventListener('input', debounced);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') input.value = '';
    if (e.key === 'Enter' || e.key === 'Escape') { debounced.cancel(); runSearch(); }
  });
  on('#search-clear', 'click', () => { input.value = ''; runSearch(); input.focus(); });
  on('#search-graph', 'click', () => { const first = visibleHits()[0]; if (first) app.openGraph({ file: first.file.id }); });
  on('#search-media', 'change', (e) => { s.media = e.target.value; renderSearch(); });
  on('#facet-match', 'click', () => { s.match = s.match === 'all' ? 'any' : 'all'; renderSearch(); });
  onLanguageChange(renderSearch);
}
