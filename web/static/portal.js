// The citizens' portal: who accessed my data (live), each access verified in this page against
// the ledger's keys, receipts, my data with its commitments' openings, and questions about an
// access. It speaks GraphQL to the hub (gql.js) with a citizen token, and renders everything as
// text.
//
// Trust. The keys this page verifies with come from the hub's configuration, rendered into the
// page at start-up (<script type="application/json" id="govhub-config">: the log's note verifier
// key, the witnesses' cosignature keys, the quorum), or from witness keys the citizen pastes;
// never from a response being checked. The page says so (the "keys" tab): its own check trusts
// the page that carries it; the receipt checked offline with keys published elsewhere does not.
// After a rotation of the log key, the later keys come from the history the hub publishes (GET
// /log-keys), which the page verifies from its own log key and the witness keys it trusts
// (verify.js's fetchKeyHistory): each checkpoint is then checked under the key of its era, and a
// history that does not verify fails every check (step "keys").
//
// Storage. The token is kept in this tab's sessionStorage (govhub.portal.token) and sent only in
// the Authorization header; a token arriving in the URL fragment (#token=…) is taken and removed
// from the URL at once. The last checkpoint verified is kept in localStorage
// (govhub.portal.checkpoint) and each new one must be proved consistent with it, so a hub that
// shows this browser a forked history is caught.
import { request, endpoint, GraphQLError } from './gql.js';
import { createI18n } from './i18n.js';
import { verifyAccessProof, verifySealedDisclosure, verifyOpening, fetchKeyHistory } from './verify.js';
import {
  $, el, clear, sleep, createAlerts, showTab, bindTabs, startLanguage,
  saveToken, forgetToken, savedToken, showSignedIn, bindSignIn, resume,
} from './ui.js';
import { messages } from './portal.messages.js';

const TOKEN_KEY = 'govhub.portal.token';
const TAB_KEY = 'govhub.portal.tab';
const CHECKPOINT_KEY = 'govhub.portal.checkpoint';
const OWN_KEYS_KEY = 'govhub.portal.witnesses';
const PAGE_SIZE = 20;

const i18n = createI18n(messages);
const t = i18n.t;

const config = readConfig();

const state = {
  token: '',
  me: null,
  accesses: new Map(), // index (string) → Access
  order: [], // indexes shown, newest first
  fresh: new Set(), // indexes that arrived live
  cursor: null,
  more: false,
  results: new Map(), // index → {ok, step, message} of the last verification
  receipts: new Map(), // index → receipt text
  asking: null, // index whose question form is open
  records: null,
  openings: new Map(), // "field#item" → CommitmentOpening
  questions: null,
  live: null, // AbortController of the subscription
  liveState: 'off',
  timer: 0,
};

// ---- the page's configuration and the keys it trusts ----

function readConfig() {
  const c = { logKey: '', witnessKeys: [], quorum: 0, demo: false, demoTokenPath: '' };
  const n = document.getElementById('govhub-config');
  try {
    Object.assign(c, JSON.parse(n ? n.textContent : '{}'));
  } catch { /* an unconfigured page: verification says the key is missing */ }
  return c;
}

function ownKeys() {
  try {
    const o = JSON.parse(localStorage.getItem(OWN_KEYS_KEY) || 'null');
    if (o && Array.isArray(o.keys)) return o;
  } catch { /* none */ }
  return null;
}

// trust returns the keys verification uses: the page's, or the witness keys the citizen pasted.
function trust() {
  const own = ownKeys();
  if (own) return { logKey: config.logKey, witnessKeys: own.keys, quorum: own.quorum, source: 'own' };
  return { logKey: config.logKey, witnessKeys: config.witnessKeys || [], quorum: config.quorum || 0, source: 'page' };
}

// The log key history, verified from trust(): a promise of {history} or {error}, fetched once, and
// again when the keys trusted change or a check fails at its signature (the key may have rotated
// since; at most once every two seconds).
let keyHistory = null;
let keyHistoryAt = 0;

function logKeys(again = false) {
  if (!keyHistory || (again && Date.now() - keyHistoryAt > 2000)) {
    const tr = trust();
    keyHistoryAt = Date.now();
    keyHistory = fetchKeyHistory({ logKey: tr.logKey, witnessKeys: tr.witnessKeys, quorum: tr.quorum })
      .then((history) => ({ history }), (error) => ({ error }));
  }
  return keyHistory;
}

// fingerprint is the first 16 hex digits of SHA-256 of the key's text.
async function fingerprint(key) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return Array.from(d.slice(0, 8), (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- errors and notices, in words ----

const { showError, clearError, notify, guard } = createAlerts(t, messages);

const gql = (q, vars) => request(q, vars, { token: state.token });

// save offers text as a file download (a blob URL: nothing leaves the page).
function save(name, text, type = 'text/plain') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- sign in ----

// tokenFromFragment takes a token given as #token=… and removes it from the URL (and history).
function tokenFromFragment() {
  const h = location.hash;
  if (!h.startsWith('#')) return '';
  const params = new URLSearchParams(h.slice(1));
  const tok = params.get('token') || '';
  if (tok) history.replaceState(null, '', location.pathname + location.search);
  return tok;
}

async function signIn(token) {
  state.token = token.trim();
  let me;
  try {
    ({ me } = await gql('{ me { kind subject } }'));
  } catch (e) {
    state.token = '';
    throw e;
  }
  if (me.kind !== 'citizen') {
    state.token = '';
    throw new GraphQLError([{ message: t('wrongKind', { kind: me.kind }), code: 'FORBIDDEN' }]);
  }
  state.me = me;
  saveToken(TOKEN_KEY, state.token);
  showSignedIn();
  renderWho();
  selectTab(sessionStorage.getItem(TAB_KEY) || 'accesses');
  await loadAccesses(true);
  subscribe();
  state.timer = setInterval(refreshAges, 30000);
}

async function demoSignIn(citizen) {
  let resp;
  try {
    resp = await fetch(config.demoTokenPath, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ citizen }),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new GraphQLError([{ message: String(e && e.message || e), code: 'NETWORK' }]);
  }
  const text = await resp.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch { /* below */ }
  if (!resp.ok || !body || !body.token) {
    throw new GraphQLError([{ message: (body && body.error) || text.trim() || String(resp.status), code: 'HTTP_' + resp.status }]);
  }
  await signIn(body.token);
}

function signOut() {
  if (state.live) state.live.abort();
  clearInterval(state.timer);
  forgetToken(TOKEN_KEY);
  state.token = '';
  location.reload();
}

function renderWho() {
  const w = $('#whoami');
  w.textContent = t('signedInAs', { subject: state.me.subject || '' });
  w.hidden = false;
}

// ---- tabs ----

function selectTab(name) {
  if (!document.getElementById('tab-' + name)) name = 'accesses';
  showTab(name);
  try {
    sessionStorage.setItem(TAB_KEY, name);
  } catch { /* fine */ }
  if (name === 'questions' && state.questions == null && state.token) guard(null, loadQuestions);
  if (name === 'trust') renderTrust();
  if (name === 'certificates' && state.applications == null && state.token) guard(null, loadCertificates);
}

// ---- who accessed my data ----

const ACCESS = `index time kind role official policyVersion outcome reason entryVersion unsealOn about
  department { code nameZh nameEn } purpose { code titleZh titleEn legalBasis } fields { name level proved refused }`;

async function loadAccesses(first) {
  const d = await gql(`query($first: Int, $after: String) { myAccesses(first: $first, after: $after) {
    edges { cursor node { ${ACCESS} } } pageInfo { hasNextPage endCursor } } }`,
  { first: PAGE_SIZE, after: first ? null : state.cursor });
  const c = d.myAccesses;
  if (first) {
    state.accesses.clear();
    state.order = [];
  }
  for (const { node } of c.edges) add(node, false);
  state.cursor = c.pageInfo.endCursor;
  state.more = c.pageInfo.hasNextPage;
  renderAccesses();
}

// add records an access; live ones go on top, pages at the bottom.
function add(a, live) {
  const k = String(a.index);
  if (state.accesses.has(k)) return false;
  state.accesses.set(k, a);
  if (live) {
    state.order.unshift(k);
    state.fresh.add(k);
  } else {
    state.order.push(k);
  }
  return true;
}

const name = (zh, en) => (i18n.lang === 'zh-CN' ? zh : en) || zh || en || '';

const LEVEL_ICON = { REVEALED: '👁', COMMITMENT: '🔒', PROVED: '✓', DENIED: '⛔', WRITTEN: '✎' };

function refused(a) {
  return a.outcome === 'denied' || a.kind === 'REFUSAL';
}

function timeNode(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return el('span', { text: iso || '' });
  return el('span', { class: 'when' },
    el('time', { datetime: iso, 'data-age': iso, text: i18n.formatAge(d) }), ' · ', el('span', { class: 'abs', text: i18n.formatTime(iso) }));
}

function refreshAges() {
  for (const n of document.querySelectorAll('time[data-age]')) n.textContent = i18n.formatAge(new Date(n.dataset.age));
}

function accessCard(k) {
  const a = state.accesses.get(k);
  const bad = refused(a);
  const dept = a.department ? name(a.department.nameZh, a.department.nameEn) : '';
  const cls = ['access', bad ? 'refused' : '', state.fresh.has(k) ? 'new' : ''].filter(Boolean).join(' ');
  const head = el('h3', {},
    state.fresh.has(k) ? el('span', { class: 'tag new', text: t('newBadge') }) : null,
    bad ? el('span', { class: 'tag refused', text: '✖ ' + t('refusedBadge') }) : null,
    el('span', { text: t('kind' + a.kind) + ' · ' + dept }));
  const facts = el('dl', { class: 'facts' },
    el('dt', { text: t('when') }), el('dd', {}, timeNode(a.time)),
    el('dt', { text: t('who') }), el('dd', {},
      el('span', { text: dept + (a.role ? ' / ' + a.role : '') }),
      a.official ? [' · ', el('span', { text: t('official') + ' ' }),
        el('code', { class: 'official', title: a.official, 'aria-label': t('officialFull', { p: a.official }), text: a.official.slice(0, 8) + '…' })] : null),
    el('dt', { text: t('purpose') }), el('dd', {}, a.purpose
      ? [el('span', { text: name(a.purpose.titleZh, a.purpose.titleEn) }), a.purpose.legalBasis ? el('span', { class: 'basis', text: ' — ' + a.purpose.legalBasis }) : null]
      : el('span', { class: 'muted', text: t('noPurpose') })),
    bad ? [el('dt', { text: t('outcome') }), el('dd', { class: 'refused-reason', text: t('refusedBecause', { reason: a.reason || t('noReason') }) })] : null,
    el('dt', { text: t('fields') }), el('dd', {}, a.fields.length
      ? el('ul', { class: 'fields' }, a.fields.map((f) => el('li', { class: 'level-' + f.level.toLowerCase(), dataset: { level: f.level } },
        el('span', { 'aria-hidden': 'true', text: (LEVEL_ICON[f.level] || '•') + ' ' }), el('code', { text: f.name }), ' ', el('span', { class: 'level', text: t('level' + f.level) }),
        (f.proved || []).length ? el('span', { class: 'proved', text: ' · ' + t('provedList', { p: f.proved.join(', ') }) }) : null,
        (f.refused || []).length ? el('span', { class: 'refused', text: ' · ' + t('refusedList', { p: f.refused.map((n) => (n === '*' ? t('uncatalogued') : n)).join(', ') }) }) : null)))
      : el('span', { class: 'muted', text: t('noFields') })),
    sealedFacts(a),
    el('dt', { text: t('ledgerIndex') }), el('dd', {}, el('span', { text: String(a.index) }),
      el('span', { class: 'muted', text: ' · ' + t('policyVersionN', { v: a.policyVersion }) + ' · ' + t('entryVersionN', { v: a.entryVersion }) })));
  const result = state.results.get(k);
  const res = el('p', { class: 'verify-result', role: 'status', 'aria-live': 'polite', hidden: !result,
    dataset: result ? { state: result.pending ? 'pending' : result.ok ? 'ok' : 'fail', step: result.step || '' } : {} },
  result ? verdict(result) : null);
  const buttons = el('div', { class: 'buttons' },
    el('button', { type: 'button', dataset: { action: 'verify', index: k }, text: t('verify') }),
    el('button', { type: 'button', dataset: { action: 'receipt', index: k }, text: t('downloadReceipt') }),
    !['QUESTION', 'ANSWER', 'SELF', 'SEALED', 'UNSEAL', 'STEP', 'CERTIFICATE'].includes(a.kind)
      ? el('button', { type: 'button', dataset: { action: 'ask', index: k }, 'aria-expanded': String(state.asking === k), text: t('askWhy') }) : null);
  const ask = state.asking === k ? askForm(k) : null;
  return el('li', { class: cls, dataset: { index: k, kind: a.kind, department: a.department ? a.department.code : '' } }, el('article', { 'aria-label': t('accessN', { n: k }) }, head, facts, buttons, res, ask));
}

// sealedFacts: a sealed access's unseal date, an unseal entry's access (hub/sealed.go).
function sealedFacts(a) {
  if (a.kind === 'SEALED') return [el('dt', { text: t('sealed') }), el('dd', { class: 'sealed-until', text: t('sealedUntil', { date: a.unsealOn || '' }) })];
  if (a.kind === 'UNSEAL' && a.about != null) return [el('dt', { text: t('sealed') }), el('dd', { class: 'unsealed-about', text: t('unsealedAbout', { n: a.about }) })];
  return null;
}

// disclosureNode shows a verified disclosure of a sealed access, or that it is still sealed.
function disclosureNode(d) {
  if (!d) return null;
  if (!d.unsealed) return el('p', { class: 'disclosure', dataset: { state: 'sealed' }, text: t('stillSealed', { date: d.unsealOn }) });
  const v = d.values;
  const row = (k, text) => [el('dt', { text: t('sealed-' + k) }), el('dd', { dataset: { key: k }, text })];
  return el('div', { class: 'disclosure', dataset: { state: 'disclosed' } },
    el('p', { text: '✔ ' + t('disclosureVerified', { n: d.unsealIndex }) }),
    el('dl', { class: 'facts' },
      row('actor', (v.actor || []).join(', ')),
      v.official ? row('official', v.official[0]) : null,
      row('purpose', (v.purpose || []).join(', ')),
      row('court-order', (v['court-order'] || []).join(', ')),
      row('outcome', (v.outcome || []).join(', ') + (v.reason ? ' — ' + v.reason.join(', ') : '')),
      row('field', (v.field || []).join('; ') || t('noFields'))));
}

function verdict(r) {
  if (r.pending) return el('span', { text: t(r.waiting === 'checkpoint' ? 'waitingCheckpoint' : r.waiting === 'busy' ? 'waitingBusy' : 'verifying') });
  if (r.ok) {
    return [el('strong', { text: '✔ ' + t('verified') }), ' ',
      el('span', { text: t('verifiedDetail', { size: r.checkpoint.size, cosigners: r.cosigners.length ? r.cosigners.join(', ') : t('none') }) }),
      disclosureNode(r.disclosure)];
  }
  return [el('strong', { text: '✖ ' + t('notVerified') }), ' ',
    el('span', { text: t('failedStep', { step: t('step-' + r.step) }) }), ' ', el('span', { class: 'why', text: r.message })];
}

function askForm(k) {
  const id = 'ask-' + k;
  const f = el('form', { class: 'stack ask', dataset: { index: k }, novalidate: true },
    el('label', { for: id, text: t('askLabel') }),
    el('textarea', { id, rows: 3, maxlength: 2000, required: true }),
    el('div', { class: 'buttons' },
      el('button', { type: 'submit', class: 'primary', text: t('askSend') }),
      el('button', { type: 'button', dataset: { action: 'ask-cancel', index: k }, text: t('cancel') })));
  return f;
}

function renderAccesses() {
  const list = clear($('#access-list'));
  for (const k of state.order) list.append(accessCard(k));
  $('#accesses-empty').hidden = state.order.length > 0;
  $('#more').hidden = !state.more;
  if (state.asking) {
    const ta = document.getElementById('ask-' + state.asking);
    if (ta) ta.focus();
  }
}

function rerenderCard(k) {
  const old = document.querySelector(`#access-list > li[data-index="${CSS.escape(k)}"]`);
  if (old) old.replaceWith(accessCard(k));
}

async function onAccessClick(e) {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const k = b.dataset.index;
  switch (b.dataset.action) {
    case 'verify':
      if (state.results.get(k)?.pending) break; // already verifying, or waiting to ask again
      await guard(b, () => verify(k));
      break;
    case 'receipt':
      await guard(b, () => downloadReceipt(k));
      break;
    case 'ask':
      state.asking = state.asking === k ? null : k;
      rerenderCard(k);
      if (state.asking) document.getElementById('ask-' + k).focus();
      break;
    case 'ask-cancel':
      state.asking = null;
      rerenderCard(k);
      break;
    default:
  }
}

async function onAskSubmit(e) {
  const f = e.target.closest('form.ask');
  if (!f) return;
  e.preventDefault();
  const k = f.dataset.index;
  const message = f.querySelector('textarea').value.trim();
  if (!message) {
    showError(new GraphQLError([{ message: t('required', { field: t('askLabel') }), code: 'BAD_USER_INPUT' }]));
    return;
  }
  await guard(e.submitter, async () => {
    await gql('mutation($i: Int64!, $m: String!) { questionAccess(index: $i, message: $m) { id } }', { i: Number(k), m: message });
    state.asking = null;
    rerenderCard(k);
    notify(t('asked', { n: k }));
    await loadQuestions();
  });
}

async function exportLog() {
  const d = await gql('{ myAccessesExport }');
  save(`govhub-my-accesses-${state.me.subject}.json`, d.myAccessesExport, 'application/json');
}

// ---- verification ----

const PROOF = 'index entry leafHash salt subjectPath { position hashes } treeSize proof checkpoint receipt';

function lastCheckpoint() {
  try {
    return localStorage.getItem(CHECKPOINT_KEY) || '';
  } catch {
    return '';
  }
}

// checkpointSize reads a checkpoint note's tree size (its second line), or -1.
function checkpointSize(text) {
  const lines = String(text || '').split('\n');
  return lines.length > 2 && /^(0|[1-9][0-9]*)$/.test(lines[1]) ? Number(lines[1]) : -1;
}

// PROOF_WAIT bounds how long verify keeps asking for a proof the hub marks retryable: the ledger
// has not yet published a checkpoint covering the access (it does within a second or two, longer
// while a witness is slow), or the hub is busy. The pauses grow from PROOF_RETRY_FIRST to
// PROOF_RETRY_MAX.
const PROOF_WAIT = 60000;
const PROOF_RETRY_FIRST = 500;
const PROOF_RETRY_MAX = 5000;

// accessProof asks for the proof of access k, asking again while the hub answers that it is not
// ready yet (retryable) and PROOF_WAIT has not passed; the card says what it waits for.
async function accessProof(k) {
  const until = Date.now() + PROOF_WAIT;
  for (let pause = PROOF_RETRY_FIRST; ; pause = Math.min(PROOF_RETRY_MAX, pause * 1.5)) {
    try {
      return await gql(`query($i: Int64!) { myAccessProof(index: $i) { ${PROOF} } }`, { i: Number(k) });
    } catch (e) {
      if (!(e instanceof GraphQLError) || !e.retryable || Date.now() + pause > until) throw e;
      record(k, { pending: true, waiting: e.codes.includes('NOT_FOUND') ? 'checkpoint' : 'busy' });
      await sleep(pause);
    }
  }
}

async function verify(k) {
  record(k, { pending: true });
  let d;
  try {
    d = await accessProof(k);
  } catch (e) {
    state.results.delete(k);
    rerenderCard(k);
    throw e;
  }
  const p = d.myAccessProof;
  state.receipts.set(k, p.receipt);
  const tr = trust();
  const input = {
    entry: p.entry, salt: p.salt, citizenId: state.me.subject, index: p.index,
    proof: p.proof, checkpoint: p.checkpoint, leafHash: p.leafHash, subjectPath: p.subjectPath || undefined,
  };
  const tk = { logKey: tr.logKey, witnessKeys: tr.witnessKeys, quorum: tr.quorum };
  // The entry's bytes are base64 in the response; verify.js takes bytes or UTF-8 text.
  try {
    input.entry = Uint8Array.from(atob(p.entry), (c) => c.charCodeAt(0));
  } catch {
    return record(k, { ok: false, step: 'input', message: t('badEntryEncoding') });
  }
  const prev = lastCheckpoint();
  const prevSize = checkpointSize(prev);
  if (prev && prevSize >= 0) {
    tk.previous = prev;
    const size = Number(p.treeSize);
    if (prevSize === size) {
      input.consistency = [];
    } else {
      const [from, to] = prevSize < size ? [prevSize, size] : [size, prevSize];
      try {
        const c = await gql('query($f: Int64!, $t: Int64) { consistencyProof(from: $f, to: $t) { hashes } }', { f: from, t: to });
        input.consistency = c.consistencyProof.hashes;
      } catch (e) {
        return record(k, { ok: false, step: 'consistency', message: t('noConsistency', { from, to, error: e.message }) });
      }
    }
  }
  let kh = await logKeys();
  let r = kh.error ? { ok: false, step: kh.error.step || 'keys', message: kh.error.message } : await verifyAccessProof(input, { ...tk, logKeys: kh.history });
  if (!r.ok && (r.step === 'signature' || r.step === 'keys')) {
    // The log key may have rotated since the history was fetched: fetch it again, once.
    kh = await logKeys(true);
    r = kh.error ? { ok: false, step: kh.error.step || 'keys', message: kh.error.message } : await verifyAccessProof(input, { ...tk, logKeys: kh.history });
  }
  if (r.ok && r.checkpoint && Number(r.checkpoint.size) >= prevSize) {
    try {
      localStorage.setItem(CHECKPOINT_KEY, r.checkpointText);
    } catch { /* not kept: the next check starts afresh */ }
  }
  if (r.ok && state.accesses.get(k).kind === 'SEALED') return record(k, await withDisclosure(k, input.entry, r));
  return record(k, r);
}

// withDisclosure adds to a verified sealed access what the hub discloses of it: still sealed, or
// the details, which must hash to the entry's sealed line (verify.js).
async function withDisclosure(k, entry, r) {
  let d;
  try {
    d = (await gql('query($i: Int64!) { mySealedDisclosure(index: $i) { index unsealOn unsealed unsealIndex details salt } }', { i: Number(k) })).mySealedDisclosure;
  } catch (e) {
    return { ok: false, step: 'sealed', message: e.message };
  }
  if (!d.unsealed) return { ...r, disclosure: d };
  const v = await verifySealedDisclosure(entry, d.salt, d.details);
  if (!v.ok) return v;
  return { ...r, disclosure: { ...d, values: v.details } };
}

function record(k, r) {
  state.results.set(k, r);
  rerenderCard(k);
  if (!$('#panel-trust').hidden) renderTrust();
  return r;
}

async function downloadReceipt(k) {
  let rc = state.receipts.get(k);
  if (!rc) {
    const d = await gql('query($i: Int64!) { myAccessProof(index: $i) { receipt } }', { i: Number(k) });
    rc = d.myAccessProof.receipt;
    state.receipts.set(k, rc);
  }
  save(`govhub-receipt-${k}.tlog-proof`, rc);
}

// ---- live: accessAdded over a websocket (graphql-transport-ws) ----
//
// A browser cannot set headers on a websocket, and the token must stay out of URLs: it goes in
// the connection_init payload as {"Authorization": "Bearer …"}. The connection is reopened, with
// a growing delay, whenever it ends (the token expiring ends it for good: sign in again).

function setLive(s) {
  state.liveState = s;
  const n = $('#live');
  n.dataset.state = s;
  n.textContent = t('live-' + s);
}

function wsURL() {
  const u = new URL(endpoint(), location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

function subscribe(delay = 0) {
  if (state.live) state.live.abort();
  const ctl = new AbortController();
  state.live = ctl;
  setTimeout(() => stream(ctl).then((opened) => {
    if (ctl.signal.aborted) return;
    setLive('retrying');
    subscribe(opened ? 1000 : Math.min(30000, Math.max(2000, delay * 2)));
  }), delay);
}

// stream runs one subscription until the connection ends; it reports whether it was acknowledged.
function stream(ctl) {
  setLive('connecting');
  return new Promise((resolve) => {
    let acked = false;
    let ws;
    try {
      ws = new WebSocket(wsURL(), 'graphql-transport-ws');
    } catch {
      resolve(false);
      return;
    }
    const send = (m) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
    ctl.signal.addEventListener('abort', () => ws.close(1000));
    ws.addEventListener('open', () => send({ type: 'connection_init', payload: { Authorization: 'Bearer ' + state.token } }));
    ws.addEventListener('close', () => resolve(acked));
    ws.addEventListener('message', (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      switch (m.type) {
        case 'connection_ack':
          acked = true;
          setLive('on');
          send({ id: '1', type: 'subscribe', payload: { query: `subscription { accessAdded { ${ACCESS} } }` } });
          break;
        case 'ping':
          send({ type: 'pong' });
          break;
        case 'next':
          onAccess(m.payload);
          break;
        case 'error':
          setLive('error');
          ws.close(1000);
          break;
        case 'complete':
          ws.close(1000);
          break;
        default:
      }
    });
  });
}

// onAccess shows an access pushed by the hub, highlighted, unless it is already shown.
function onAccess(payload) {
  if (payload && payload.errors && payload.errors.length) {
    setLive('error');
    return;
  }
  const a = payload && payload.data && payload.data.accessAdded;
  if (a && (a.kind === 'STEP' || a.kind === 'CERTIFICATE') && state.applications != null) guard(null, loadCertificates);
  if (a && add(a, true)) {
    renderAccesses();
    // The citizen's own questions and openings need no notice (it would hide the one their action
    // just showed).
    if (a.kind !== 'QUESTION' && a.kind !== 'SELF') {
      const dept = a.department ? name(a.department.nameZh, a.department.nameEn) : '';
      notify(t('arrived', { dept, n: a.index }));
    }
  }
}

// ---- my data ----

const SEALED = '{ __typename value commitment { scheme point version } }';
const RECORDS = `{ myRecords { id
  identity { name gender hukouCity nationalId ${SEALED} birthDate ${SEALED} address ${SEALED} }
  marriage { maritalStatus spouseCitizenId ${SEALED} registeredOn }
  socialInsurance { insured employer contributionMonths ${SEALED} monthlyBase ${SEALED} }
  tax { year annualIncome ${SEALED} taxPaid ${SEALED} }
  property { certificateNo city area address ${SEALED} acquiredOn }
  businessLicense { uscc companyName legalRepresentative registeredCapital status }
  health { bloodType ${SEALED} chronicConditions ${SEALED} vaccinations } } }`;

async function loadRecords() {
  const d = await gql(RECORDS);
  state.records = d.myRecords;
  renderRecords();
}

function valueText(v) {
  if (v == null) return t('empty');
  if (Array.isArray(v)) return v.length ? v.join(', ') : t('empty');
  if (typeof v === 'boolean') return v ? t('yes') : t('no');
  return String(v);
}

function renderRecords() {
  const box = clear($('#records'));
  const c = state.records;
  if (!c) {
    box.append(el('p', { text: t('noRecords') }));
    return;
  }
  for (const ds of ['identity', 'marriage', 'socialInsurance', 'tax', 'property', 'businessLicense', 'health']) {
    const v = c[ds];
    if (v == null || (Array.isArray(v) && !v.length)) continue;
    const items = Array.isArray(v) ? v : [v];
    const sec = el('section', { class: 'dataset', dataset: { dataset: ds } }, el('h3', { text: t('ds-' + ds) }));
    items.forEach((rec, item) => {
      if (items.length > 1) sec.append(el('h4', { text: t('itemN', { n: item + 1 }) }));
      const dl = el('dl', { class: 'facts' });
      for (const [f, fv] of Object.entries(rec)) {
        const field = `${ds}.${f}`;
        const sealed = fv && typeof fv === 'object' && !Array.isArray(fv) && 'commitment' in fv;
        dl.append(el('dt', { text: t('f-' + field) === 'f-' + field ? f : t('f-' + field) }),
          el('dd', {}, sealed ? sealedNode(field, item, fv) : el('span', { text: valueText(fv) })));
      }
      sec.append(dl);
    });
    box.append(sec);
  }
}

function sealedNode(field, item, fv) {
  const key = `${field}#${item}`;
  const o = state.openings.get(key);
  return el('div', { class: 'sealed', dataset: { field, item: String(item) } },
    el('span', { text: valueText(fv.value) }), ' ',
    el('span', { class: 'tag', text: '🔒 ' + t('sealed') }),
    fv.commitment ? el('div', { class: 'buttons' },
      el('button', { type: 'button', class: 'small', dataset: { action: 'open', field, item: String(item), kind: SEALED_KINDS[fv.__typename] || '' }, 'aria-expanded': String(!!o), text: t('showOpening') })) : null,
    o ? el('dl', { class: 'facts opening' },
      el('dt', { text: t('openValue') }), el('dd', {}, el('code', { text: o.value })),
      el('dt', { text: t('openBlinding') }), el('dd', {}, el('code', { text: o.blinding })),
      el('dt', { text: t('openPoint') }), el('dd', {}, el('code', { text: o.commitment.point })),
      el('dt', { text: t('openScheme') }), el('dd', {}, el('code', { text: o.commitment.scheme + ' · ' + t('ledgerIndex') + ' ' + o.commitment.version })),
      el('dt', { text: t('openCheck') }), el('dd', { class: 'opening-check ' + (o.check.ok ? 'verified' : 'failed'), text: o.check.ok ? '✓ ' + t('openVerified') : '✗ ' + o.check.message })) : null);
}

// SEALED_KINDS maps a sealed value's GraphQL type to the kind verifyOpening maps it as.
const SEALED_KINDS = { SealedInt: 'int', SealedString: 'string', SealedDate: 'date' };

async function onRecordsClick(e) {
  const b = e.target.closest('button[data-action="open"]');
  if (!b) return;
  const { field, item, kind } = b.dataset;
  const key = `${field}#${item}`;
  if (state.openings.has(key)) {
    state.openings.delete(key);
    renderRecords();
    return;
  }
  await guard(b, async () => {
    const d = await gql(`query($f: String!, $i: Int) { myOpening(field: $f, item: $i) { field item value blinding
      commitment { scheme point version } } }`, { f: field, i: Number(item) });
    // The opening is checked here, in the browser, against the commitment under its own scheme.
    const check = await verifyOpening({ kind, ...d.myOpening });
    state.openings.set(key, { ...d.myOpening, check });
    renderRecords();
  });
}

// ---- questions ----

async function loadQuestions() {
  const d = await gql(`{ myQuestions { id accessIndex askedAt message status overdue dueBy basis answer answeredAt
    questionIndex answerIndex department { code nameZh nameEn } } }`);
  state.questions = d.myQuestions;
  renderQuestions();
}

function renderQuestions() {
  const list = clear($('#question-list'));
  const qs = state.questions || [];
  $('#questions-empty').hidden = qs.length > 0;
  for (const q of qs) {
    const dept = q.department ? name(q.department.nameZh, q.department.nameEn) : '';
    const answered = q.status === 'ANSWERED';
    list.append(el('li', { class: ['question', answered ? 'answered' : 'open', q.overdue ? 'overdue' : ''].filter(Boolean).join(' '), dataset: { id: q.id, status: q.status } },
      el('article', {},
        el('h3', {}, q.overdue ? el('span', { class: 'tag refused', text: '⚠ ' + t('overdue') }) : null,
          el('span', { text: t('questionAbout', { n: q.accessIndex, dept }) })),
        el('dl', { class: 'facts' },
          el('dt', { text: t('askedAt') }), el('dd', {}, timeNode(q.askedAt)),
          el('dt', { text: t('yourQuestion') }), el('dd', { text: q.message }),
          el('dt', { text: t('status') }), el('dd', { class: 'status', text: answered ? t('statusANSWERED') : t('statusOPEN', { due: i18n.formatTime(q.dueBy) }) }),
          answered ? [
            el('dt', { text: t('basis') }), el('dd', { class: 'basis', text: t('basis' + q.basis) }),
            el('dt', { text: t('answer') }), el('dd', { class: 'answer', text: q.answer || '' }),
            el('dt', { text: t('answeredAt') }), el('dd', {}, timeNode(q.answeredAt)),
          ] : null))));
  }
}

// ---- my certificates: applications, their steps as they happen, the certificates ----

const APPLICATION = `id type status reason steps { name time index }
  certificate { id verifyPath revoked revokedAt revokeReason verifications verifiedAt linkEnabled credential }`;

async function loadCertificates() {
  const d = await gql(`{ certificateTypes { code titleZh titleEn } myApplications { ${APPLICATION} } }`);
  state.certTypes = d.certificateTypes;
  state.applications = d.myApplications;
  renderCertificates();
}

async function onApply(e) {
  e.preventDefault();
  const type = $('#cert-type').value;
  if (!type) return;
  await guard(e.submitter, async () => {
    const d = await gql(`mutation($type: String!) { applyForCertificate(type: $type) { ${APPLICATION} } }`, { type });
    const app = d.applyForCertificate;
    state.applications = [app, ...(state.applications || []).filter((x) => x.id !== app.id)];
    renderCertificates();
  });
}

function typeTitle(code) {
  const ty = (state.certTypes || []).find((x) => x.code === code);
  return ty ? name(ty.titleZh, ty.titleEn) : code;
}

function renderCertificates() {
  const sel = $('#cert-type');
  const chosen = sel.value;
  clear(sel).append(...(state.certTypes || []).map((ty) => el('option', { value: ty.code, text: name(ty.titleZh, ty.titleEn) })));
  if (chosen) sel.value = chosen;
  const list = clear($('#application-list'));
  const apps = state.applications || [];
  $('#applications-empty').hidden = apps.length > 0;
  for (const a of apps) {
    const c = a.certificate;
    list.append(el('li', { class: 'application', dataset: { id: a.id, status: a.status } },
      el('article', {},
        el('h3', { text: t('applicationTitle', { type: typeTitle(a.type), status: t('status' + a.status) }) }),
        el('ol', { class: 'steps' }, a.steps.map((st) => el('li', { dataset: { step: st.name },
          text: t('stepN', { step: t('status' + st.name), time: i18n.formatTime(st.time), n: st.index }) }))),
        a.status === 'refused' && a.reason ? el('p', { class: 'refusal', text: t('refusedBecause', { reason: a.reason }) }) : null,
        c ? el('div', { class: 'certificate', dataset: { certificate: c.id } },
          c.revoked ? el('p', { class: 'tag refused', text: t('certificateRevoked', { time: i18n.formatTime(c.revokedAt), reason: c.revokeReason || '' }) }) : null,
          el('p', {}, el('a', { class: 'verify-link', href: c.verifyPath, target: '_blank', rel: 'noopener', text: t('verifyLink') }),
            ' · ', el('span', { text: t('verifiedTimes', { n: c.verifications }) })),
          c.verifiedAt?.length ? el('details', { class: 'verified-at' }, el('summary', { text: t('verifiedWhen') }),
            el('ul', {}, c.verifiedAt.slice().reverse().map((at) => el('li', {}, timeNode(at))))) : null,
          el('img', { class: 'qr', src: c.verifyPath + '.png', alt: t('qrCode'), width: '180', height: '180' }),
          el('div', {}, el('button', { type: 'button', dataset: { action: 'download-certificate', id: c.id }, text: t('downloadCertificate') }), ' ',
            el('button', { type: 'button', dataset: { action: 'toggle-link', id: c.id, enabled: String(c.linkEnabled) },
              text: t(c.linkEnabled ? 'linkOff' : 'linkOn') }))) : null)));
  }
}

function onCertificatesClick(e) {
  const toggle = e.target.closest('button[data-action="toggle-link"]');
  if (toggle) {
    const enabled = toggle.dataset.enabled !== 'true';
    guard(toggle, async () => {
      await gql('mutation($id: ID!, $on: Boolean!) { setCertificateLink(id: $id, enabled: $on) { id linkEnabled } }', { id: toggle.dataset.id, on: enabled });
      await loadCertificates();
    });
    return;
  }
  const b = e.target.closest('button[data-action="download-certificate"]');
  if (!b) return;
  const a = (state.applications || []).find((x) => x.certificate && x.certificate.id === b.dataset.id);
  if (a) save(`certificate-${a.certificate.id}.json`, a.certificate.credential, 'application/json');
}

// ---- the keys this page trusts ----

async function renderTrust() {
  const tr = trust();
  const keyNode = async (k) => el('span', {}, el('code', { class: 'key', text: k }), ' ',
    el('span', { class: 'fp' }, t('fingerprint') + ' ', el('code', { text: await fingerprint(k) })));
  clear($('#trust-log')).append(tr.logKey ? await keyNode(tr.logKey) : el('span', { class: 'refused-reason', text: t('noLogKey') }));
  // The later log keys, each learnt from the one before it (the history GET /log-keys publishes).
  if (tr.logKey) {
    const kh = await logKeys();
    if (kh.error) {
      $('#trust-log').append(el('div', { class: 'refused-reason', dataset: { keys: 'refused' }, text: kh.error.message }));
    } else {
      for (const era of kh.history.eras.slice(1)) {
        $('#trust-log').append(el('div', { dataset: { era: era.origin } }, t('logKeyFrom', { n: String(era.start) }), ' ', await keyNode(era.key)));
      }
    }
  }
  const ul = clear($('#trust-witnesses'));
  for (const k of tr.witnessKeys) ul.append(el('li', {}, await keyNode(k)));
  if (!tr.witnessKeys.length) ul.append(el('li', { text: t('noWitnesses') }));
  $('#trust-quorum').textContent = String(tr.quorum);
  $('#trust-source').textContent = tr.source === 'own' ? t('sourceOwn') : t('sourcePage');
  const last = lastCheckpoint();
  clear($('#trust-last')).append(last ? el('pre', { text: last }) : el('span', { text: t('none') }));
}

function onTrustSubmit(e) {
  e.preventDefault();
  const keys = $('#own-witness-keys').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const quorum = Number($('#own-quorum').value);
  if (!Number.isSafeInteger(quorum) || quorum < 0 || quorum > keys.length) {
    showError(new GraphQLError([{ message: t('badQuorum', { n: keys.length }), code: 'BAD_USER_INPUT' }]));
    return;
  }
  clearError();
  try {
    localStorage.setItem(OWN_KEYS_KEY, JSON.stringify({ keys, quorum }));
  } catch { /* not kept */ }
  keyHistory = null;
  notify(t('keysSet'));
  renderTrust();
}

function resetTrust() {
  try {
    localStorage.removeItem(OWN_KEYS_KEY);
  } catch { /* nothing kept */ }
  keyHistory = null;
  notify(t('keysReset'));
  renderTrust();
}

// ---- start ----

function rerender() {
  document.title = t('title');
  if (state.liveState) setLive(state.liveState);
  if (state.me) {
    renderWho();
    renderAccesses();
    if (state.records) renderRecords();
    if (state.questions) renderQuestions();
    if (state.applications) renderCertificates();
    if (!$('#panel-trust').hidden) renderTrust();
  }
}

function start() {
  startLanguage(i18n, rerender);
  bindTabs(selectTab);
  setLive('off');
  if (config.demo && config.demoTokenPath) $('#demo-form').hidden = false;
  bindSignIn({ t, showError, guard }, signIn);
  $('#demo-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = $('#demo-citizen').value.trim().toUpperCase();
    if (!/^C[0-9]{6}$/.test(c)) {
      showError(new GraphQLError([{ message: t('badCitizenId'), code: 'BAD_USER_INPUT' }]));
      return;
    }
    await guard(e.submitter, () => demoSignIn(c));
  });
  $('#signout').addEventListener('click', signOut);
  $('#access-list').addEventListener('click', onAccessClick);
  $('#access-list').addEventListener('submit', onAskSubmit);
  $('#more').addEventListener('click', (e) => guard(e.currentTarget, () => loadAccesses(false)));
  $('#export').addEventListener('click', (e) => guard(e.currentTarget, exportLog));
  $('#load-records').addEventListener('click', (e) => guard(e.currentTarget, loadRecords));
  $('#records').addEventListener('click', onRecordsClick);
  $('#questions-refresh').addEventListener('click', (e) => guard(e.currentTarget, loadQuestions));
  $('#apply-form').addEventListener('submit', onApply);
  $('#application-list').addEventListener('click', onCertificatesClick);
  $('#trust-form').addEventListener('submit', onTrustSubmit);
  $('#trust-reset').addEventListener('click', resetTrust);
  const own = ownKeys();
  if (own) {
    $('#own-witness-keys').value = own.keys.join('\n');
    $('#own-quorum').value = String(own.quorum);
  }
  $('#booting').hidden = true;
  resume(TOKEN_KEY, tokenFromFragment() || savedToken(TOKEN_KEY), guard, signIn, () => !!state.me);
}

start();
