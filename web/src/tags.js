/* Tags: the sidebar (filter the list, related tags) and the Tags page (vocabulary with each tag's origin, merge,
   rename, a tag's files, rejecting a tag for good and allowing it again). */
import { api, isMissingRoute, session } from './api.js';
import { $, debounce, el, humanSize, muted, on, qs } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { reportError, showMessage } from './message.js';
import { app, state } from './state.js';

const vocab = { items: [], rejected: [], seq: 0, shownTag: null };

// ------------------------------------------------------------------ sidebar
export async function loadTags() {
  const seq = ++state.tagsSeq;
  try {
    const data = await api(`/tags${qs({ prefix: $('#tag-filter').value.trim(), limit: 200 })}`);
    if (seq !== state.tagsSeq) return;
    state.tagItems = data?.items || [];
    renderTags();
  } catch (e) {
    reportError(e);
  }
}

const refreshTagsSoon = debounce(() => {
  if (!session.user) return;
  loadTags();
  if (!$('#tags-view').hidden) loadVocab();
}, 800);

export function renderTags() {
  const active = new Set(state.filters.tags);
  $('#tags-list').replaceChildren(...state.tagItems.map((tag) => el('li', {}, el('button', {
    type: 'button', class: 'tag-link', 'data-tag': tag.name, 'aria-pressed': String(active.has(tag.name)),
    title: tag.aliases?.length ? t('tags.aka', { aliases: tag.aliases.join(', ') }) : null, onclick: () => selectTag(tag.name),
  }, el('span', { class: 'tag-name', text: tag.name }), el('span', { class: 'count', text: String(tag.count) })))));
  Object.assign($('#tags-empty'), {
    hidden: state.tagItems.length > 0,
    textContent: $('#tag-filter').value.trim() ? t('tags.noPrefix') : t('tags.none'),
  });
}

/** Filters the list by a tag (a second click on a sidebar tag removes it) and shows its related tags. */
export function selectTag(name, { toggle = true } = {}) {
  const tags = state.filters.tags;
  if (toggle && tags.includes(name)) { app.setTagFilters(tags.filter((x) => x !== name)); return; }
  if (!tags.includes(name)) app.setTagFilters([...tags, name]);
  showRelated(name);
  app.showTab('files');
}

async function showRelated(name) {
  state.activeTag = name;
  $('#related-box').hidden = false;
  $('#related-title').textContent = t('tags.relatedTo', { name });
  const list = $('#related-list');
  list.replaceChildren(muted(t('loading'), 'li'));
  try {
    const data = await api(`/tags/${encodeURIComponent(name)}/related${qs({ limit: 20 })}`);
    if (state.activeTag !== name) return;
    const items = data?.items || [];
    list.replaceChildren(...(items.length ? items.map((r) => el('li', {}, el('button', {
      type: 'button', class: 'tag-chip', 'data-tag': r.name, title: t('tags.filterBy', { name: r.name }),
      onclick: () => selectTag(r.name, { toggle: false }),
    }, r.name, el('span', { class: 'count', text: ` ${r.count}` })))) : [muted(t('tags.noRelated'), 'li')]));
  } catch (e) {
    list.replaceChildren();
    reportError(e);
  }
}

// ------------------------------------------------------------------ Tags page
export async function loadVocab() {
  const seq = ++vocab.seq;
  try {
    const [data, rejected] = await Promise.all([api(`/tags${qs({ limit: 1000 })}`), api('/rejected-tags')]);
    if (seq !== vocab.seq) return;
    vocab.items = data?.items || [];
    vocab.rejected = rejected?.items || [];
    renderVocab();
  } catch (e) {
    reportError(e);
  }
}

function renderVocab() {
  $('#tag-vocab').replaceChildren(...vocab.items.map((tag) => el('tr', { class: 'vocab-row', 'data-tag': tag.name },
    el('th', { scope: 'row', class: 'vocab-name', text: tag.name }),
    el('td', { class: 'num vocab-count', text: String(tag.count) }),
    el('td', { class: 'vocab-aliases', text: (tag.aliases || []).join(', ') || '—' }),
    el('td', { class: 'vocab-origin', text: (tag.sources || []).map((s) => t(`source.${s}`)).join(', ') || '—' }),
    el('td', { class: 'vocab-actions' },
      el('button', {
        type: 'button', class: 'small tag-files-button', text: t('vocab.files'), 'aria-label': t('vocab.filesOf', { name: tag.name }),
        onclick: () => showTagFiles(tag.name),
      }),
      el('button', {
        type: 'button', class: 'small', text: t('vocab.graph'), 'aria-label': t('vocab.graphOf', { name: tag.name }),
        onclick: () => app.openGraph({ tag: tag.name }),
      }),
      el('button', {
        type: 'button', class: 'small', text: t('vocab.use'), 'aria-label': t('vocab.useOf', { name: tag.name }),
        onclick: () => { $('#merge-from').value = tag.name; $('#rename-tag-from').value = tag.name; $('#merge-into').focus(); },
      }),
      el('button', {
        type: 'button', class: 'small reject-tag', text: t('vocab.reject'), 'aria-label': t('vocab.rejectOf', { name: tag.name }),
        onclick: () => rejectTag(tag.name),
      })))));
  $('#rejected-tags').replaceChildren(...(vocab.rejected.length ? vocab.rejected.map((name) => el('li', { 'data-tag': name },
    el('span', { class: 'tag-name', text: name }), ' ',
    el('button', {
      type: 'button', class: 'small allow-tag', text: t('vocab.allow'), 'aria-label': t('vocab.allowOf', { name }),
      onclick: () => allowTag(name),
    }))) : [muted(t('vocab.noRejected'), 'li')]));
  $('#tag-names').replaceChildren(...vocab.items.map((tag) => el('option', { value: tag.name })));
  $('#vocab-count').textContent = vocab.items.length ? t('vocab.count', { n: vocab.items.length }) : t('tags.none');
}

async function showTagFiles(name) {
  vocab.shownTag = name;
  $('#tag-files-box').hidden = false;
  $('#tag-files-title').textContent = t('vocab.filesTitle', { name });
  const list = $('#tag-files');
  list.replaceChildren(muted(t('loading'), 'li'));
  try {
    const data = await api(`/tags/${encodeURIComponent(name)}/files${qs({ limit: 200 })}`);
    if (vocab.shownTag !== name) return;
    const items = data?.items || [];
    list.replaceChildren(...(items.length ? items.map((f) => el('li', { 'data-id': f.id },
      el('button', { type: 'button', class: 'link', text: f.name, onclick: () => app.openFile(f.id) }),
      muted(` ${f.media_type} · ${humanSize(f.size)}`, 'span'))) : [muted(t('files.noMatch'), 'li')]));
  } catch (e) {
    list.replaceChildren();
    reportError(e);
  }
}

function afterVocabularyChange(target) {
  loadVocab();
  loadTags();
  app.loadFiles();
  if (state.selected) app.openFile(state.selected.id);
  if (target) showTagFiles(target);
}

async function rejectTag(name) {
  try {
    const done = await api(`/rejected-tags/${encodeURIComponent(name)}`, { method: 'PUT' });
    showMessage(t('vocab.rejected', { name, n: done?.files_changed ?? 0 }), 'info');
    state.filters.tags = state.filters.tags.filter((x) => x !== name);
    afterVocabularyChange();
  } catch (e) {
    reportError(e);
  }
}

async function allowTag(name) {
  try {
    await api(`/rejected-tags/${encodeURIComponent(name)}`, { method: 'DELETE' });
    showMessage(t('vocab.allowed', { name }), 'info');
    loadVocab();
  } catch (e) {
    reportError(e);
  }
}

async function mergeTags(from, into) {
  try {
    const info = await api(`/tags/${encodeURIComponent(from)}/merge`, { method: 'POST', json: { into } });
    showMessage(t('vocab.merged', { from, into: info?.name || into }), 'info');
    $('#merge-from').value = '';
    $('#merge-into').value = '';
    state.filters.tags = state.filters.tags.map((x) => (x === from ? info?.name || into : x));
    afterVocabularyChange(info?.name || into);
  } catch (e) {
    if (isMissingRoute(e)) showMessage(t('vocab.unsupportedMerge'));
    else reportError(e);
  }
}

async function renameTag(from, to) {
  try {
    const info = await api(`/tags/${encodeURIComponent(from)}`, { method: 'PATCH', json: { name: to } });
    showMessage(t('vocab.renamed', { from, to: info?.name || to }), 'info');
    $('#rename-tag-from').value = '';
    $('#rename-tag-to').value = '';
    state.filters.tags = state.filters.tags.map((x) => (x === from ? info?.name || to : x));
    afterVocabularyChange(info?.name || to);
  } catch (e) {
    if (isMissingRoute(e)) showMessage(t('vocab.unsupportedRename'));
    else reportError(e);
  }
}

// ------------------------------------------------------------------ taxonomy (admins)
/** The taxonomy in force: how many topics, and whether an admin imported it. */
export async function loadTaxonomy() {
  try {
    const doc = await api('/taxonomy');
    $('#taxonomy-status').textContent = t(doc?.imported ? 'taxonomy.imported' : 'taxonomy.default', { n: doc?.topics?.length ?? 0 });
  } catch (e) {
    if (!isMissingRoute(e)) reportError(e);
  }
}

async function importTaxonomy(file, mode, retag) {
  const csv = /\.csv$/i.test(file.name) || file.type === 'text/csv';
  try {
    const doc = await api(`/taxonomy${qs({ mode, retag: retag ? 'true' : undefined })}`, {
      method: 'PUT', body: await file.text(), headers: { 'Content-Type': csv ? 'text/csv' : 'application/yaml' },
    });
    showMessage(t('taxonomy.done', { n: doc?.topics?.length ?? 0 }), 'info');
    $('#taxonomy-file').value = '';
    loadTaxonomy();
  } catch (e) {
    reportError(e);
  }
}

async function resetTaxonomy() {
  try {
    const doc = await api('/taxonomy', { method: 'DELETE' });
    showMessage(t('taxonomy.resetDone', { n: doc?.topics?.length ?? 0 }), 'info');
    loadTaxonomy();
  } catch (e) {
    reportError(e);
  }
}

export function bindTags() {
  on('#tag-filter', 'input', debounce(() => loadTags(), 250));
  on('#related-graph', 'click', () => { if (state.activeTag) app.openGraph({ tag: state.activeTag }); });
  on('#merge-form', 'submit', (e) => {
    e.preventDefault();
    const [from, into] = [$('#merge-from').value.trim(), $('#merge-into').value.trim()];
    if (!from || !into) return;
    if (from === into) { showMessage(t('vocab.sameTag')); return; }
    mergeTags(from, into);
  });
  on('#rename-tag-form', 'submit', (e) => {
    e.preventDefault();
    const [from, to] = [$('#rename-tag-from').value.trim(), $('#rename-tag-to').value.trim()];
    if (from && to && from !== to) renameTag(from, to);
  });
  on('#taxonomy-form', 'submit', (e) => {
    e.preventDefault();
    const file = $('#taxonomy-file').files?.[0];
    if (file) importTaxonomy(file, $('#taxonomy-mode').value, $('#taxonomy-retag').checked);
  });
  on('#taxonomy-reset', 'click', () => resetTaxonomy());
  Object.assign(app, { loadTags, renderTags, selectTag, refreshTagsSoon, loadVocab, showTagFiles });
  onLanguageChange(() => {
    if (!session.user) return;
    renderTags();
    renderVocab();
    if (state.activeTag) $('#related-title').textContent = t('tags.relatedTo', { name: state.activeTag });
    if (vocab.shownTag) $('#tag-files-title').textContent = t('vocab.filesTitle', { name: vocab.shownTag });
  });
}
