/* The file list: filters, the folder being browsed, cursor pagination, live tagging status (polling of pending/running files). */
import { api, session } from './api.js';
import { $, $$, el, humanSize, muted, on, qs } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { reportError } from './message.js';
import { app, isBusy, state } from './state.js';

const PAGE_SIZE = 50;
const POLL_MS = 2000;
const POLL_BATCH = 20;

function listQuery(cursor) {
  const f = state.filters;
  return qs({
    tag: f.tags, tag_match: f.tags.length ? f.tagMatch : '', media_type: f.media ? `${f.media}/` : '',
    status: f.status, sort: f.sort, order: f.order, limit: PAGE_SIZE, cursor,
    folder: f.folder ?? '', subfolders: f.folder == null ? '' : 'false',
  });
}

export async function loadFiles({ append = false } = {}) {
  const seq = ++state.listSeq;
  const list = $('#file-list');
  $('#load-more').disabled = true;
  list.setAttribute('aria-busy', 'true');
  if (!append) loadSubfolders();
  try {
    const data = await api(`/files${listQuery(append ? state.cursor : '')}`);
    if (seq !== state.listSeq) return;
    const items = data?.items || [];
    const known = new Set(append ? state.files.map((x) => x.id) : []);
    state.files = append ? [...state.files, ...items.filter((x) => !known.has(x.id))] : items;
    state.cursor = data?.next_cursor || null;
    renderFileList();
    schedulePoll();
  } catch (e) {
    if (seq === state.listSeq) reportError(e);
  } finally {
    if (seq === state.listSeq) { $('#load-more').disabled = false; list.removeAttribute('aria-busy'); }
  }
}

export function statusBadge(f) {
  const badge = el('span', { class: `badge status-${f.status}`, 'data-status': f.status, text: t(`status.${f.status}`) });
  if (f.status === 'failed' && f.status_reason) { // the reason as a tooltip, and as text for screen readers
    badge.title = f.status_reason;
    badge.append(el('span', { class: 'visually-hidden', text: `: ${f.status_reason}` }));
  }
  return badge;
}

function tagChipButtons(tags = [], max = 8) {
  const chips = tags.slice(0, max).map((tag) => el('button', {
    type: 'button', class: 'tag-chip', 'data-tag': tag.name, text: tag.name,
    title: t('files.filterByTag', { name: tag.name, source: t(`source.${tag.source}`), score: tag.score != null ? Number(tag.score).toFixed(2) : '—' }),
    onclick: (e) => { e.stopPropagation(); app.selectTag(tag.name, { toggle: false }); },
  }));
  return tags.length > max ? [...chips, muted(`+${tags.length - max}`, 'span')] : chips;
}

function fileRow(f) {
  // Listing every folder's files: say where each one lives.
  const where = state.filters.folder == null && f.folder && f.folder !== '/'
    ? el('span', { class: 'muted file-folder', text: t('files.inFolder', { folder: f.folder }) }) : null;
  const row = el('tr', { class: 'file-row', 'data-id': f.id, 'data-status': f.status, 'data-name': f.name, 'data-folder': f.folder || '/' },
    el('td', { class: 'col-name' }, el('button', { type: 'button', class: 'link file-name', title: f.name, text: f.name }), where),
    el('td', { class: 'num', text: humanSize(f.size) }),
    el('td', { class: 'col-type', text: f.media_type }),
    el('td', {}, statusBadge(f)),
    el('td', { class: 'col-tags' }, tagChipButtons(f.tags)));
  if (state.selected?.id === f.id) row.classList.add('selected');
  row.addEventListener('click', (e) => { if (!e.target.closest('.tag-chip')) app.openFile(f.id); });
  return row;
}

export function renderFileList() {
  const f = state.filters;
  const n = state.files.length;
  $('#file-list').replaceChildren(...state.files.map(fileRow));
  Object.assign($('#file-empty'), {
    hidden: n > 0,
    textContent: f.tags.length || f.media || f.status ? t('files.noMatch') : t(f.folder == null ? 'files.none' : 'folders.empty'),
  });
  $('#load-more').hidden = !state.cursor;
  $('#file-count').textContent = n ? t(state.cursor ? 'files.countMore' : 'files.count', { n }) : '';
}

const findRow = (id) => $(`#file-list .file-row[data-id="${CSS.escape(id)}"]`);

export function addFileToList(record) {
  // An upload to a taken path is that file's new content: its row is updated, not added again.
  if (state.files.some((x) => x.id === record.id)) updateFile(record);
  else if (state.filters.folder != null && (record.folder || '/') !== state.filters.folder) loadSubfolders();
  else { state.files.unshift(record); renderFileList(); }
  schedulePoll();
}

// --- folders: breadcrumbs from "All files" down to the folder browsed, and its subfolders

/** Browses `folder` (null: every folder's files). */
export function openFolder(folder) {
  state.filters.folder = folder;
  loadFiles();
}

function crumb(label, folder) {
  const button = el('button', { type: 'button', class: 'link', 'data-folder': folder ?? '', text: label, onclick: () => openFolder(folder) });
  if (folder === state.filters.folder) button.setAttribute('aria-current', 'location');
  return el('li', {}, button);
}

export function renderFolderBar() {
  const current = state.filters.folder;
  const crumbs = [crumb(t('folders.all'), null), crumb(t('folders.root'), '/')];
  let path = '';
  for (const segment of (current || '').split('/').filter(Boolean)) {
    path += `/${segment}`;
    crumbs.push(crumb(segment, path));
  }
  $('#folder-crumbs').replaceChildren(...crumbs);
  $('#subfolders').replaceChildren(...state.subfolders.map((d) => el('li', {}, el('button', {
    type: 'button', class: 'tag-chip folder-chip', 'data-folder': d.path, 'aria-label': t('folders.open', { name: d.name }),
    text: `${d.name}/`, onclick: () => openFolder(d.path),
  }))));
}

async function loadSubfolders() {
  const seq = ++state.folderSeq;
  try {
    const data = await api(`/folders${qs({ path: state.filters.folder ?? '/' })}`);
    if (seq !== state.folderSeq) return;
    state.subfolders = data?.folders || [];
  } catch (e) {
    if (seq !== state.folderSeq) return;
    state.subfolders = [];
    // The folder browsed is gone (moved or removed elsewhere): back to the root.
    if (e.status === 404 && state.filters.folder != null) { openFolder('/'); return; }
    reportError(e);
  }
  renderFolderBar();
}

/** Applies a fresh FileRecord/FileDetail to the list row and the open panel. */
export function updateFile(record) {
  const idx = state.files.findIndex((x) => x.id === record.id);
  if (idx >= 0) {
    state.files[idx] = { ...state.files[idx], ...record };
    findRow(record.id)?.replaceWith(fileRow(state.files[idx]));
  }
  if (state.selected?.id === record.id) {
    state.selected = { ...state.selected, ...record };
    app.renderPanel(state.selected);
  }
}

export function removeFileFromList(id) {
  state.files = state.files.filter((x) => x.id !== id);
  $(`#search-results li[data-id="${CSS.escape(id)}"]`)?.remove();
  renderFileList();
}

export function markSelectedRow() {
  $$('#file-list .file-row.selected').forEach((row) => row.classList.remove('selected'));
  if (state.selected) findRow(state.selected.id)?.classList.add('selected');
}

// --- polling of the tagging status while anything shown is pending/running
const fingerprint = (f) => JSON.stringify([f.status, f.status_reason, f.name, f.updated_at, f.tags]);

export function stopPolling() { clearTimeout(state.pollTimer); state.pollTimer = 0; }

export function schedulePoll() {
  stopPolling();
  if (session.user && (state.files.some(isBusy) || isBusy(state.selected))) state.pollTimer = setTimeout(pollStatuses, POLL_MS);
}

async function pollStatuses() {
  state.pollTimer = 0;
  const busy = state.files.filter(isBusy);
  if (isBusy(state.selected) && !busy.some((x) => x.id === state.selected.id)) busy.push(state.selected);
  const start = busy.length > POLL_BATCH ? state.pollOffset % busy.length : 0; // rotate through large sets
  const batch = [...busy.slice(start), ...busy.slice(0, start)].slice(0, POLL_BATCH);
  state.pollOffset += POLL_BATCH;
  const results = await Promise.allSettled(batch.map((f) => api(`/files/${f.id}`)));
  if (!session.user) return;
  let settled = false;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled' && r.value) {
      if (r.value.status !== batch[i].status && !isBusy(r.value)) settled = true;
      if (fingerprint(r.value) !== fingerprint(batch[i])) updateFile(r.value);
    } else if (r.reason?.status === 404) {
      removeFileFromList(batch[i].id);
    }
  });
  if (settled) app.refreshTagsSoon();
  schedulePoll();
}

// --- filters
export function setTagFilters(tags) {
  state.filters.tags = tags;
  renderActiveTags();
  loadFiles();
}

export function renderActiveTags() {
  const f = state.filters;
  $('#tag-filters').hidden = f.tags.length === 0;
  $('#active-tags').replaceChildren(...f.tags.map((tag) => el('li', {}, el('button', {
    type: 'button', class: 'tag-chip filter-chip', 'data-tag': tag, 'aria-label': t('filter.removeTag', { name: tag }),
    onclick: () => setTagFilters(f.tags.filter((x) => x !== tag)),
  }, tag, el('span', { 'aria-hidden': 'true', text: ' ×' })))));
  $('#tag-match').textContent = f.tagMatch === 'all' ? t('filter.matchAll') : t('filter.matchAny');
  app.renderTags?.();
}

export function bindFiles() {
  const bind = (id, key) => on(id, 'change', (e) => { state.filters[key] = e.target.value; loadFiles(); });
  [['#filter-media', 'media'], ['#filter-status', 'status'], ['#sort', 'sort'], ['#order', 'order']].forEach((a) => bind(...a));
  on('#tag-match', 'click', () => {
    state.filters.tagMatch = state.filters.tagMatch === 'all' ? 'any' : 'all';
    setTagFilters(state.filters.tags);
  });
  on('#clear-filters', 'click', () => setTagFilters([]));
  on('#load-more', 'click', () => loadFiles({ append: true }));
  Object.assign(app, { loadFiles, addFileToList, updateFile, removeFileFromList, schedulePoll, markSelectedRow, setTagFilters, openFolder });
  onLanguageChange(() => { if (session.user) { renderFileList(); renderActiveTags(); renderFolderBar(); } });
}
