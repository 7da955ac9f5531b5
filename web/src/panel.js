/* The file panel: preview, metadata, tags, rename, similar files, history, download, delete. */
import { api, isMissingRoute, session } from './api.js';
import { $, el, humanSize, isMarkdown, isTextLike, mediaFamily, muted, on, qs, reveal, setHidden } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { renderMarkdown } from './markdown.js';
import { reportError, showMessage } from './message.js';
import { statusBadge } from './files.js';
import { app, isBusy, state } from './state.js';

const PREVIEW_TEXT_BYTES = 64 * 1024;
const AUTO_PREVIEW_MAX = 25 * 1024 * 1024;
const SIMILAR_LIMIT = 10;
let similarSupported = true;

export async function openFile(id) {
  const seq = ++state.panelSeq;
  const panel = $('#file-panel');
  panel.setAttribute('aria-busy', 'true');
  try {
    const detail = await api(`/files/${encodeURIComponent(id)}`);
    if (seq !== state.panelSeq) return;
    revokePanelUrls();
    state.selected = detail;
    renderPanel(detail, { fresh: true });
    app.markSelectedRow();
    loadPreview(detail, seq);
    loadSimilar(detail, seq);
    loadHistory(detail, seq);
    app.schedulePoll();
    if (window.matchMedia('(max-width: 1100px)').matches) reveal(panel);
    $('#panel-title').focus({ preventScroll: true });
  } catch (e) {
    if (e.status === 404) app.removeFileFromList(id);
    reportError(e);
  } finally {
    if (seq === state.panelSeq) panel.removeAttribute('aria-busy');
  }
}

function revokePanelUrls() {
  state.panelUrls.forEach((url) => URL.revokeObjectURL(url));
  state.panelUrls = [];
}

export function clearPanel() {
  state.panelSeq += 1;
  state.selected = null;
  revokePanelUrls();
  $('#panel-preview').replaceChildren();
  setHidden(true, '#panel-body');
  setHidden(false, '#panel-empty');
  app.markSelectedRow?.();
}

export function renderPanel(d, { fresh = false } = {}) {
  setHidden(true, '#panel-empty');
  setHidden(false, '#panel-body');
  Object.assign($('#panel-title'), { textContent: d.name, title: d.name });
  $('#panel-status').replaceChildren(statusBadge(d),
    ...(d.status === 'failed' && d.status_reason ? [el('span', { class: 'reason', text: d.status_reason })] : []));
  if (fresh) { $('#rename-input').value = d.name; $('#tag-input').value = ''; }
  const owner = !session.user || d.owner === session.user; // only the owner may change a file
  Object.assign($('#panel-readonly'), { hidden: owner, textContent: owner ? '' : t('panel.readonly', { owner: d.owner }) });
  for (const id of ['#rename-input', '#rename', '#tag-input', '#add-tag', '#delete', '#retag']) $(id).disabled = !owner;
  renderPanelTags(d, owner);
  if (!fresh && d.similarItems) renderSimilar(d.similarItems);
  renderMeta(d);
}

function renderPanelTags(d, editable) {
  const tags = d.tags || [];
  $('#panel-tags').replaceChildren(...(tags.length ? tags.map((tag) => el('li', { class: 'tag-chip', 'data-tag': tag.name, 'data-source': tag.source },
    el('span', { class: 'tag-name', text: tag.name }),
    el('span', { class: 'tag-meta', text: `${t(`source.${tag.source}`)}${tag.score != null ? ` · ${Number(tag.score).toFixed(2)}` : ''}` }),
    el('button', {
      type: 'button', class: 'remove-tag icon', text: '×', 'aria-label': t('panel.removeTag', { name: tag.name }),
      title: t('panel.removeTag', { name: tag.name }), disabled: !editable, onclick: () => patchSelected({ remove_tags: [tag.name] }),
    }))) : [muted(isBusy(d) ? t('panel.tagging') : t('panel.noTags'), 'li')]));
}

/** Similar files from GET /files/{id}/similar; an older server without it: the `similar` of the file detail. */
async function loadSimilar(d, seq) {
  const note = $('#similar-note');
  note.hidden = true;
  let items = d.similar || [];
  if (similarSupported) {
    $('#panel-similar').replaceChildren(muted(t('loading'), 'li'));
    try {
      const data = await api(`/files/${encodeURIComponent(d.id)}/similar${qs({ limit: SIMILAR_LIMIT })}`);
      items = data?.items || [];
    } catch (e) {
      if (isMissingRoute(e)) similarSupported = false;
      else if (e.status !== 404) reportError(e);
    }
  }
  if (seq !== state.panelSeq) return;
  if (!similarSupported) Object.assign(note, { hidden: false, textContent: t('panel.similarFallback') });
  if (state.selected) state.selected.similarItems = items;
  renderSimilar(items);
}

function renderSimilar(items) {
  $('#panel-similar').replaceChildren(...(items.length ? items.map((s) => el('li', { 'data-id': s.id },
    el('button', { type: 'button', class: 'link similar-file', text: s.name, onclick: () => openFile(s.id) }),
    muted(` ${Number(s.score).toFixed(2)}`, 'span'))) : [muted(t('panel.noSimilar'), 'li')]));
}

/** The file's earlier contents (GET /files/{id}/versions), each to download or, for the owner, restore. */
async function loadHistory(d, seq) {
  const list = $('#panel-history');
  list.replaceChildren(muted(t('loading'), 'li'));
  let items = [];
  try {
    items = (await api(`/files/${encodeURIComponent(d.id)}/versions`))?.items || [];
  } catch (e) {
    if (!isMissingRoute(e) && e.status !== 404) reportError(e);
  }
  if (seq !== state.panelSeq) return;
  if (state.selected) state.selected.historyItems = items;
  renderHistory(d, items);
}

function renderHistory(d, items) {
  const owner = !session.user || d.owner === session.user;
  $('#panel-history').replaceChildren(...(items.length ? items.map((v) => el('li', { 'data-version': v.version },
    el('span', { text: t('panel.version', { n: v.version, size: humanSize(v.size), when: fmtDate(v.replaced_at) }) }), ' ',
    el('button', { type: 'button', class: 'link small', text: t('panel.versionDownload'), onclick: () => downloadVersion(d, v) }), ' ',
    el('button', {
      type: 'button', class: 'link small', 'data-testid': 'restore-version', text: t('panel.versionRestore'),
      disabled: !owner, onclick: () => restoreVersion(d, v),
    }))) : [muted(t('panel.noHistory'), 'li')]));
}

async function downloadVersion(d, v) {
  try {
    const blob = await (await api(`/files/${d.id}/versions/${v.version}/content`, { raw: true })).blob();
    saveBlob(blob, d.name);
  } catch (e) {
    reportError(e);
  }
}

async function restoreVersion(d, v) {
  if (!(await confirmDialog(t('panel.confirmRestore', { n: v.version, name: d.name }), t('panel.versionRestore')))) return;
  try {
    await api(`/files/${d.id}/versions/${v.version}/restore`, { method: 'POST' });
    showMessage(t('panel.restored', { n: v.version, name: d.name }), 'info');
    await openFile(d.id);
  } catch (e) {
    reportError(e);
  }
}

const fmtDate = (s) => (Number.isNaN(new Date(s).getTime()) ? (s || '—') : new Date(s).toLocaleString());
const humanizeKey = (k) => String(k).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function fmtValue(v) {
  if (v == null) return '—';
  if (Array.isArray(v)) return v.map(fmtValue).join(', ');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function renderMeta(d) {
  const rows = [
    [t('meta.size'), `${humanSize(d.size)} (${t('meta.bytes', { n: d.size })})`], [t('meta.type'), d.media_type],
    [t('meta.status'), `${t(`status.${d.status}`)}${d.status_reason ? `: ${d.status_reason}` : ''}`], [t('meta.owner'), d.owner],
    [t('meta.shared'), (d.shared_with || []).join(', ') || '—'], [t('meta.created'), fmtDate(d.created_at)],
    [t('meta.updated'), fmtDate(d.updated_at)], ['SHA-256', d.sha256], ['ID', d.id],
    ...Object.entries(d.metadata || {}).map(([k, v]) => [humanizeKey(k), v]),
  ];
  $('#panel-meta').replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: fmtValue(v) }))));
}

async function patchSelected(body) {
  if (!state.selected) return null;
  try {
    const detail = await api(`/files/${state.selected.id}`, { method: 'PATCH', json: body });
    app.updateFile(detail);
    app.refreshTagsSoon();
    return detail;
  } catch (e) {
    reportError(e);
    return null;
  }
}

/** Saves a fetched blob under `name` through a temporary link. */
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Fetches the content with the Authorization header and saves it under the file's name. */
async function downloadSelected() {
  const d = state.selected;
  const button = $('#download');
  if (!d) return;
  Object.assign(button, { disabled: true, textContent: t('panel.downloading') });
  try {
    const blob = await (await api(`/files/${d.id}/content`, { raw: true })).blob();
    saveBlob(blob, d.name);
  } catch (e) {
    reportError(e);
  } finally {
    Object.assign(button, { disabled: false, textContent: t('panel.download') });
  }
}

function loadPreview(d, seq) {
  const box = $('#panel-preview');
  const family = mediaFamily(d.media_type);
  const text = isTextLike(d.media_type) || isMarkdown(d.media_type, d.name);
  if (!text && !['image', 'audio', 'video', 'pdf'].includes(family)) box.replaceChildren(muted(t('preview.none')));
  else if (d.size === 0) box.replaceChildren(muted(t('preview.empty')));
  else if (!text && d.size > AUTO_PREVIEW_MAX) {
    box.replaceChildren(el('button', { type: 'button', text: t('preview.load', { size: humanSize(d.size) }), onclick: () => showPreview(d, seq, false) }));
  } else showPreview(d, seq, text);
}

function textPreview(d, content) {
  const source = el('pre', { class: 'text-preview', tabindex: 0, 'data-testid': 'text-preview', text: content });
  const more = d.size > PREVIEW_TEXT_BYTES ? [muted(t('preview.partial', { size: humanSize(d.size) }))] : [];
  if (!isMarkdown(d.media_type, d.name)) return [source, ...more];
  const rendered = renderMarkdown(content);
  rendered.classList.add('text-preview');
  rendered.dataset.testid = 'markdown-preview';
  source.hidden = true;
  const toggle = el('button', {
    type: 'button', class: 'small', 'data-testid': 'preview-toggle', text: t('preview.showSource'),
    onclick: () => {
      source.hidden = !source.hidden;
      rendered.hidden = !source.hidden;
      toggle.textContent = source.hidden ? t('preview.showSource') : t('preview.showRendered');
    },
  });
  return [toggle, rendered, source, ...more];
}

async function showPreview(d, seq, text) {
  const box = $('#panel-preview');
  box.replaceChildren(muted(t('preview.loading')));
  try {
    const headers = text ? { Range: `bytes=0-${PREVIEW_TEXT_BYTES - 1}` } : {};
    const res = await api(`/files/${d.id}/content?disposition=inline`, { raw: true, headers });
    const blob = await res.blob();
    if (seq !== state.panelSeq) return;
    if (text) { // slice too, in case the server answered 200 with the whole file
      const content = new TextDecoder('utf-8').decode(await blob.slice(0, PREVIEW_TEXT_BYTES).arrayBuffer());
      box.replaceChildren(...textPreview(d, content));
      return;
    }
    const family = mediaFamily(d.media_type);
    if (family === 'pdf') {
      const canvas = el('canvas', { class: 'pdf-page', 'data-testid': 'pdf-preview', role: 'img', 'aria-label': t('preview.of', { name: d.name }) });
      box.replaceChildren(canvas);
      const { renderFirstPage } = await import('./pdf-preview.js');
      const pages = await renderFirstPage(new Uint8Array(await blob.arrayBuffer()), canvas, box.clientWidth || 300);
      if (seq === state.panelSeq) box.append(muted(t('preview.pdfPages', { n: pages })));
      return;
    }
    // Images are decoded by <img>, which never runs script, even for SVG.
    const url = URL.createObjectURL(new Blob([blob], { type: d.media_type }));
    state.panelUrls.push(url);
    box.replaceChildren(family === 'image' ? el('img', { src: url, alt: t('preview.of', { name: d.name }), 'data-testid': 'image-preview' })
      : el(family, { src: url, controls: true, preload: 'metadata', 'aria-label': t('preview.of', { name: d.name }), 'data-testid': 'media-preview' }));
  } catch (e) {
    if (seq !== state.panelSeq) return;
    box.replaceChildren(muted(t('preview.unavailable', { error: e.detail || e.message })));
    if (e.status !== 416 && e.status != null) reportError(e);
  }
}

/** A modal confirmation (a <dialog>, no window.confirm); resolves true when confirmed. */
export function confirmDialog(text, okLabel) {
  const dialog = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  $('#confirm-cancel').textContent = t('confirm.cancel');
  dialog.returnValue = '';
  dialog.showModal();
  $('#confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

async function deleteSelected() {
  const d = state.selected;
  if (!d || !(await confirmDialog(t('panel.confirmDelete', { name: d.name }), t('panel.delete')))) return;
  try {
    await api(`/files/${d.id}`, { method: 'DELETE' });
    showMessage(t('panel.deleted', { name: d.name }), 'info');
  } catch (e) {
    if (e.status !== 404) { reportError(e); return; } // 404: already gone, so drop it anyway
  }
  app.removeFileFromList(d.id);
  app.removeGraphNode?.(`file:${d.id}`);
  clearPanel();
  app.refreshTagsSoon();
}

async function retagSelected() {
  const d = state.selected;
  if (!d) return;
  try {
    await api(`/files/${d.id}/retag`, { method: 'POST' });
    showMessage(t('panel.retagged', { name: d.name }), 'info');
    app.updateFile({ ...d, status: 'pending' });
    app.schedulePoll();
  } catch (e) {
    reportError(e);
  }
}

export function bindPanel() {
  on('#panel-close', 'click', clearPanel);
  on('#download', 'click', downloadSelected);
  on('#delete', 'click', deleteSelected);
  on('#retag', 'click', retagSelected);
  on('#show-graph', 'click', () => { if (state.selected) app.openGraph({ file: state.selected.id }); });
  on('#rename-form', 'submit', async (e) => {
    e.preventDefault();
    const name = $('#rename-input').value.trim();
    if (!name || !state.selected || name === state.selected.name) return;
    const detail = await patchSelected({ name });
    if (detail) { $('#rename-input').value = detail.name; showMessage(t('panel.renamed', { name: detail.name }), 'info'); }
  });
  on('#tag-form', 'submit', async (e) => {
    e.preventDefault();
    const tags = $('#tag-input').value.split(/[,，]/).map((x) => x.trim()).filter(Boolean);
    if (tags.length && await patchSelected({ add_tags: tags })) $('#tag-input').value = '';
  });
  Object.assign(app, { openFile, renderPanel, clearPanel });
  onLanguageChange(() => {
    const d = state.selected;
    if (!d) return;
    renderPanel(d);
    if (d.similarItems) renderSimilar(d.similarItems);
    if (d.historyItems) renderHistory(d, d.historyItems);
    if (!similarSupported) $('#similar-note').textContent = t('panel.similarFallback');
  });
}
