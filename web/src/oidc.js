/* Sign-in through the server's OpenID Connect provider: authorization code with PKCE. The page sends the
   browser to the provider with a code challenge; back here with a code, it has the server exchange code and
   verifier for an access token (the content policy lets the page talk to no other origin). Before that token
   expires, the server exchanges the provider's refresh token for a new one, so a session outlives the
   provider's short token lifetime (Keycloak: 5 minutes) without signing in again. */
import { setToken } from './api.js';

const PENDING_KEY = 'graphfs.oidc';
const REFRESH_KEY = 'graphfs.oidc.refresh';
/** When (ms since the epoch) the access token is refreshed: after 80 % of its lifetime. */
const REFRESH_AT_KEY = 'graphfs.oidc.refreshAt';
const RETRY_MS = 30_000;
let timer = null;

function randomText(bytes) {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(raw);
}

function base64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function redirectUri() {
  return `${location.origin}${location.pathname}`;
}

/** How the server lets users sign in: `{ oidc: {...} | null }`. */
export async function signInOptions() {
  const res = await fetch('/api/v1/sign-in');
  if (!res.ok) return { oidc: null };
  return res.json();
}

/** Sends the browser to the provider's sign-in page. */
export async function startProviderSignIn(oidc) {
  const verifier = randomText(48);
  const state = randomText(24);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: 'S256',
    state,
  });
  location.assign(`${oidc.authorization_endpoint}?${query}`);
}

/** Back from the provider: the access token for the code in the address, or null when there is none. */
export async function finishProviderSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
  sessionStorage.removeItem(PENDING_KEY);
  // The code must not stay in the address bar or the history.
  history.replaceState(null, '', redirectUri());
  if (params.has('error')) throw new Error(params.get('error_description') || params.get('error'));
  if (!pending || pending.state !== params.get('state')) throw new Error('the sign-in did not start here');
  const res = await fetch('/api/v1/sign-in/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: params.get('code'), code_verifier: pending.verifier, redirect_uri: redirectUri() }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || res.statusText);
  rememberProviderToken(body);
  return body.access_token;
}

/** Uses a token answer (`{access_token, expires_in, refresh_token}`) and plans its refresh. */
function rememberProviderToken(body) {
  setToken(body.access_token);
  if (body.refresh_token && body.expires_in) {
    sessionStorage.setItem(REFRESH_KEY, body.refresh_token);
    sessionStorage.setItem(REFRESH_AT_KEY, String(Date.now() + body.expires_in * 800));
  } else {
    forgetProviderSession();
  }
  planRefresh();
}

function planRefresh() {
  clearTimeout(timer);
  if (!sessionStorage.getItem(REFRESH_KEY)) return;
  const at = Number(sessionStorage.getItem(REFRESH_AT_KEY)) || 0;
  timer = setTimeout(() => refreshNow().catch(() => {}), Math.max(0, at - Date.now()));
}

/** Exchanges the refresh token for a new access token. A refused one is forgotten (the next 401 signs out);
    an unreachable server or provider is tried again later. */
async function refreshNow() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  if (!refreshToken) return;
  let res;
  try {
    res = await fetch('/api/v1/sign-in/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
  } catch {
    res = null;
  }
  if (res?.ok) {
    rememberProviderToken(await res.json());
  } else if (res && res.status >= 400 && res.status < 500) {
    forgetProviderSession();
  } else {
    clearTimeout(timer);
    timer = setTimeout(() => refreshNow().catch(() => {}), RETRY_MS);
  }
}

/** After a reload: refreshes now when the token is due (before the page uses it), else plans it. */
export async function resumeProviderSession() {
  if (!sessionStorage.getItem(REFRESH_KEY)) return;
  const at = Number(sessionStorage.getItem(REFRESH_AT_KEY)) || 0;
  if (at <= Date.now()) await refreshNow();
  else planRefresh();
}

/** Signing out ends the refreshes too. */
export function forgetProviderSession() {
  clearTimeout(timer);
  timer = null;
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.removeItem(REFRESH_AT_KEY);
}
