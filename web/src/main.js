/* GraphFS web page: start-up, sign-in, tabs and language. CSP-safe: no inline code, no innerHTML of server data. */
import './styles/app.css';
import { api, session, setToken } from './api.js';
import { $, humanSize, on, setHidden } from './dom.js';
import { bindFiles, loadFiles, renderActiveTags, stopPolling } from './files.js';
import { bindGraph } from './graph-ui.js';
import { applyStatic, language, onLanguageChange, setLanguage, t } from './i18n.js';
import { hideMessage, reportError, showMessage } from './message.js';
import { bindPanel, clearPanel } from './panel.js';
import { bindSearch, hideSearch } from './search.js';
import { app, state } from './state.js';
import { bindTags, loadTags, loadTaxonomy, loadVocab } from './tags.js';
import { finishProviderSignIn, forgetProviderSession, resumeProviderSession, signInOptions, startProviderSignIn } from './oidc.js';
import { bindTokens } from './tokens.js';
import { bindUploads, resetUploads } from './uploads.js';

// ------------------------------------------------------------------ authentication
session.onUnauthorized = (detail) => {
  const hadSession = Boolean(session.user);
  signOut();
  showMessage(hadSession ? t('auth.ended', { detail }) : t('auth.rejected', { detail }));
};

async function signIn(token) {
  const value = token.trim();
  if (!value) { showMessage(t('signin.empty')); return; }
  session.token = value;
  try {
    const me = await api('/me');
    setToken(value);
    forgetProviderSession();
    hideMessage();
    enterApp(me);
  } catch (e) {
    if (e.status !== 401) { session.token = ''; reportError(e); }
  }
}

function signOut() {
  setToken('');
  forgetProviderSession();
  Object.assign(session, { user: null, limits: {} });
  Object.assign(state, { files: [], cursor: null, activeTag: null, listSeq: state.listSeq + 1 });
  state.filters.tags = [];
  resetUploads();
  stopPolling();
  if ($('#tokens-dialog').open) $('#tokens-dialog').close();
  $('#search-input').value = '';
  hideSearch();
  clearPanel();
  for (const id of ['#file-list', '#tags-list', '#active-tags', '#tag-vocab', '#graph-list']) $(id).replaceChildren();
  setHidden(true, '#related-box', '#app-view', '#user-box', '#search-box');
  setHidden(false, '#signin-view');
  $('#token-input').value = '';
  $('#token-input').focus();
}

function renderUser() {
  if (!session.user) return;
  $('#current-user').textContent = t('signedInAs', { user: session.user });
  const max = Number(session.limits?.max_upload_bytes);
  $('#drop-limit').textContent = Number.isFinite(max) && max > 0 ? t('upload.limit', { limit: humanSize(max) }) : t('upload.accepts');
}

function enterApp(me) {
  session.user = me.user;
  session.limits = me.limits || {};
  // Merging and renaming a tag change it on every user's files: admins only.
  $('#tags-view .tag-tools').hidden = !me.admin;
  setHidden(true, '#signin-view');
  setHidden(false, '#app-view', '#user-box', '#search-box');
  renderUser();
  renderActiveTags();
  showTab('files');
  loadFiles();
  loadTags();
  document.body.dataset.ready = 'app';
}

// ------------------------------------------------------------------ tabs
const TABS = ['files', 'graph', 'tags'];

export function showTab(name) {
  for (const tab of TABS) {
    const button = $(`#tab-${tab}`);
    button.setAttribute('aria-selected', String(tab === name));
    button.tabIndex = tab === name ? 0 : -1;
    $(`#${tab}-view`).hidden = tab !== name;
  }
  if (name === 'graph') app.resizeGraph?.();
  if (name === 'tags') { loadVocab(); if (!$('#tags-view .tag-tools').hidden) loadTaxonomy(); }
}

function bindTabs() {
  TABS.forEach((name, i) => {
    on(`#tab-${name}`, 'click', () => showTab(name));
    on(`#tab-${name}`, 'keydown', (e) => {
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
      showTab(next);
      $(`#tab-${next}`).focus();
    });
  });
  app.showTab = showTab;
}

// ------------------------------------------------------------------ start-up
function bindShell() {
  on('#signin-form', 'submit', (e) => { e.preventDefault(); signIn($('#token-input').value); });
  on('#sign-out', 'click', () => { signOut(); showMessage(t('auth.signedOut'), 'info'); });
  on('#message-close', 'click', hideMessage);
  const langSwitch = $('#lang-switch');
  langSwitch.value = language();
  langSwitch.addEventListener('change', () => setLanguage(langSwitch.value));
  onLanguageChange((lang) => { langSwitch.value = lang; renderUser(); });
}

/** Offers the provider's sign-in when the server has one, and finishes one that comes back here. */
async function providerSignIn() {
  const options = await signInOptions().catch(() => ({ oidc: null }));
  if (options.oidc) {
    setHidden(false, '#sign-in-provider');
    on('#sign-in-provider', 'click', () => startProviderSignIn(options.oidc).catch((e) => showMessage(t('signin.providerFailed', { detail: e.message }))));
  }
  try {
    // finishProviderSignIn keeps the token it gets; a reload resumes the refreshes of an earlier one.
    if (!(await finishProviderSignIn())) await resumeProviderSession();
  } catch (e) {
    showMessage(t('signin.providerFailed', { detail: e.message }));
  }
}

async function init() {
  applyStatic();
  [bindShell, bindUploads, bindFiles, bindTags, bindSearch, bindPanel, bindTabs, bindGraph, bindTokens].forEach((bind) => bind());
  await providerSignIn();
  if (!session.token) {
    setHidden(false, '#signin-view');
    $('#token-input').focus();
    document.body.dataset.ready = 'signin';
    return;
  }
  try {
    enterApp(await api('/me'));
  } catch (e) {
    document.body.dataset.ready = 'signin';
    if (e.status === 401) return; // onUnauthorized already shows the sign-in form
    setHidden(false, '#signin-view');
    reportError(e);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
