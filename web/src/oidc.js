/* Sign-in through the server's OpenID Connect provider: authorization code with PKCE. The page sends the
   browser to the provider with a code challenge; back here with a code, it has the server exchange code and
   verifier for an access token (the content policy lets the page talk to no other origin). */

const PENDING_KEY = 'graphfs.oidc';

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
  return body.access_token;
}
