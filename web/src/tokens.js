/* The caller's API tokens: list, make (the secret shown once), revoke. */
import { api, session } from './api.js';
import { $, el, muted, on } from './dom.js';
import { t } from './i18n.js';
import { reportError, showMessage } from './message.js';
import { confirmDialog } from './panel.js';

const fmtDay = (s) => new Date(s).toLocaleDateString();

/** The id the server lists this tab's own token under (first 12 hex digits of its SHA-256), when the browser can hash. */
async function currentTokenId() {
  if (!globalThis.crypto?.subtle || !session.token) return '';
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(session.token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 12);
}

function expiryText(token) {
  if (!token.expires_at) return t('tokens.noExpiry');
  const key = new Date(token.expires_at) <= new Date() ? 'tokens.expired' : 'tokens.expires';
  return t(key, { date: fmtDay(token.expires_at) });
}

function tokenRow(token, currentId) {
  const notes = [expiryText(token)];
  if (token.source === 'file') notes.push(t('tokens.fromFile'));
  if (token.id === currentId) notes.push(t('tokens.current'));
  const revoke = token.source === 'file' ? null : el('button', {
    type: 'button', class: 'small danger', 'data-testid': 'token-revoke', text: t('tokens.revoke'),
    'aria-label': t('tokens.revokeLabel', { label: token.label }), onclick: () => revokeToken(token),
  });
  return el('li', { 'data-testid': 'token-row', 'data-id': token.id },
    el('span', { class: 'token-label', text: token.label || token.id }),
    el('span', { class: 'muted small-note', text: notes.join(' · ') }),
    revoke);
}

async function loadTokens() {
  const list = $('#tokens-list');
  try {
    const [data, currentId] = await Promise.all([api('/tokens'), currentTokenId()]);
    const items = data?.items || [];
    list.replaceChildren(...(items.length ? items.map((x) => tokenRow(x, currentId)) : [muted(t('tokens.none'), 'li')]));
  } catch (e) {
    reportError(e);
  }
}

async function revokeToken(token) {
  if (!(await confirmDialog(t('tokens.confirmRevoke', { label: token.label }), t('tokens.revoke')))) return;
  try {
    await api(`/tokens/${token.id}`, { method: 'DELETE' });
    showMessage(t('tokens.revoked', { label: token.label }), 'info');
  } catch (e) {
    reportError(e);
  }
  await loadTokens();
}

async function makeToken(e) {
  e.preventDefault();
  const label = $('#token-label').value.trim();
  if (!label) return;
  const days = $('#token-expiry').value;
  try {
    const made = await api('/tokens', { method: 'POST', json: days ? { label, expires_in_days: Number(days) } : { label } });
    $('#token-secret').value = made.token;
    $('#token-made').hidden = false;
    $('#token-label').value = '';
    $('#token-secret').select();
  } catch (err) {
    reportError(err);
  }
  await loadTokens();
}

function openTokens() {
  // A secret shown earlier is not shown again.
  $('#token-secret').value = '';
  $('#token-made').hidden = true;
  $('#tokens-list').replaceChildren();
  $('#tokens-dialog').showModal();
  $('#token-label').focus();
  loadTokens();
}

export function bindTokens() {
  on('#tokens-open', 'click', openTokens);
  on('#token-form', 'submit', makeToken);
  on('#tokens-dialog', 'close', () => { $('#token-secret').value = ''; });
}
