// Page plumbing shared by GovHub's pages (console, portal): building elements as text, errors and
// notices in words, tabs, the language switch, and the bearer token kept in the tab's
// sessionStorage with the sign-in form around it. Nothing here is ever parsed as HTML.
import { GraphQLError } from './gql.js';

export const $ = (sel) => document.querySelector(sel);

// el builds an element: attributes (on* are listeners, text sets textContent), then children
// (strings become text nodes). Nothing is ever parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// sleep resolves after ms milliseconds.
export const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export function clear(node) {
  node.replaceChildren();
  return node;
}

// createAlerts returns the page's error and notice display (#alert, #notice), translated with t
// over messages (an error code CODE has words if messages.en has errCODE), and shows any uncaught
// error or rejection there. With emptyCode, an error without a code still gets its (empty) <code>.
export function createAlerts(t, messages, { emptyCode = false } = {}) {
  function showError(err) {
    const box = $('#alert');
    const items = [];
    if (err instanceof GraphQLError) {
      for (const e of err.errors) {
        const what = e.code && messages.en['err' + e.code] ? t('err' + e.code) : (e.code || t('errorTitle'));
        const code = e.code || emptyCode ? [' ', el('code', { text: e.code || '' })] : null;
        items.push(el('li', {}, el('strong', { text: what }), code, ': ', e.message));
      }
    } else {
      items.push(el('li', {}, el('strong', { text: t('errUnexpected') }), ': ', String(err && err.message || err)));
    }
    clear(box).append(el('p', { text: t('errorTitle') }), el('ul', {}, items));
    box.hidden = false;
  }

  function clearError() {
    $('#alert').hidden = true;
    clear($('#alert'));
  }

  function notify(text) {
    const n = $('#notice');
    n.textContent = text;
    n.hidden = false;
  }

  // guard runs an async action, showing any failure in words and re-enabling the button.
  async function guard(button, f) {
    clearError();
    if (button) button.disabled = true;
    try {
      return await f();
    } catch (e) {
      showError(e);
      return undefined;
    } finally {
      if (button) button.disabled = false;
    }
  }

  window.addEventListener('error', (e) => showError(e.error || e.message));
  window.addEventListener('unhandledrejection', (e) => showError(e.reason));

  return { showError, clearError, notify, guard };
}

// ---- tabs ----

// tabs returns the visible tabs.
export function tabs() {
  return [...document.querySelectorAll('[role="tab"]')].filter((b) => !b.hidden);
}

// showTab marks the tab "tab-"+name selected and shows its panel only.
export function showTab(name) {
  for (const b of document.querySelectorAll('[role="tab"]')) {
    const on = b.id === 'tab-' + name;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
    const panel = document.getElementById(b.getAttribute('aria-controls'));
    if (panel) panel.hidden = !on;
  }
}

// bindTabs makes the tablist's clicks and arrow, Home and End keys call select(name).
export function bindTabs(select) {
  const list = $('[role="tablist"]');
  list.addEventListener('click', (e) => {
    const b = e.target.closest('[role="tab"]');
    if (b) select(b.id.slice(4));
  });
  list.addEventListener('keydown', (e) => {
    const all = tabs();
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    let j = -1;
    if (e.key === 'ArrowRight') j = (i + 1) % all.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + all.length) % all.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = all.length - 1;
    if (j < 0) return;
    e.preventDefault();
    all[j].focus();
    select(all[j].id.slice(4));
  });
}

// startLanguage translates the page, titles it and wires the #lang switch to rerender.
export function startLanguage(i18n, rerender) {
  i18n.apply();
  document.title = i18n.t('title');
  i18n.bindSwitch($('#lang'));
  i18n.onChange(rerender);
}

// ---- the token and signing in ----

export function saveToken(key, token) {
  try {
    sessionStorage.setItem(key, token);
  } catch { /* storage disabled: the token lasts for this page */ }
}

export function forgetToken(key) {
  try {
    sessionStorage.removeItem(key);
  } catch { /* nothing kept */ }
}

export function savedToken(key) {
  try {
    return sessionStorage.getItem(key) || '';
  } catch { /* no storage */ }
  return '';
}

// showSignedIn swaps the sign-in form for the application and empties the token field.
export function showSignedIn() {
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#signout').hidden = false;
  $('#token').value = '';
}

// bindSignIn makes #signin-form sign in with the pasted token, refusing an empty one.
export function bindSignIn({ t, showError, guard }, signIn) {
  $('#signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('#token').value;
    if (!token.trim()) {
      showError(new GraphQLError([{ message: t('required', { field: t('token') }), code: 'BAD_USER_INPUT' }]));
      return;
    }
    await guard(e.submitter, () => signIn(token));
  });
}

// resume signs in with token if there is one, forgetting it (key) if the hub refuses it
// (signedIn() still false); otherwise, or then, it shows the sign-in form.
export function resume(key, token, guard, signIn, signedIn) {
  if (token) {
    guard(null, () => signIn(token)).then(() => {
      if (signedIn()) return;
      forgetToken(key); // refused (expired?): ask again
      $('#signin').hidden = false;
    });
  } else {
    $('#signin').hidden = false;
  }
}
