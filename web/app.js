/* GraphFS web page: plain ES2022, no dependencies, CSP-safe (no inline code, no innerHTML with server data). */
'use strict';

(() => {
  // ------------------------------------------------------------------ constants
  const API = '/api/v1';
  const TOKEN_KEY = 'graphfs.token';
  const PAGE_SIZE = 50;
  const MAX_PARALLEL_UPLOADS = 3;
  const POLL_MS = 2000;
  const POLL_BATCH = 20;
  const DEBOUNCE_MS = 250;
  const PREVIEW_TEXT_BYTES = 64 * 1024;
  const AUTO_PREVIEW_MAX = 25 * 1024 * 1024;
  const GRAPH_MAX_NODES = 200;
  const DOUBLE_CLICK_MS = 250;

  const FAMILY_COLORS = {
    text: '#2563eb', image: '#16a34a', audio: '#d97706', video: '#c026d3', application: '#7c3aed', other: '#64748b',
  };
  const TAG_COLORS = { fill: '#fef3c7', stroke: '#b45309', text: '#78350f' };
  const EDGE_STYLES = {
    TAGGED: { color: '#94a3b8', dash: [], label: 'Tagged (file → tag)' },
    SIMILAR: { color: '#0d9488', dash: [6, 4], label: 'Similar (file ↔ file)' },
    CO_OCCURS: { color: '#ea580c', dash: [2, 3], label: 'Co-occurs (tag ↔ tag)' },
  };

  // ------------------------------------------------------------------ state
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    user: null,
    filters: { media: '', status: '', tags: [], tagMatch: 'all', sort: 'created', order: 'desc' },
    files: [], cursor: null, listSeq: 0, reloadWhenIdle: false,
    pollTimer: 0, pollOffset: 0,
    selected: null, panelSeq: 0, panelUrls: [],
    tagItems: [], tagsSeq: 0, activeTag: null,
    searchCtl: null, searchHits: [],
  };

  // ------------------------------------------------------------------ helpers
  const $ = (sel, root = document) => root.querySelector(sel);
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const isBusy = (f) => Boolean(f) && (f.status === 'pending' || f.status === 'running');
  const setHidden = (hidden, ...sels) => sels.forEach((s) => { $(s).hidden = hidden; });
  const on = (sel, type, fn, opts) => $(sel).addEventListener(type, fn, opts);
  const muted = (text, tag = 'p') => el(tag, { class: 'muted', text });

  /** Creates an element. attrs: class, text, on<event> handlers; anything else becomes an attribute. */
  function el(tag, attrs = {}, ...children) {
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

  function debounce(fn, ms) {
    let timer = 0;
    const wrapped = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
    wrapped.cancel = () => clearTimeout(timer);
    return wrapped;
  }

  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
      else if (v !== '' && v != null) u.append(k, String(v));
    }
    return u.toString() ? `?${u}` : '';
  }

  function humanSize(bytes) {
    if (bytes == null || !Number.isFinite(Number(bytes))) return '—';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = Number(bytes);
    let i = 0;
    for (; v >= 1024 && i < units.length - 1; i += 1) v /= 1024;
    return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
  }

  const fmtDate = (s) => (Number.isNaN(new Date(s).getTime()) ? (s || '—') : new Date(s).toLocaleString());
  const humanizeKey = (k) => String(k).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

  function fmtValue(v) {
    if (v == null) return '—';
    if (Array.isArray(v)) return v.map(fmtValue).join(', ');
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }

  function mediaFamily(type) {
    const family = String(type || '').split('/')[0].toLowerCase();
    return Object.hasOwn(FAMILY_COLORS, family) ? family : 'other';
  }

  function isTextLike(type) {
    const t = String(type || '').toLowerCase().split(';')[0].trim();
    return t.startsWith('text/') || /\+(json|xml)$/.test(t)
      || /^application\/(json|xml|javascript|x-javascript|ecmascript|x-yaml|yaml|toml|x-sh|sql|x-ndjson|csv)$/.test(t);
  }

  // ------------------------------------------------------------------ API wrapper
  const httpError = (status, detail, title = '') => Object.assign(new Error(detail), { status, detail, title });

  /** Turns an error body (problem document or text) into an Error with .status and .detail; a 401 signs out. */
  function problemFromBody(status, text, contentType, fallback, token) {
    let detail = '';
    let title = '';
    if (text && /json/i.test(contentType || '')) {
      try { ({ detail = '', title = '' } = JSON.parse(text) || {}); } catch { /* not JSON after all */ }
    } else if (text && text.length < 300 && !/^\s*</.test(text)) {
      detail = text.trim();
    }
    detail = detail || title || fallback || `Request failed (HTTP ${status})`;
    if (status === 401 && token && token === state.token) onUnauthorized(detail);
    return httpError(status, detail, title);
  }

  /** fetch() with the token; JSON in and out; non-2xx responses throw Errors with .status and .detail. */
  async function api(path, { method = 'GET', json, headers = {}, raw = false, signal } = {}) {
    const token = state.token;
    const h = new Headers(headers);
    if (token) h.set('Authorization', `Bearer ${token}`);
    if (json !== undefined) h.set('Content-Type', 'application/json');
    const body = json === undefined ? undefined : JSON.stringify(json);
    let res;
    try {
      res = await fetch(API + path, { method, headers: h, body, signal, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      throw e.name === 'AbortError' ? e : httpError(0, 'Network error: the server could not be reached.');
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      const err = problemFromBody(res.status, text, res.headers.get('Content-Type'), res.statusText, token);
      const retry = res.headers.get('Retry-After');
      if (retry && (res.status === 429 || res.status === 503)) err.message = err.detail += ` (try again in ${retry} s)`;
      throw err;
    }
    if (raw) return res;
    const text = res.status === 204 ? '' : await res.text();
    if (!text) return null;
    return /json/i.test(res.headers.get('Content-Type') || '') ? JSON.parse(text) : text;
  }

  // ------------------------------------------------------------------ message bar
  let messageTimer = 0;

  function showMessage(text, kind = 'error') {
    const bar = $('#message');
    $('#message-text').textContent = text;
    bar.dataset.kind = kind;
    bar.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    bar.hidden = false;
    clearTimeout(messageTimer);
    if (kind !== 'error') messageTimer = setTimeout(hideMessage, 5000);
  }

  function hideMessage() { $('#message').hidden = true; }

  function reportError(err) {
    if (!err || err.name === 'AbortError' || err.status === 401) return; // a 401 was handled by onUnauthorized
    console.error(err);
    showMessage(err.detail || err.message || String(err));
  }

  // ------------------------------------------------------------------ authentication
  function onUnauthorized(detail) {
    const hadSession = Boolean(state.user);
    signOut();
    showMessage(hadSession ? `Your session has ended (${detail}). Please sign in again.` : `The token was not accepted: ${detail}`);
  }

  async function signIn(token) {
    state.token = token.trim();
    if (!state.token) { showMessage('Please enter the access token.'); return; }
    try {
      const me = await api('/me');
      sessionStorage.setItem(TOKEN_KEY, state.token);
      hideMessage();
      enterApp(me.user);
    } catch (e) {
      if (e.status !== 401) { state.token = ''; reportError(e); }
    }
  }

  function signOut() {
    Object.assign(state, { token: '', user: null, files: [], cursor: null, activeTag: null, listSeq: state.listSeq + 1 });
    state.filters.tags = [];
    sessionStorage.removeItem(TOKEN_KEY);
    cancelAllUploads();
    up.items = [];
    renderUploadSummary();
    stopPolling();
    state.searchCtl?.abort();
    $('#search-input').value = '';
    hideSearch();
    clearPanel();
    resetGraph();
    for (const id of ['#upload-list', '#file-list', '#tags-list', '#active-tags']) $(id).replaceChildren();
    setHidden(true, '#related-box', '#app-view', '#user-box', '#search-box');
    setHidden(false, '#signin-view');
    $('#token-input').value = '';
    $('#token-input').focus();
  }

  function enterApp(user) {
    state.user = user;
    setHidden(true, '#signin-view');
    setHidden(false, '#app-view', '#user-box', '#search-box');
    $('#current-user').textContent = `Signed in as ${user}`;
    renderActiveTags();
    showTab('files');
    loadFiles();
    loadTags();
  }

  // ------------------------------------------------------------------ uploads
  const up = { items: [], queue: [], active: 0 };
  const isOpen = (item) => item.state === 'queued' || item.state === 'uploading';

  function addUploads(entries) {
    for (const { file, path } of entries) {
      const item = { file, name: file.name, path: path || file.name, loaded: 0, total: file.size, state: 'queued', xhr: null };
      $('#upload-list').append(uploadRow(item));
      up.items.push(item);
      up.queue.push(item);
    }
    pumpUploads();
    renderUploadSummary();
  }

  function uploadRow(item) {
    item.progressEl = el('progress', { class: 'progress', max: 100, value: 0, 'aria-label': `Upload progress of ${item.path}` });
    item.statusEl = el('span', { class: 'upload-status', text: 'Queued' });
    item.cancelEl = el('button', {
      type: 'button', class: 'small cancel-upload', text: 'Cancel', 'aria-label': `Cancel upload of ${item.path}`,
      onclick: () => cancelUpload(item),
    });
    item.errorEl = el('p', { class: 'upload-error', hidden: true });
    item.row = el('li', { class: 'upload-row', 'data-state': 'queued' },
      el('span', { class: 'upload-name', title: item.path, text: item.path }),
      el('span', { class: 'upload-size', text: humanSize(item.file.size) }),
      item.progressEl, item.statusEl, item.cancelEl, item.errorEl);
    return item.row;
  }

  function setUploadState(item, st, text) {
    item.state = st;
    item.row.dataset.state = st;
    item.statusEl.textContent = text;
    item.cancelEl.hidden = !isOpen(item);
    if (st === 'done') item.progressEl.value = 100;
  }

  function pumpUploads() {
    while (state.token && up.active < MAX_PARALLEL_UPLOADS && up.queue.length) startUpload(up.queue.shift());
  }

  /** Raw-body upload with XMLHttpRequest, which (unlike fetch) reports upload progress. */
  function startUpload(item) {
    const token = state.token;
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    up.active += 1;
    setUploadState(item, 'uploading', 'Uploading…');
    xhr.open('POST', `${API}/files?name=${encodeURIComponent(item.name)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', item.file.type || 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => {
      item.loaded = e.loaded;
      if (e.lengthComputable) item.total = e.total;
      item.progressEl.value = item.total ? Math.round((item.loaded / item.total) * 100) : 0;
      scheduleUploadSummary();
    });
    xhr.addEventListener('load', () => finishUpload(item, xhr, token));
    xhr.addEventListener('error', () => failUpload(item, 'Network error: the upload was interrupted or refused by the server.', 0));
    xhr.addEventListener('loadend', () => {
      up.active -= 1;
      item.xhr = null;
      pumpUploads();
      renderUploadSummary();
      if (up.active === 0 && up.queue.length === 0) onUploadsIdle();
    });
    xhr.send(item.file);
  }

  function finishUpload(item, xhr, token) {
    if (xhr.status < 200 || xhr.status >= 300) {
      const err = problemFromBody(xhr.status, xhr.responseText, xhr.getResponseHeader('Content-Type'), xhr.statusText, token);
      failUpload(item, err.detail, xhr.status);
      return;
    }
    item.loaded = item.total;
    setUploadState(item, 'done', 'Uploaded');
    let record = null;
    try { record = JSON.parse(xhr.responseText); } catch { /* no body */ }
    if (record?.id) onUploaded(record);
  }

  function failUpload(item, detail, status) {
    if (item.state === 'cancelled') return;
    const label = { 413: 'Too large', 400: 'Refused', 415: 'Unsupported' }[status] || 'Failed';
    setUploadState(item, 'error', status ? `${label} (${status})` : label);
    Object.assign(item.errorEl, { textContent: detail, hidden: false });
  }

  function cancelUpload(item) {
    if (!isOpen(item)) return;
    up.queue = up.queue.filter((q) => q !== item);
    setUploadState(item, 'cancelled', 'Cancelled');
    item.xhr?.abort(); // fires abort + loadend synchronously
    renderUploadSummary();
  }

  const cancelAllUploads = () => [...up.items].forEach(cancelUpload);

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
      total += i.total;
      sent += i.state === 'uploading' ? Math.min(i.loaded, i.total) : (i.state === 'queued' ? 0 : i.total);
      done += i.state === 'done' ? 1 : 0;
      failed += i.state === 'error' ? 1 : 0;
    }
    const finished = items.length > 0 && done + failed === items.length;
    $('#overall-progress').value = total ? Math.round((sent / total) * 100) : (finished ? 100 : 0);
    $('#overall-text').textContent = [`${done} of ${items.length} uploaded`, failed ? `${failed} failed` : '',
      `${humanSize(sent)} of ${humanSize(total)}`].filter(Boolean).join(' · ');
    $('#upload-summary').hidden = up.items.length === 0;
    $('#cancel-all').disabled = !up.items.some(isOpen);
  }

  /** Shows a new upload at the top of the list when it fits the current view; otherwise reloads once idle. */
  function onUploaded(record) {
    const f = state.filters;
    const fits = !f.tags.length && f.sort === 'created' && f.order === 'desc' && (!f.status || f.status === record.status)
      && (!f.media || String(record.media_type).startsWith(`${f.media}/`));
    if (!fits) { state.reloadWhenIdle = true; return; }
    if (!state.files.some((x) => x.id === record.id)) { state.files.unshift(record); renderFileList(); }
    schedulePoll();
  }

  function onUploadsIdle() {
    if (!state.user) return;
    if (state.reloadWhenIdle) { state.reloadWhenIdle = false; loadFiles(); }
    refreshTagsSoon();
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
      showMessage(`Some dropped items could not be read: ${e.message || e}`);
    }
    addUploads(out);
  }

  function bindUploads() {
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
  }

  // ------------------------------------------------------------------ file list
  function listQuery(cursor) {
    const f = state.filters;
    return qs({
      tag: f.tags, tag_match: f.tags.length ? f.tagMatch : '', media_type: f.media ? `${f.media}/` : '',
      status: f.status, sort: f.sort, order: f.order, limit: PAGE_SIZE, cursor,
    });
  }

  async function loadFiles({ append = false } = {}) {
    const seq = ++state.listSeq;
    const list = $('#file-list');
    $('#load-more').disabled = true;
    list.setAttribute('aria-busy', 'true');
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

  function statusBadge(f) {
    const badge = el('span', { class: `badge status-${f.status}`, text: f.status });
    if (f.status === 'failed' && f.status_reason) { // the reason as a tooltip, and as text for screen readers
      badge.title = f.status_reason;
      badge.append(el('span', { class: 'visually-hidden', text: `: ${f.status_reason}` }));
    }
    return badge;
  }

  function tagChipButtons(tags = [], max = 8) {
    const chips = tags.slice(0, max).map((t) => el('button', {
      type: 'button', class: 'tag-chip', 'data-tag': t.name, text: t.name,
      title: `Filter by “${t.name}” (${t.source}${t.score != null ? `, score ${Number(t.score).toFixed(2)}` : ''})`,
      onclick: (e) => { e.stopPropagation(); selectTag(t.name, { toggle: false }); },
    }));
    return tags.length > max ? [...chips, muted(`+${tags.length - max}`, 'span')] : chips;
  }

  function fileRow(f) {
    const row = el('tr', { class: 'file-row', 'data-id': f.id, 'data-status': f.status },
      el('td', { class: 'col-name' }, el('button', { type: 'button', class: 'link file-name', title: f.name, text: f.name })),
      el('td', { class: 'num', text: humanSize(f.size) }),
      el('td', { class: 'col-type', text: f.media_type }),
      el('td', {}, statusBadge(f)),
      el('td', { class: 'col-tags' }, tagChipButtons(f.tags)));
    if (state.selected?.id === f.id) row.classList.add('selected');
    row.addEventListener('click', (e) => { if (!e.target.closest('.tag-chip')) openFile(f.id); });
    return row;
  }

  function renderFileList() {
    const f = state.filters;
    const n = state.files.length;
    $('#file-list').replaceChildren(...state.files.map(fileRow));
    Object.assign($('#file-empty'), {
      hidden: n > 0,
      textContent: f.tags.length || f.media || f.status ? 'No files match these filters.' : 'No files yet. Drop files here to start.',
    });
    $('#load-more').hidden = !state.cursor;
    $('#file-count').textContent = n ? `${plural(n, 'file')} shown${state.cursor ? ' (more available)' : ''}` : '';
  }

  const findRow = (id) => $(`#file-list .file-row[data-id="${CSS.escape(id)}"]`);

  /** Applies a fresh FileRecord/FileDetail to the list row and the open panel. */
  function updateFile(record) {
    const idx = state.files.findIndex((x) => x.id === record.id);
    if (idx >= 0) {
      state.files[idx] = { ...state.files[idx], ...record };
      findRow(record.id)?.replaceWith(fileRow(state.files[idx]));
    }
    if (state.selected?.id === record.id) {
      state.selected = { ...state.selected, ...record };
      renderPanel(state.selected);
    }
  }

  function removeFileFromList(id) {
    state.files = state.files.filter((x) => x.id !== id);
    $(`#search-results li[data-id="${CSS.escape(id)}"]`)?.remove();
    renderFileList();
  }

  function markSelectedRow() {
    document.querySelectorAll('#file-list .file-row.selected').forEach((row) => row.classList.remove('selected'));
    if (state.selected) findRow(state.selected.id)?.classList.add('selected');
  }

  // --- polling of the tagging status while anything shown is pending/running
  const fingerprint = (f) => JSON.stringify([f.status, f.status_reason, f.name, f.updated_at, f.tags]);

  function stopPolling() { clearTimeout(state.pollTimer); state.pollTimer = 0; }

  function schedulePoll() {
    stopPolling();
    if (state.user && (state.files.some(isBusy) || isBusy(state.selected))) state.pollTimer = setTimeout(pollStatuses, POLL_MS);
  }

  async function pollStatuses() {
    state.pollTimer = 0;
    const busy = state.files.filter(isBusy);
    if (isBusy(state.selected) && !busy.some((x) => x.id === state.selected.id)) busy.push(state.selected);
    const start = busy.length > POLL_BATCH ? state.pollOffset % busy.length : 0; // rotate through large sets
    const batch = [...busy.slice(start), ...busy.slice(0, start)].slice(0, POLL_BATCH);
    state.pollOffset += POLL_BATCH;
    const results = await Promise.allSettled(batch.map((f) => api(`/files/${f.id}`)));
    if (!state.user) return;
    let settled = false;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled' && r.value) {
        if (r.value.status !== batch[i].status && !isBusy(r.value)) settled = true;
        if (fingerprint(r.value) !== fingerprint(batch[i])) updateFile(r.value);
      } else if (r.reason?.status === 404) {
        removeFileFromList(batch[i].id);
      }
    });
    if (settled) refreshTagsSoon();
    schedulePoll();
  }

  // --- filters
  function bindFilters() {
    const bind = (id, key) => on(id, 'change', (e) => { state.filters[key] = e.target.value; loadFiles(); });
    [['#filter-media', 'media'], ['#filter-status', 'status'], ['#sort', 'sort'], ['#order', 'order']].forEach((a) => bind(...a));
    on('#tag-match', 'click', () => {
      state.filters.tagMatch = state.filters.tagMatch === 'all' ? 'any' : 'all';
      setTagFilters(state.filters.tags);
    });
    on('#clear-filters', 'click', () => setTagFilters([]));
    on('#load-more', 'click', () => loadFiles({ append: true }));
  }

  function setTagFilters(tags) {
    state.filters.tags = tags;
    renderActiveTags();
    loadFiles();
  }

  function renderActiveTags() {
    const f = state.filters;
    $('#tag-filters').hidden = f.tags.length === 0;
    $('#active-tags').replaceChildren(...f.tags.map((t) => el('li', {}, el('button', {
      type: 'button', class: 'tag-chip filter-chip', 'data-tag': t, 'aria-label': `Remove tag filter ${t}`,
      onclick: () => setTagFilters(f.tags.filter((x) => x !== t)),
    }, t, el('span', { 'aria-hidden': 'true', text: ' ×' })))));
    $('#tag-match').textContent = f.tagMatch === 'all' ? 'Match all tags' : 'Match any tag';
    renderTags();
  }

  // ------------------------------------------------------------------ tags sidebar
  async function loadTags() {
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

  const refreshTagsSoon = debounce(() => { if (state.user) loadTags(); }, 800);

  function renderTags() {
    const active = new Set(state.filters.tags);
    $('#tags-list').replaceChildren(...state.tagItems.map((t) => el('li', {}, el('button', {
      type: 'button', class: 'tag-link', 'data-tag': t.name, 'aria-pressed': String(active.has(t.name)),
      title: t.aliases?.length ? `Also known as: ${t.aliases.join(', ')}` : null, onclick: () => selectTag(t.name),
    }, el('span', { class: 'tag-name', text: t.name }), el('span', { class: 'count', text: String(t.count) })))));
    Object.assign($('#tags-empty'), {
      hidden: state.tagItems.length > 0,
      textContent: $('#tag-filter').value.trim() ? 'No tags start with that text.'
        : 'No tags yet. Tags appear once uploaded files have been processed.',
    });
  }

  /** Filters the list by a tag (a second click on a sidebar tag removes it) and shows its related tags. */
  function selectTag(name, { toggle = true } = {}) {
    const tags = state.filters.tags;
    if (toggle && tags.includes(name)) { setTagFilters(tags.filter((t) => t !== name)); return; }
    if (!tags.includes(name)) setTagFilters([...tags, name]);
    showRelated(name);
    showTab('files');
  }

  async function showRelated(name) {
    state.activeTag = name;
    $('#related-box').hidden = false;
    $('#related-title').textContent = `Related to “${name}”`;
    const list = $('#related-list');
    list.replaceChildren(muted('Loading…', 'li'));
    try {
      const data = await api(`/tags/${encodeURIComponent(name)}/related${qs({ limit: 20 })}`);
      if (state.activeTag !== name) return;
      const items = data?.items || [];
      list.replaceChildren(...(items.length ? items.map((t) => el('li', {}, el('button', {
        type: 'button', class: 'tag-chip', 'data-tag': t.name, title: `Filter by “${t.name}”`,
        onclick: () => selectTag(t.name, { toggle: false }),
      }, t.name, el('span', { class: 'count', text: ` ${t.count}` })))) : [muted('No related tags.', 'li')]));
    } catch (e) {
      list.replaceChildren();
      reportError(e);
    }
  }

  // ------------------------------------------------------------------ search
  /** Renders "…text with [matched] terms…" with the bracketed terms as <mark>, using text nodes only. */
  function snippetNodes(text) {
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

  function hideSearch() {
    state.searchHits = [];
    $('#search-section').hidden = true;
    $('#search-results').replaceChildren();
  }

  async function runSearch() {
    const q = $('#search-input').value.trim();
    state.searchCtl?.abort();
    if (!q) { hideSearch(); return; }
    const ctl = new AbortController();
    state.searchCtl = ctl;
    $('#search-section').hidden = false;
    $('#search-status').textContent = 'Searching…';
    try {
      const data = await api(`/search${qs({ q, limit: 20 })}`, { signal: ctl.signal });
      if (!ctl.signal.aborted) renderSearch(q, data?.items || []);
    } catch (e) {
      if (e.name === 'AbortError') return;
      $('#search-status').textContent = 'Search failed.';
      reportError(e);
    }
  }

  function searchHit(hit) {
    const f = hit.file;
    return el('li', { class: 'search-hit', 'data-id': f.id },
      el('div', { class: 'hit-head' },
        el('button', { type: 'button', class: 'link hit-name', text: f.name, onclick: () => openFile(f.id) }),
        el('span', { class: 'matched', title: 'Matched in' }, (hit.matched || []).map((m) => el('span', { class: `match match-${m}`, text: m }))),
        muted(`${f.media_type} · ${humanSize(f.size)}`, 'span')),
      hit.snippet ? el('p', { class: 'snippet' }, snippetNodes(hit.snippet)) : null);
  }

  function renderSearch(q, hits) {
    state.searchHits = hits;
    $('#search-results').replaceChildren(...hits.map(searchHit));
    $('#search-status').textContent = hits.length ? `${plural(hits.length, 'result')} for “${q}”` : `No matches for “${q}”.`;
    $('#search-graph').disabled = hits.length === 0;
  }

  function bindSearch() {
    const input = $('#search-input');
    const debounced = debounce(runSearch, DEBOUNCE_MS);
    input.addEventListener('input', debounced);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') input.value = '';
      if (e.key === 'Enter' || e.key === 'Escape') { debounced.cancel(); runSearch(); }
    });
    on('#search-clear', 'click', () => { input.value = ''; runSearch(); input.focus(); });
    on('#search-graph', 'click', () => { if (state.searchHits[0]) openGraph({ file: state.searchHits[0].file.id }); });
  }

  // ------------------------------------------------------------------ file panel
  async function openFile(id) {
    const seq = ++state.panelSeq;
    const panel = $('#file-panel');
    panel.setAttribute('aria-busy', 'true');
    try {
      const detail = await api(`/files/${encodeURIComponent(id)}`);
      if (seq !== state.panelSeq) return;
      revokePanelUrls();
      state.selected = detail;
      renderPanel(detail, { fresh: true });
      markSelectedRow();
      loadPreview(detail, seq);
      schedulePoll();
      if (window.matchMedia('(max-width: 1100px)').matches) panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
      $('#panel-title').focus({ preventScroll: true });
    } catch (e) {
      if (e.status === 404) removeFileFromList(id);
      reportError(e);
    } finally {
      if (seq === state.panelSeq) panel.removeAttribute('aria-busy');
    }
  }

  function revokePanelUrls() {
    state.panelUrls.forEach((url) => URL.revokeObjectURL(url));
    state.panelUrls = [];
  }

  function clearPanel() {
    state.panelSeq += 1;
    state.selected = null;
    revokePanelUrls();
    $('#panel-preview').replaceChildren();
    setHidden(true, '#panel-body');
    setHidden(false, '#panel-empty');
    markSelectedRow();
  }

  function renderPanel(d, { fresh = false } = {}) {
    setHidden(true, '#panel-empty');
    setHidden(false, '#panel-body');
    Object.assign($('#panel-title'), { textContent: d.name, title: d.name });
    $('#panel-status').replaceChildren(statusBadge(d),
      ...(d.status === 'failed' && d.status_reason ? [el('span', { class: 'reason', text: d.status_reason })] : []));
    if (fresh) { $('#rename-input').value = d.name; $('#tag-input').value = ''; }
    const owner = !state.user || d.owner === state.user; // only the owner may change a file
    Object.assign($('#panel-readonly'), { hidden: owner, textContent: owner ? '' : `Shared with you by ${d.owner} (read-only).` });
    for (const id of ['#rename-input', '#rename', '#tag-input', '#add-tag', '#delete']) $(id).disabled = !owner;
    renderPanelTags(d, owner);
    renderSimilar(d);
    renderMeta(d);
  }

  function renderPanelTags(d, editable) {
    const tags = d.tags || [];
    $('#panel-tags').replaceChildren(...(tags.length ? tags.map((t) => el('li', { class: 'tag-chip', 'data-tag': t.name },
      el('span', { class: 'tag-name', text: t.name }),
      el('span', { class: 'tag-meta', text: `${t.source}${t.score != null ? ` · ${Number(t.score).toFixed(2)}` : ''}` }),
      el('button', {
        type: 'button', class: 'remove-tag icon', text: '×', 'aria-label': `Remove tag ${t.name}`, title: `Remove tag ${t.name}`,
        disabled: !editable, onclick: () => patchSelected({ remove_tags: [t.name] }),
      }))) : [muted(isBusy(d) ? 'Tagging in progress…' : 'No tags.', 'li')]));
  }

  function renderSimilar(d) {
    const similar = d.similar || [];
    $('#panel-similar').replaceChildren(...(similar.length ? similar.map((s) => el('li', {},
      el('button', { type: 'button', class: 'link', text: s.name, onclick: () => openFile(s.id) }),
      muted(` ${Number(s.score).toFixed(2)}`, 'span'))) : [muted('No similar files found.', 'li')]));
  }

  function renderMeta(d) {
    const rows = [
      ['Size', `${humanSize(d.size)} (${d.size} bytes)`], ['Media type', d.media_type],
      ['Status', d.status_reason ? `${d.status}: ${d.status_reason}` : d.status], ['Owner', d.owner],
      ['Shared with', (d.shared_with || []).join(', ') || '—'], ['Created', fmtDate(d.created_at)],
      ['Updated', fmtDate(d.updated_at)], ['SHA-256', d.sha256], ['ID', d.id],
      ...Object.entries(d.metadata || {}).map(([k, v]) => [humanizeKey(k), v]),
    ];
    $('#panel-meta').replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: fmtValue(v) }))));
  }

  async function patchSelected(body) {
    if (!state.selected) return null;
    try {
      const detail = await api(`/files/${state.selected.id}`, { method: 'PATCH', json: body });
      updateFile(detail);
      refreshTagsSoon();
      return detail;
    } catch (e) {
      reportError(e);
      return null;
    }
  }

  /** Fetches the content with the Authorization header and saves it under the file's name. */
  async function downloadSelected() {
    const d = state.selected;
    const button = $('#download');
    if (!d) return;
    Object.assign(button, { disabled: true, textContent: 'Downloading…' });
    try {
      const blob = await (await api(`/files/${d.id}/content`, { raw: true })).blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: d.name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      reportError(e);
    } finally {
      Object.assign(button, { disabled: false, textContent: 'Download' });
    }
  }

  function loadPreview(d, seq) {
    const box = $('#panel-preview');
    const text = isTextLike(d.media_type);
    if (!text && !['image', 'audio', 'video'].includes(mediaFamily(d.media_type))) box.replaceChildren(muted('No preview for this type of file.'));
    else if (d.size === 0) box.replaceChildren(muted('The file is empty.'));
    else if (!text && d.size > AUTO_PREVIEW_MAX) {
      box.replaceChildren(el('button', { type: 'button', text: `Load preview (${humanSize(d.size)})`, onclick: () => showPreview(d, seq, false) }));
    } else showPreview(d, seq, text);
  }

  async function showPreview(d, seq, text) {
    const box = $('#panel-preview');
    box.replaceChildren(muted('Loading preview…'));
    try {
      const headers = text ? { Range: `bytes=0-${PREVIEW_TEXT_BYTES - 1}` } : {};
      const res = await api(`/files/${d.id}/content?disposition=inline`, { raw: true, headers });
      const blob = await res.blob();
      if (seq !== state.panelSeq) return;
      if (text) { // slice too, in case the server answered 200 with the whole file
        const content = new TextDecoder('utf-8').decode(await blob.slice(0, PREVIEW_TEXT_BYTES).arrayBuffer());
        box.replaceChildren(el('pre', { class: 'text-preview', tabindex: 0, text: content }),
          ...(d.size > PREVIEW_TEXT_BYTES ? [muted(`Showing the first 64 KB of ${humanSize(d.size)}.`)] : []));
        return;
      }
      const url = URL.createObjectURL(new Blob([blob], { type: d.media_type }));
      state.panelUrls.push(url);
      const family = mediaFamily(d.media_type);
      box.replaceChildren(family === 'image' ? el('img', { src: url, alt: `Preview of ${d.name}` })
        : el(family, { src: url, controls: true, preload: 'metadata', 'aria-label': `Preview of ${d.name}` }));
    } catch (e) {
      if (seq !== state.panelSeq) return;
      box.replaceChildren(muted(`Preview unavailable: ${e.detail || e.message}`));
      if (e.status !== 416) reportError(e);
    }
  }

  async function deleteSelected() {
    const d = state.selected;
    if (!d || !window.confirm(`Delete “${d.name}”? This cannot be undone.`)) return;
    try {
      await api(`/files/${d.id}`, { method: 'DELETE' });
      showMessage(`Deleted “${d.name}”.`, 'info');
    } catch (e) {
      if (e.status !== 404) { reportError(e); return; } // 404: already gone, so drop it anyway
    }
    removeFileFromList(d.id);
    removeGraphNode(`file:${d.id}`);
    clearPanel();
    refreshTagsSoon();
  }

  function bindPanel() {
    on('#panel-close', 'click', clearPanel);
    on('#download', 'click', downloadSelected);
    on('#delete', 'click', deleteSelected);
    on('#show-graph', 'click', () => { if (state.selected) openGraph({ file: state.selected.id }); });
    on('#rename-form', 'submit', async (e) => {
      e.preventDefault();
      const name = $('#rename-input').value.trim();
      if (!name || !state.selected || name === state.selected.name) return;
      const detail = await patchSelected({ name });
      if (detail) { $('#rename-input').value = detail.name; showMessage(`Renamed to “${detail.name}”.`, 'info'); }
    });
    on('#tag-form', 'submit', async (e) => {
      e.preventDefault();
      const tags = $('#tag-input').value.split(',').map((t) => t.trim()).filter(Boolean);
      if (tags.length && await patchSelected({ add_tags: tags })) $('#tag-input').value = '';
    });
  }

  // ------------------------------------------------------------------ tabs
  const TABS = ['files', 'graph'];

  function showTab(name) {
    for (const t of TABS) {
      const tab = $(`#tab-${t}`);
      tab.setAttribute('aria-selected', String(t === name));
      tab.tabIndex = t === name ? 0 : -1;
      $(`#${t}-view`).hidden = t !== name;
    }
    if (name === 'graph') resizeCanvas();
  }

  function bindTabs() {
    TABS.forEach((name, i) => {
      on(`#tab-${name}`, 'click', () => showTab(name));
      on(`#tab-${name}`, 'keydown', (e) => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        const next = TABS[(i + 1) % TABS.length];
        showTab(next);
        $(`#tab-${next}`).focus();
      });
    });
  }

  // ------------------------------------------------------------------ graph: model
  const G = {
    nodes: new Map(), edges: new Map(), root: null, rootParams: null, seq: 0,
    view: { x: 0, y: 0, k: 1 }, alpha: 0, raf: 0, autoFit: false, frames: 0,
    hover: null, drag: null, clickTimer: 0, canvas: null, ctx: null, w: 0, h: 0, dpr: 1,
  };
  const LAYOUT = {
    repulsion: 2000, spring: 0.04, center: 0.006, friction: 0.6, maxStep: 40,
    alphaMin: 0.005, decay: 0.005 ** (1 / 300), exactLimit: 300, cell: 160, // alpha cools 1 → 0.005 in 300 ticks
  };
  const nodeKey = (id) => id.slice(id.indexOf(':') + 1);
  const nodeFont = (size) => `${size}px system-ui, -apple-system, "Segoe UI", sans-serif`;
  const fetchGraph = (params, depth) => api(`/graph${qs({ ...params, depth, max_nodes: GRAPH_MAX_NODES })}`);
  const spiralPoint = (i) => ({ x: 12 * Math.sqrt(i + 0.5) * Math.cos(i * 2.39996), y: 12 * Math.sqrt(i + 0.5) * Math.sin(i * 2.39996) });

  function edgeKey(e) {
    const ends = e.kind === 'TAGGED' ? [e.source, e.target] : [e.source, e.target].sort();
    return `${e.kind}|${ends[0]}|${ends[1]}`;
  }

  /** Opens the graph around {file: id} or {tag: name}. */
  async function openGraph(params) {
    showTab('graph');
    $('.views').scrollIntoView({ behavior: 'smooth', block: 'start' });
    resetGraph();
    const seq = G.seq;
    Object.assign(G, { rootParams: params, root: params.file ? `file:${params.file}` : `tag:${params.tag}` });
    $('#graph-title').textContent = 'Loading graph…';
    try {
      const view = await fetchGraph(params, Number($('#graph-depth').value) || 1);
      if (seq !== G.seq) return;
      mergeGraph(view || {}, null);
      const label = G.nodes.get(G.root)?.label || params.tag || params.file;
      $('#graph-title').textContent = `Graph around ${params.file ? 'file' : 'tag'} “${label}”`;
      Object.assign(G, { autoFit: true, alpha: 1 });
      fitView();
    } catch (e) {
      if (seq === G.seq) $('#graph-title').textContent = 'The graph could not be loaded.';
      reportError(e);
    }
  }

  function resetGraph() {
    G.nodes.clear();
    G.edges.clear();
    Object.assign(G, { seq: G.seq + 1, root: null, alpha: 0, hover: null, drag: null });
    clearTimeout(G.clickTimer);
    renderGraphList();
    setGraphStatus('');
    requestFrame();
  }

  /** Merges a GraphView in; new nodes start near `anchor` (or on a spiral). Returns how many nodes were added. */
  function mergeGraph(view, anchor) {
    let added = 0;
    for (const n of view.nodes || []) {
      const old = G.nodes.get(n.id);
      if (old) {
        Object.assign(old, { label: n.label || old.label, degree: Math.max(old.degree, n.degree || 0), media_type: n.media_type || old.media_type });
        continue;
      }
      const p = anchor ? { x: anchor.x + (Math.random() - 0.5) * 60, y: anchor.y + (Math.random() - 0.5) * 60 } : spiralPoint(G.nodes.size);
      G.nodes.set(n.id, {
        id: n.id, kind: n.kind === 'tag' ? 'tag' : 'file', label: n.label || nodeKey(n.id),
        media_type: n.media_type || '', degree: n.degree || 0, ...p, vx: 0, vy: 0, fixed: false,
      });
      added += 1;
    }
    for (const e of view.edges || []) {
      const key = edgeKey(e);
      if (e.source !== e.target && G.nodes.has(e.source) && G.nodes.has(e.target) && !G.edges.has(key)) G.edges.set(key, { ...e, key });
    }
    measureNodes();
    renderGraphList();
    setGraphStatus(view.truncated ? 'The server truncated this graph (node limit reached).' : '');
    return added;
  }

  function removeGraphNode(id) {
    if (!G.nodes.delete(id)) return;
    for (const [key, e] of G.edges) if (e.source === id || e.target === id) G.edges.delete(key);
    if (G.hover?.id === id) G.hover = null;
    measureNodes();
    renderGraphList();
    requestFrame();
  }

  /** Node size grows with degree: the circle radius of files, the font (and so box) size of tags. */
  function measureNodes() {
    const local = new Map();
    for (const e of G.edges.values()) for (const id of [e.source, e.target]) local.set(id, (local.get(id) || 0) + 1);
    for (const n of G.nodes.values()) {
      const deg = Math.max(n.degree, local.get(n.id) || 0);
      if (n.kind === 'file') {
        n.r = n.hw = n.hh = Math.min(26, 6 + 2.2 * Math.sqrt(deg));
        continue;
      }
      n.fs = 11 + Math.min(7, 1.4 * Math.sqrt(deg));
      n.text = n.label.length > 28 ? `${n.label.slice(0, 27)}…` : n.label;
      G.ctx.font = nodeFont(n.fs);
      n.hw = G.ctx.measureText(n.text).width / 2 + 7;
      n.hh = n.fs / 2 + 5;
      n.r = Math.max(n.hw, n.hh);
    }
  }

  // ------------------------------------------------------------------ graph: layout
  function pushAway(n, x, y, mass, a) {
    let [dx, dy] = [n.x - x, n.y - y];
    let d2 = dx * dx + dy * dy;
    if (d2 < 0.01) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; d2 = dx * dx + dy * dy; }
    const f = (LAYOUT.repulsion * mass * a) / Math.max(d2, 100) / Math.sqrt(d2);
    n.vx += dx * f; n.vy += dy * f;
  }

  /** Exact O(n²) repulsion, used for n <= LAYOUT.exactLimit. */
  function repelExact(nodes, a) {
    for (let i = 0; i < nodes.length; i += 1) {
      const p = nodes[i];
      for (let j = i + 1; j < nodes.length; j += 1) {
        const [q, vx, vy] = [nodes[j], p.vx, p.vy];
        pushAway(p, q.x, q.y, 1, a);
        q.vx -= p.vx - vx; q.vy -= p.vy - vy; // equal and opposite
      }
    }
  }

  /** Grid-bucket approximation for large graphs: exact within the 3×3 neighbouring cells, cell centroids beyond. */
  function repelGrid(nodes, a) {
    const cells = new Map();
    for (const n of nodes) {
      [n.cx, n.cy] = [Math.floor(n.x / LAYOUT.cell), Math.floor(n.y / LAYOUT.cell)];
      const key = `${n.cx},${n.cy}`;
      if (!cells.has(key)) cells.set(key, { cx: n.cx, cy: n.cy, x: 0, y: 0, list: [] });
      const cell = cells.get(key);
      cell.list.push(n); cell.x += n.x; cell.y += n.y;
    }
    const list = [...cells.values()];
    for (const c of list) { c.x /= c.list.length; c.y /= c.list.length; }
    for (const n of nodes) {
      for (const c of list) {
        if (Math.abs(c.cx - n.cx) > 1 || Math.abs(c.cy - n.cy) > 1) pushAway(n, c.x, c.y, c.list.length, a);
        else for (const m of c.list) if (m !== n) pushAway(n, m.x, m.y, 1, a);
      }
    }
  }

  function tick() {
    const nodes = [...G.nodes.values()];
    const a = G.alpha;
    (nodes.length <= LAYOUT.exactLimit ? repelExact : repelGrid)(nodes, a);
    for (const e of G.edges.values()) { // springs
      const [s, t] = [G.nodes.get(e.source), G.nodes.get(e.target)];
      if (!s || !t) continue;
      const [dx, dy] = [t.x - s.x, t.y - s.y];
      const d = Math.hypot(dx, dy) || 0.01;
      const k = LAYOUT.spring * (0.5 + 0.5 * clamp(e.weight ?? 1, 0, 1));
      const f = ((d - (45 + s.r + t.r)) * k * a) / d;
      s.vx += dx * f; s.vy += dy * f;
      t.vx -= dx * f; t.vy -= dy * f;
    }
    for (const n of nodes) { // centering, friction, integration
      if (n.fixed) { n.vx = 0; n.vy = 0; continue; }
      n.vx = (n.vx - n.x * LAYOUT.center * a) * LAYOUT.friction;
      n.vy = (n.vy - n.y * LAYOUT.center * a) * LAYOUT.friction;
      const speed = Math.hypot(n.vx, n.vy);
      if (speed > LAYOUT.maxStep) { n.vx *= LAYOUT.maxStep / speed; n.vy *= LAYOUT.maxStep / speed; }
      n.x += n.vx; n.y += n.vy;
    }
    G.alpha *= LAYOUT.decay;
  }

  function requestFrame() {
    if (!G.raf) G.raf = requestAnimationFrame(frame);
  }

  function frame() {
    G.raf = 0;
    const running = G.alpha > LAYOUT.alphaMin && G.nodes.size > 0;
    if (running) {
      tick();
      G.frames += 1;
      if (G.autoFit && G.frames % 4 === 0) fitView();
    }
    draw();
    if (G.alpha > LAYOUT.alphaMin && G.nodes.size > 0) requestFrame();
    else if (running && G.autoFit) fitView(); // a final fit once the layout has cooled
  }

  function relayout() {
    [...G.nodes.values()].forEach((n, i) => Object.assign(n, spiralPoint(i), { vx: 0, vy: 0 }));
    Object.assign(G, { alpha: 1, autoFit: true });
    requestFrame();
  }

  // ------------------------------------------------------------------ graph: view & drawing
  const toWorld = (sx, sy) => [(sx - G.view.x) / G.view.k, (sy - G.view.y) / G.view.k];

  function fitView() {
    if (!G.nodes.size || !G.w || !G.h) return;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const n of G.nodes.values()) { // (+14: room for file labels)
      [minX, maxX, minY, maxY] = [Math.min(minX, n.x - n.hw), Math.max(maxX, n.x + n.hw), Math.min(minY, n.y - n.hh), Math.max(maxY, n.y + n.hh + 14)];
    }
    const pad = 24;
    const k = clamp(Math.min((G.w - 2 * pad) / (maxX - minX || 1), (G.h - 2 * pad) / (maxY - minY || 1)), 0.05, 1.6);
    G.view = { k, x: G.w / 2 - (k * (minX + maxX)) / 2, y: G.h / 2 - (k * (minY + maxY)) / 2 };
    requestFrame();
  }

  function zoomAt(sx, sy, factor) {
    const [wx, wy] = toWorld(sx, sy);
    const k = clamp(G.view.k * factor, 0.05, 8);
    Object.assign(G, { view: { k, x: sx - wx * k, y: sy - wy * k }, autoFit: false });
    requestFrame();
  }

  function resizeCanvas() {
    const rect = $('#graph-wrap').getBoundingClientRect();
    const [w, h] = [Math.floor(rect.width), Math.floor(rect.height)];
    if (!w || !h) return; // the tab is hidden
    G.dpr = window.devicePixelRatio || 1;
    Object.assign(G.canvas, { width: Math.round(w * G.dpr), height: Math.round(h * G.dpr) });
    const first = !G.w;
    Object.assign(G, { w, h });
    if (first || G.autoFit) fitView();
    requestFrame();
  }

  function draw() {
    const { ctx, w, h, dpr, view: v } = G;
    $('#graph-empty').hidden = G.nodes.size > 0;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!G.nodes.size || !w) return;
    ctx.setTransform(dpr * v.k, 0, 0, dpr * v.k, dpr * v.x, dpr * v.y);
    drawEdges(ctx, v.k);
    drawNodes(ctx, v.k);
    drawLabels(ctx, v.k);
  }

  function drawEdges(ctx, k) {
    ctx.lineWidth = 1.3 / k; // constant width on screen
    for (const e of G.edges.values()) {
      const [s, t] = [G.nodes.get(e.source), G.nodes.get(e.target)];
      if (!s || !t) continue;
      const style = EDGE_STYLES[e.kind] || EDGE_STYLES.TAGGED;
      const touched = G.hover && (G.hover === s || G.hover === t);
      ctx.globalAlpha = touched ? 1 : 0.35 + 0.55 * clamp(e.weight ?? 1, 0, 1);
      ctx.strokeStyle = style.color;
      ctx.setLineDash(style.dash.map((x) => x / k));
      ctx.beginPath(); ctx.moveTo(s.x, s.y); ctx.lineTo(t.x, t.y); ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  }

  function drawNodes(ctx, k) {
    Object.assign(ctx, { textAlign: 'center', textBaseline: 'middle' });
    for (const n of G.nodes.values()) {
      const strong = n.id === G.root || n === G.hover;
      ctx.lineWidth = (strong ? 3 : 1.5) / k;
      if (n.kind === 'tag') {
        ctx.beginPath();
        ctx.roundRect(n.x - n.hw, n.y - n.hh, n.hw * 2, n.hh * 2, 7);
        ctx.fillStyle = TAG_COLORS.fill;
        ctx.strokeStyle = strong ? '#111827' : TAG_COLORS.stroke;
      } else {
        ctx.beginPath();
        ctx.arc(n.x, n.y, n.r, 0, Math.PI * 2);
        ctx.fillStyle = FAMILY_COLORS[mediaFamily(n.media_type)];
        ctx.strokeStyle = strong ? '#111827' : '#ffffff';
      }
      ctx.fill();
      ctx.stroke();
      if (n.kind === 'tag') {
        Object.assign(ctx, { fillStyle: TAG_COLORS.text, font: nodeFont(n.fs) });
        ctx.fillText(n.text, n.x, n.y + 0.5);
      }
    }
  }

  function drawLabels(ctx, k) {
    const showAll = G.nodes.size <= 60 || k >= 1.1;
    Object.assign(ctx, { textAlign: 'center', textBaseline: 'top', lineJoin: 'round', lineWidth: 3 / k });
    for (const n of G.nodes.values()) {
      const strong = n === G.hover || n.id === G.root;
      if (n.kind !== 'file' || (!showAll && !strong)) continue;
      const text = !strong && n.label.length > 24 ? `${n.label.slice(0, 23)}…` : n.label;
      const y = n.y + n.r + 3 / k;
      Object.assign(ctx, { font: nodeFont(strong ? Math.max(11, 12 / k) : 11), strokeStyle: 'rgba(255,255,255,0.9)', fillStyle: '#1f2937' });
      ctx.strokeText(text, n.x, y); // white halo
      ctx.fillText(text, n.x, y);
    }
  }

  // ------------------------------------------------------------------ graph: interaction
  function canvasPoint(e) {
    const r = G.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  function nodeAt(sx, sy) {
    const [wx, wy] = toWorld(sx, sy);
    const slack = 3 / G.view.k;
    const nodes = [...G.nodes.values()];
    for (let i = nodes.length - 1; i >= 0; i -= 1) { // topmost first
      const n = nodes[i];
      const hit = n.kind === 'tag' ? Math.abs(wx - n.x) <= n.hw + slack && Math.abs(wy - n.y) <= n.hh + slack
        : (wx - n.x) ** 2 + (wy - n.y) ** 2 <= (n.r + slack) ** 2;
      if (hit) return n;
    }
    return null;
  }

  /** The click action: fetch the neighbourhood (depth 1) of a node and merge it in around that node. */
  async function expandNode(n) {
    if (!G.nodes.has(n.id)) return;
    const seq = G.seq;
    setGraphStatus(`Loading the neighbours of “${n.label}”…`);
    try {
      const view = await fetchGraph(n.kind === 'file' ? { file: nodeKey(n.id) } : { tag: nodeKey(n.id) }, 1);
      if (seq !== G.seq) return;
      const added = mergeGraph(view || {}, n);
      G.alpha = Math.max(G.alpha, added ? 0.5 : 0.05);
      requestFrame();
      setGraphStatus(`${added ? plural(added, 'new node') : 'No new nodes'} around “${n.label}”. `
        + `${plural(G.nodes.size, 'node')}, ${plural(G.edges.size, 'edge')}.${view?.truncated ? ' (truncated by the server)' : ''}`);
    } catch (e) {
      setGraphStatus('');
      reportError(e);
    }
  }

  /** The double-click action: open a file, or filter the list by a tag. */
  function activateNode(n) {
    if (n.kind === 'file') openFile(nodeKey(n.id));
    else selectTag(nodeKey(n.id), { toggle: false });
  }

  function setGraphStatus(text) {
    $('#graph-status').textContent = text || (G.nodes.size ? `${plural(G.nodes.size, 'node')}, ${plural(G.edges.size, 'edge')}.` : '');
  }

  function swatch(kind, color) {
    const s = el('span', { class: `swatch ${kind}`, 'aria-hidden': 'true' });
    s.style.background = kind === 'tag' ? TAG_COLORS.fill : color;
    if (kind === 'tag') s.style.borderColor = TAG_COLORS.stroke;
    return s;
  }

  /** The accessible list of nodes: the label button expands (like a click), the second button opens or filters. */
  function renderGraphList() {
    $('#graph-list').replaceChildren(...[...G.nodes.values()].map((n) => el('li', { class: `graph-item ${n.kind}`, 'data-node': n.id },
      swatch(n.kind, FAMILY_COLORS[mediaFamily(n.media_type)]),
      el('button', {
        type: 'button', class: 'link graph-node', text: n.label, 'data-node': n.id,
        title: `Expand the neighbours of ${n.label}`, onclick: () => expandNode(n),
      }),
      muted(n.kind === 'tag' ? 'tag' : n.media_type || 'file', 'span'),
      el('button', {
        type: 'button', class: 'small', text: n.kind === 'file' ? 'Open' : 'Filter', onclick: () => activateNode(n),
        'aria-label': n.kind === 'file' ? `Open file ${n.label}` : `Filter the list by tag ${n.label}`,
      }))));
  }

  function buildLegend() {
    const items = Object.entries(FAMILY_COLORS).map(([family, color]) => el('span', { class: 'legend-item' }, swatch('file', color), `${family} file`));
    items.push(el('span', { class: 'legend-item' }, swatch('tag'), 'tag'));
    for (const style of Object.values(EDGE_STYLES)) {
      const line = el('span', { class: `legend-line${style.dash.length ? ' dashed' : ''}`, 'aria-hidden': 'true' });
      line.style.borderTopColor = style.color;
      items.push(el('span', { class: 'legend-item' }, line, style.label));
    }
    $('#graph-legend').replaceChildren(...items);
  }

  function onCanvasPointerMove(e) {
    const [sx, sy] = canvasPoint(e);
    const d = G.drag;
    if (!d || d.id !== e.pointerId) { // hover
      const hit = nodeAt(sx, sy);
      if (hit === G.hover) return;
      G.hover = hit;
      G.canvas.title = hit ? hit.label : '';
      G.canvas.classList.toggle('over-node', Boolean(hit));
      requestFrame();
      return;
    }
    if (!d.moved && Math.hypot(sx - d.sx, sy - d.sy) < 4) return;
    d.moved = true;
    G.autoFit = false;
    if (d.node) { // move a node
      [d.node.x, d.node.y] = toWorld(sx, sy);
      d.node.fixed = true;
      G.alpha = Math.max(G.alpha, 0.2);
    } else { // pan
      Object.assign(G.view, { x: d.vx + sx - d.sx, y: d.vy + sy - d.sy });
      G.canvas.classList.add('panning');
    }
    requestFrame();
  }

  function onCanvasPointerEnd(e) {
    const d = G.drag;
    if (!d || d.id !== e.pointerId) return;
    G.drag = null;
    G.canvas.classList.remove('panning');
    if (d.node) d.node.fixed = false;
    if (e.type === 'pointerup' && !d.moved && d.node) { // a click, unless a double-click follows
      clearTimeout(G.clickTimer);
      G.clickTimer = setTimeout(() => expandNode(d.node), DOUBLE_CLICK_MS);
    }
  }

  /** Keyboard on the focused canvas: +/- zoom, arrows pan, f or 0 fits. */
  function onCanvasKey(e) {
    const zoom = { '+': 1.2, '=': 1.2, '-': 1 / 1.2 }[e.key];
    const pan = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] }[e.key];
    if (!zoom && !pan && e.key !== 'f' && e.key !== '0') return;
    e.preventDefault();
    if (zoom) zoomAt(G.w / 2, G.h / 2, zoom);
    else if (pan) Object.assign(G, { view: { ...G.view, x: G.view.x + pan[0], y: G.view.y + pan[1] }, autoFit: false });
    else fitView();
    requestFrame();
  }

  function bindGraph() {
    const canvas = $('#graph-canvas');
    Object.assign(G, { canvas, ctx: canvas.getContext('2d') });
    new ResizeObserver(() => resizeCanvas()).observe($('#graph-wrap'));
    canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      const [sx, sy] = canvasPoint(e);
      G.drag = { id: e.pointerId, sx, sy, vx: G.view.x, vy: G.view.y, node: nodeAt(sx, sy), moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', onCanvasPointerMove);
    canvas.addEventListener('pointerup', onCanvasPointerEnd);
    canvas.addEventListener('pointercancel', onCanvasPointerEnd);
    canvas.addEventListener('dblclick', (e) => {
      clearTimeout(G.clickTimer);
      const n = nodeAt(...canvasPoint(e));
      if (n) activateNode(n);
    });
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      zoomAt(...canvasPoint(e), Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
    }, { passive: false });
    canvas.addEventListener('keydown', onCanvasKey);
    on('#graph-fit', 'click', () => { G.autoFit = false; fitView(); });
    on('#graph-relayout', 'click', relayout);
    on('#graph-depth', 'change', () => { if (G.rootParams) openGraph(G.rootParams); });
    on('#related-graph', 'click', () => { if (state.activeTag) openGraph({ tag: state.activeTag }); });
    buildLegend();
  }

  // ------------------------------------------------------------------ start-up
  function bindShell() {
    on('#signin-form', 'submit', (e) => { e.preventDefault(); signIn($('#token-input').value); });
    on('#sign-out', 'click', () => { signOut(); showMessage('You have signed out.', 'info'); });
    on('#message-close', 'click', hideMessage);
    on('#tag-filter', 'input', debounce(() => loadTags(), DEBOUNCE_MS));
  }

  async function init() {
    [bindShell, bindUploads, bindFilters, bindSearch, bindPanel, bindTabs, bindGraph].forEach((bind) => bind());
    if (!state.token) {
      setHidden(false, '#signin-view');
      $('#token-input').focus();
      return;
    }
    try {
      enterApp((await api('/me')).user);
    } catch (e) {
      if (e.status === 401) return; // onUnauthorized already shows the sign-in form
      setHidden(false, '#signin-view');
      reportError(e);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
