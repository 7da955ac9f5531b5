/* Uploads: drag and drop of files and whole folders, pickers, per-file and overall progress, cancel. */
import { session, uploadFile } from './api.js';
import { $, el, humanSize, on } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { showMessage } from './message.js';
import { app, state } from './state.js';

const MAX_PARALLEL_UPLOADS = 3;
const up = { items: [], queue: [], active: 0 };
const isOpen = (item) => item.state === 'queued' || item.state === 'uploading';

const STATUS_KEYS = {
  queued: 'upload.queued', uploading: 'upload.uploading', done: 'upload.done',
  error: 'upload.failed', refused: 'upload.refused', cancelled: 'upload.cancelled',
};

/** Checks what can be checked before sending anything; returns a reason or ''. */
function refusal(file) {
  const max = Number(session.limits?.max_upload_bytes);
  if (Number.isFinite(max) && max > 0 && file.size > max) {
    return t('upload.tooLarge', { size: humanSize(file.size), limit: humanSize(max) });
  }
  if (!file.name.trim()) return t('upload.noName');
  return '';
}

// Refusals (checked here or by the server) are also summed up in the message bar, once per batch.
let refusedBatch = [];
function noteRefusal(item) {
  refusedBatch.push(item);
  if (refusedBatch.length > 1) return;
  queueMicrotask(() => setTimeout(() => {
    const batch = refusedBatch;
    refusedBatch = [];
    if (batch.length === 1) showMessage(t('upload.refusedOne', { name: batch[0].path, reason: batch[0].error }));
    else showMessage(t('upload.refusedMany', { n: batch.length }));
  }, 50));
}

export function addUploads(entries) {
  for (const { file, path } of entries) {
    const item = { file, name: file.name, path: path || file.name, loaded: 0, total: file.size, state: 'queued', abort: null };
    $('#upload-list').append(uploadRow(item));
    up.items.push(item);
    const reason = refusal(file);
    if (reason) failUpload(item, reason, 'refused');
    else up.queue.push(item);
  }
  pumpUploads();
  renderUploadSummary();
}

function uploadRow(item) {
  item.progressEl = el('progress', {
    class: 'progress', max: 100, value: 0, 'data-testid': 'upload-progress', 'aria-label': t('upload.progressOf', { name: item.path }),
  });
  item.statusEl = el('span', { class: 'upload-status', 'data-testid': 'upload-status' });
  item.cancelEl = el('button', {
    type: 'button', class: 'small cancel-upload', 'data-testid': 'cancel-upload', onclick: () => cancelUpload(item),
  });
  item.errorEl = el('p', { class: 'upload-error', 'data-testid': 'upload-error', role: 'alert', hidden: true });
  item.row = el('li', { class: 'upload-row', 'data-state': 'queued', 'data-path': item.path, 'data-testid': 'upload-row' },
    el('span', { class: 'upload-name', title: item.path, text: item.path }),
    el('span', { class: 'upload-size', text: humanSize(item.file.size) }),
    item.progressEl, item.statusEl, item.cancelEl, item.errorEl);
  labelRow(item);
  return item.row;
}

function labelRow(item) {
  item.statusEl.textContent = t(STATUS_KEYS[item.state]) + (item.httpStatus ? ` (${item.httpStatus})` : '');
  item.cancelEl.textContent = t('upload.cancel');
  item.cancelEl.setAttribute('aria-label', t('upload.cancelOf', { name: item.path }));
  item.progressEl.setAttribute('aria-label', t('upload.progressOf', { name: item.path }));
}

function setUploadState(item, st) {
  item.state = st;
  item.row.dataset.state = st;
  item.cancelEl.hidden = !isOpen(item);
  if (st === 'done') item.progressEl.value = 100;
  labelRow(item);
}

function pumpUploads() {
  while (session.token && up.active < MAX_PARALLEL_UPLOADS && up.queue.length) startUpload(up.queue.shift());
}

function startUpload(item) {
  up.active += 1;
  setUploadState(item, 'uploading');
  // Into the folder being browsed, keeping a dropped folder's own tree beneath it.
  const slash = item.path.lastIndexOf('/');
  const dropped = slash > 0 ? item.path.slice(0, slash) : '';
  const base = state.filters.folder && state.filters.folder !== '/' ? state.filters.folder : '';
  const folder = [base, dropped].filter(Boolean).join('/');
  const { abort, promise } = uploadFile(item.file, item.name, folder, (loaded, total) => {
    item.loaded = loaded;
    item.total = total || item.total;
    item.progressEl.value = item.total ? Math.round((item.loaded / item.total) * 100) : 0;
    scheduleUploadSummary();
  });
  item.abort = abort;
  promise.then((record) => {
    item.loaded = item.total;
    setUploadState(item, 'done');
    if (record?.id) { item.row.dataset.id = record.id; onUploaded(record); }
  }, (err) => {
    if (err.name === 'AbortError' || item.state === 'cancelled') return;
    item.httpStatus = err.status || 0;
    const detail = err.detail || err.message;
    failUpload(item, err.title && err.title !== detail ? `${err.title}: ${detail}` : detail, 'error');
  }).finally(() => {
    up.active -= 1;
    item.abort = null;
    pumpUploads();
    renderUploadSummary();
    if (up.active === 0 && up.queue.length === 0) onUploadsIdle();
  });
}

function failUpload(item, detail, st) {
  item.error = detail;
  setUploadState(item, st);
  Object.assign(item.errorEl, { textContent: detail, hidden: false });
  noteRefusal(item);
}

function cancelUpload(item) {
  if (!isOpen(item)) return;
  up.queue = up.queue.filter((q) => q !== item);
  setUploadState(item, 'cancelled');
  item.abort?.();
  renderUploadSummary();
}

export const cancelAllUploads = () => [...up.items].forEach(cancelUpload);

export function resetUploads() {
  cancelAllUploads();
  up.items = [];
  $('#upload-list').replaceChildren();
  renderUploadSummary();
}

function clearFinishedUploads() {
  up.items.filter((item) => !isOpen(item)).forEach((item) => item.row.remove());
  up.items = up.items.filter(isOpen);
  renderUploadSummary();
}

let summaryFrame = 0;
function scheduleUploadSummary() {
  if (!summaryFrame) summaryFrame = requestAnimationFrame(() => { summaryFrame = 0; renderUploadSummary(); });
}

function renderUploadSummary() {
  const items = up.items.filter((i) => i.state !== 'cancelled');
  let total = 0, sent = 0, done = 0, failed = 0;
  for (const i of items) {
    if (i.state === 'refused') { failed += 1; continue; }
    total += i.total;
    sent += i.state === 'uploading' ? Math.min(i.loaded, i.total) : (i.state === 'queued' ? 0 : i.total);
    done += i.state === 'done' ? 1 : 0;
    failed += i.state === 'error' ? 1 : 0;
  }
  const finished = items.length > 0 && done + failed === items.length;
  $('#overall-progress').value = total ? Math.round((sent / total) * 100) : (finished ? 100 : 0);
  $('#overall-text').textContent = [t('upload.summary', { done, n: items.length }), failed ? t('upload.summaryFailed', { n: failed }) : '',
    t('upload.summaryBytes', { sent: humanSize(sent), total: humanSize(total) })].filter(Boolean).join(' · ');
  $('#upload-summary').hidden = up.items.length === 0;
  $('#cancel-all').disabled = !up.items.some(isOpen);
}

/** Shows a new upload at the top of the list when it fits the current view; otherwise reloads once idle. */
function onUploaded(record) {
  const f = state.filters;
  const fits = !f.tags.length && f.sort === 'created' && f.order === 'desc' && (!f.status || f.status === record.status)
    && (!f.media || String(record.media_type).startsWith(`${f.media}/`));
  if (!fits) { state.reloadWhenIdle = true; return; }
  app.addFileToList(record);
}

function onUploadsIdle() {
  if (!session.user) return;
  if (state.reloadWhenIdle) { state.reloadWhenIdle = false; app.loadFiles(); }
  app.refreshTagsSoon();
}

// --- drag & drop (files and whole folders) and pickers
async function readEntry(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, path: prefix + file.name });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) { // readEntries returns the directory in batches, then an empty one
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await readEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

async function handleDrop(dt) {
  const sources = []; // collected synchronously: the items are gone once the drop handler returns
  for (const item of dt.items ? [...dt.items] : []) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    const file = entry ? null : item.getAsFile();
    if (entry || file) sources.push({ entry, file });
  }
  if (!sources.length) { addUploads([...(dt.files || [])].map((file) => ({ file, path: file.name }))); return; }
  const out = [];
  try {
    for (const s of sources) {
      if (s.entry) await readEntry(s.entry, '', out);
      else out.push({ file: s.file, path: s.file.name });
    }
  } catch (e) {
    showMessage(t('upload.readError', { error: e.message || String(e) }));
  }
  addUploads(out);
}

export function bindUploads() {
  const zone = $('#drop-zone');
  let depth = 0;
  const setOver = (over) => zone.classList.toggle('dragover', over);
  zone.addEventListener('dragenter', (e) => {
    if (![...(e.dataTransfer?.types || [])].includes('Files')) return;
    e.preventDefault();
    depth += 1;
    setOver(true);
  });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; });
  zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) setOver(false); });
  zone.addEventListener('drop', (e) => { e.preventDefault(); depth = 0; setOver(false); handleDrop(e.dataTransfer); });
  // A file dropped beside the zone must not make the browser navigate away.
  window.addEventListener('dragover', (e) => {
    if (zone.contains(e.target)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'none';
  });
  window.addEventListener('drop', (e) => { if (!zone.contains(e.target)) e.preventDefault(); });
  const onPicked = (e) => {
    addUploads([...e.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    e.target.value = '';
  };
  on('#pick-files', 'click', () => $('#file-input').click());
  on('#pick-folder', 'click', () => $('#folder-input').click());
  on('#file-input', 'change', onPicked);
  on('#folder-input', 'change', onPicked);
  on('#cancel-all', 'click', cancelAllUploads);
  on('#clear-uploads', 'click', clearFinishedUploads);
  onLanguageChange(() => { up.items.forEach(labelRow); renderUploadSummary(); });
}
