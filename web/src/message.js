/* The message bar at the top of the page. */
import { $ } from './dom.js';

let timer = 0;

export function showMessage(text, kind = 'error') {
  const bar = $('#message');
  $('#message-text').textContent = text;
  bar.dataset.kind = kind;
  bar.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  bar.hidden = false;
  clearTimeout(timer);
  if (kind !== 'error') timer = setTimeout(hideMessage, 6000);
}

export function hideMessage() { $('#message').hidden = true; }

export function reportError(err) {
  if (!err || err.name === 'AbortError' || err.status === 401) return; // a 401 was handled by onUnauthorized
  console.error(err);
  showMessage(err.detail || err.message || String(err));
}
