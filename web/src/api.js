/* The only way the page talks to the server: the public HTTP API under /api/v1 with a bearer token. */
import { t } from './i18n.js';

export const API = '/api/v1';
const TOKEN_KEY = 'graphfs.token';

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  user: null,
  limits: {},
  onUnauthorized: () => {},
};

export function setToken(token) {
  session.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, detail, title = '', type = '') {
    super(detail);
    Object.assign(this, { status, detail, title, type });
  }
}

/** Turns an error body (RFC 9457 problem document or text) into an ApiError; a 401 signs out. */
export function problemFromBody(status, text, contentType, fallback, token) {
  let detail = '';
  let title = '';
  let type = '';
  if (text && /json/i.test(contentType || '')) {
    try { ({ detail = '', title = '', type = '' } = JSON.parse(text) || {}); } catch { /* not JSON after all */ }
  } else if (text && text.length < 300 && !/^\s*</.test(text)) {
    detail = text.trim();
  }
  detail = detail || title || fallback || t('error.http', { status });
  if (status === 401 && token && token === session.token) session.onUnauthorized(detail);
  return new ApiError(status, detail, title, type);
}

/** fetch() with the token; JSON in (or a raw `body` with its Content-Type in `headers`) and out; non-2xx responses throw ApiErrors. */
export async function api(path, { method = 'GET', json, body: raw_body, headers = {}, raw = false, signal } = {}) {
  const token = session.token;
  const h = new Headers(headers);
  if (token) h.set('Authorization', `Bearer ${token}`);
  if (json !== undefined) h.set('Content-Type', 'application/json');
  const body = json === undefined ? raw_body : JSON.stringify(json);
  let res;
  try {
    res = await fetch(API + path, { method, headers: h, body, signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw e.name === 'AbortError' ? e : new ApiError(0, t('error.network'));
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    const err = problemFromBody(res.status, text, res.headers.get('Content-Type'), res.statusText, token);
    const retry = res.headers.get('Retry-After');
    if (retry && (res.status === 429 || res.status === 503)) err.message = err.detail += t('error.retry', { s: retry });
    throw err;
  }
  if (raw) return res;
  const text = res.status === 204 ? '' : await res.text();
  if (!text) return null;
  return /json/i.test(res.headers.get('Content-Type') || '') ? JSON.parse(text) : text;
}

/** True for the answers an older server gives to a route it does not have. */
export const isMissingRoute = (e) => e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)
  && (e.status !== 404 || /route/i.test(e.detail));

/**
 * Raw-body upload with XMLHttpRequest, which (unlike fetch) reports upload progress,
 * into `folder` (a dropped folder's path, kept on the server) when one is given.
 * Returns { abort, promise } ; promise resolves with the FileRecord or rejects with an ApiError.
 */
export function uploadFile(file, name, folder, onProgress) {
  const token = session.token;
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const where = folder ? `&folder=${encodeURIComponent(folder)}` : '';
    xhr.open('POST', `${API}/files?name=${encodeURIComponent(name)}${where}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(problemFromBody(xhr.status, xhr.responseText, xhr.getResponseHeader('Content-Type'), xhr.statusText, token));
        return;
      }
      try { resolve(JSON.parse(xhr.responseText)); } catch { resolve(null); }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, t('upload.networkError'))));
    xhr.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    xhr.send(file);
  });
  return { abort: () => xhr.abort(), promise };
}
