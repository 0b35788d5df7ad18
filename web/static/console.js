// The privacy officers' console: rules and purposes in force, proposals (maker-checker), the
// explain tool, version history and ledger status, over the hub's GraphQL API (see gql.js).
// Officers propose, approve and reject; auditors read only (the page builds no control for them,
// and the hub refuses them anyway). Everything shown comes from the hub and is rendered as text.
import { request, fieldsOf, GraphQLError } from './gql.js';
import { createI18n } from './i18n.js';
import {
  $, el, clear, createAlerts, showTab, bindTabs, startLanguage,
  saveToken, forgetToken, savedToken, showSignedIn, bindSignIn, resume,
} from './ui.js';
import { messages } from './console.messages.js';
import { createErasures } from './console.erasure.js';

const TOKEN_KEY = 'govhub.console.token';
const POLL_MS = 3000;

const i18n = createI18n(messages);
const t = i18n.t;

const state = {
  token: '',
  me: null,
  version: null, // the PolicyVersion in force
  rules: [],
  purposes: [],
  groupings: [],
  versions: [],
  proposals: [],
  checkpoint: null,
  questions: null, // the citizens' questions this officer answers; null until loaded (or without the API)
  firstSeen: new Map(), // checkpoint size → Date this page first saw it
  poll: 0,
};

const isOfficer = () => state.me && state.me.kind === 'officer';

// labelCells gives each body cell of a table its column's heading as data-label, which the
// narrow-screen layout (app.css, table.cards) shows before the value.
function labelCells(table) {
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
  for (const tr of table.querySelectorAll('tbody tr')) {
    [...tr.cells].forEach((td, i) => {
      if (heads[i] && !td.hasAttribute('colspan')) td.dataset.label = heads[i];
    });
  }
  return table;
}

// ---- errors and notices, in words ----

const { showError, notify, guard } = createAlerts(t, messages, { emptyCode: true });

const gql = (q, vars) => request(q, vars, { token: state.token });
const erasures = createErasures({ t, token: () => state.token, guard, notify, subject: () => state.me && state.me.subject });

// ---- sign in ----

async function signIn(token) {
  state.token = token.trim();
  const { me } = await gql('{ me { kind department role subject } }');
  if (me.kind !== 'officer' && me.kind !== 'auditor') {
    state.token = '';
    throw new GraphQLError([{ message: t('wrongKind', { kind: me.kind }), code: 'FORBIDDEN' }]);
  }
  const d = await gql('{ policyVersion { version rules digest created } }');
  state.me = me;
  state.version = d.policyVersion;
  saveToken(TOKEN_KEY, state.token);
  document.body.dataset.kind = me.kind;
  showSignedIn();
  if (!isOfficer()) {
    // Auditors read only: the controls are removed, not just hidden.
    for (const n of document.querySelectorAll('[data-officer-only]')) n.remove();
  }
  renderWho();
  renderVersion();
  selectTab(sessionStorage.getItem('govhub.console.tab') || 'rules');
  await Promise.all([loadPolicy(), loadVersions(), loadProposals(), loadLedger(), probeQuestions(), erasures.probe()]);
  state.poll = setInterval(pollVersion, POLL_MS);
}

function signOut() {
  clearInterval(state.poll);
  forgetToken(TOKEN_KEY);
  state.token = '';
  location.reload();
}

function renderWho() {
  const w = $('#whoami');
  const kind = isOfficer() ? t('kindOfficer') : t('kindAuditor');
  w.textContent = t('signedInAs', { kind, subject: state.me.subject || '' });
  w.hidden = false;
}

function renderVersion() {
  const v = $('#version-indicator');
  v.textContent = t('versionIndicator', { version: state.version.version });
  v.dataset.version = state.version.version;
  v.hidden = false;
}

// probeQuestions shows the citizens' questions tab only if the hub's schema has questionAccess.
async function probeQuestions() {
  const fields = await fieldsOf('Mutation', { token: state.token });
  const present = !!fields && fields.includes('questionAccess');
  for (const n of document.querySelectorAll('[data-needs-api="questionAccess"]')) {
    if (n.getAttribute('role') === 'tab') n.hidden = !present;
  }
  if (present) await loadQuestions();
}

async function pollVersion() {
  let d;
  try {
    d = await gql('{ policyVersion { version rules digest created } }');
  } catch {
    return; // a missed poll is retried; errors of actions are shown by the actions
  }
  if (d.policyVersion.version !== state.version.version) {
    state.version = d.policyVersion;
    renderVersion();
    clearPreview(); // computed against the version before
    notify(t('versionChanged', { version: d.policyVersion.version }));
    await Promise.all([loadPolicy(), loadVersions(), loadProposals()]).catch(showError);
  }
  if (!$('#panel-ledger').hidden) loadLedger().catch(() => {});
}

// ---- tabs ----

function selectTab(name) {
  let found = false;
  for (const b of document.querySelectorAll('[role="tab"]')) {
    const on = b.id === 'tab-' + name && !b.hidden;
    found ||= on;
  }
  if (!found) name = 'rules';
  showTab(name);
  try {
    sessionStorage.setItem('govhub.console.tab', name);
  } catch { /* fine */ }
  if (name === 'ledger') loadLedger().catch(showError);
  if (name === 'questions' && state.questions != null) loadQuestions().catch(showError);
}

// ---- rules, purposes, groupings ----

const RULE = 'role department object action purpose effect';

async function loadPolicy() {
  const d = await gql(`{ policyVersion { version rules digest created } policyRules { ${RULE} }
    purposes { code titleZh titleEn legalBasis } policyGroupings { member role department } }`);
  state.version = d.policyVersion;
  state.rules = d.policyRules;
  state.purposes = d.purposes;
  state.groupings = d.policyGroupings;
  renderVersion();
  fillFilterOptions();
  fillFormOptions();
  renderRules();
  renderPurposes();
  renderGroupings();
}

const datasetOf = (object) => (object.includes('.') ? object.slice(0, object.indexOf('.')) : object);

function purposeTitle(code) {
  const p = state.purposes.find((x) => x.code === code);
  if (!p) return code;
  return i18n.lang === 'zh-CN' ? p.titleZh : p.titleEn;
}

function fillSelect(select, values, { anyLabel = null, label = (v) => v } = {}) {
  const keep = select.value;
  clear(select);
  if (anyLabel != null) select.append(el('option', { value: '', text: anyLabel }));
  for (const v of values) select.append(el('option', { value: v, text: label(v) }));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

const uniq = (xs) => [...new Set(xs)].sort();

function fillFilterOptions() {
  const r = state.rules;
  const cols = {
    department: uniq(r.map((x) => x.department)),
    role: uniq(r.map((x) => x.role)),
    dataset: uniq(r.map((x) => datasetOf(x.object))),
    action: uniq(r.map((x) => x.action)),
    effect: uniq(r.map((x) => x.effect)),
    purpose: uniq([...r.map((x) => x.purpose), ...state.purposes.map((p) => p.code)]),
  };
  for (const sel of document.querySelectorAll('#rule-filters select[data-filter]')) {
    const f = sel.dataset.filter;
    fillSelect(sel, cols[f], { anyLabel: t('any'), label: f === 'purpose' ? (c) => (c === '*' ? c : `${c} — ${purposeTitle(c)}`) : (v) => v });
  }
}

function fillFormOptions() {
  const r = state.rules;
  const dl = (id, values) => clear($(id)).append(...values.map((v) => el('option', { value: v })));
  dl('#dl-departments', uniq([...r.map((x) => x.department), ...state.groupings.map((g) => g.department)]));
  dl('#dl-roles', uniq([...r.map((x) => x.role), ...state.groupings.map((g) => g.role)]));
  dl('#dl-objects', uniq(r.map((x) => x.object)));
  const codes = state.purposes.map((p) => p.code);
  const label = (c) => `${c} — ${purposeTitle(c)}`;
  if ($('#p-purpose')) {
    fillSelect($('#p-purpose'), codes, { label });
    $('#p-purpose').append(el('option', { value: '*', text: t('purposeAny') }));
    fillSelect($('#p-retire-code'), codes, { label });
  }
  fillSelect($('#x-purpose'), codes, { label });
}

function ruleText(r) {
  return `${r.department}/${r.role} ${r.object} ${r.action} ${r.purpose} ${r.effect}`;
}

function renderRules() {
  const f = {};
  for (const sel of document.querySelectorAll('#rule-filters select[data-filter]')) f[sel.dataset.filter] = sel.value;
  const words = $('#f-search').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = state.rules.filter((r) =>
    (!f.department || r.department === f.department) && (!f.role || r.role === f.role) &&
    (!f.dataset || datasetOf(r.object) === f.dataset) && (!f.action || r.action === f.action) &&
    (!f.effect || r.effect === f.effect) && (!f.purpose || r.purpose === f.purpose) &&
    words.every((w) => (ruleText(r) + ' ' + purposeTitle(r.purpose)).toLowerCase().includes(w)));
  $('#rules-h').textContent = t('rulesIn', { version: state.version.version });
  $('#rules-count').textContent = t('rulesCount', { shown: shown.length, total: state.rules.length });
  const body = clear($('#rules-table tbody'));
  if (!shown.length) body.append(el('tr', {}, el('td', { colspan: 7, text: t('noRules') })));
  for (const r of shown) {
    body.append(el('tr', { class: 'effect-' + r.effect },
      el('td', { text: r.department }), el('td', { text: r.role }), el('td', {}, el('code', { text: r.object })),
      el('td', { text: r.action }), el('td', { text: r.purpose, title: purposeTitle(r.purpose) }), el('td', { text: r.effect }),
      isOfficer() && el('td', {}, el('button', { type: 'button', class: 'small', text: t('proposeRemoval'),
        'aria-label': t('proposeRemoval') + ': ' + ruleText(r), onclick: () => prefillRemoval(r) }))));
  }
  labelCells($('#rules-table'));
}

function renderPurposes() {
  const body = clear($('#purposes-table tbody'));
  for (const p of state.purposes) {
    body.append(el('tr', {},
      el('td', {}, el('code', { text: p.code })),
      el('td', {}, el('span', { lang: 'zh-CN', text: p.titleZh }), el('br'), el('span', { lang: 'en', text: p.titleEn })),
      el('td', { text: p.legalBasis }),
      isOfficer() && el('td', {}, el('button', { type: 'button', class: 'small', text: t('proposeRetire'),
        'aria-label': t('proposeRetire') + ': ' + p.code, onclick: () => prefillRetire(p.code) }))));
  }
  labelCells($('#purposes-table'));
}

function renderGroupings() {
  const body = clear($('#groupings-table tbody'));
  for (const g of state.groupings) {
    body.append(el('tr', {}, el('td', { text: g.member }), el('td', { text: g.role }), el('td', { text: g.department })));
  }
  labelCells($('#groupings-table'));
}

// ---- proposing ----

function setKind(kind) {
  $('#p-kind').value = kind;
  const rule = kind === 'addRule' || kind === 'removeRule';
  $('#p-rule').hidden = !rule;
  $('#p-new-purpose').hidden = kind !== 'addPurpose';
  $('#p-retire').hidden = kind !== 'retirePurpose';
  const legend = $('#p-rule legend');
  legend.dataset.i18n = kind === 'removeRule' ? 'kindRemoveRule' : 'kindAddRule';
  legend.textContent = t(legend.dataset.i18n);
}

function prefillRemoval(r) {
  clearPreview();
  setKind('removeRule');
  $('#p-department').value = r.department;
  $('#p-role').value = r.role;
  $('#p-object').value = r.object;
  $('#p-action').value = r.action;
  $('#p-purpose').value = r.purpose;
  $('#p-effect').value = r.effect;
  selectTab('propose');
  $('#p-reason').focus();
}

function prefillRetire(code) {
  clearPreview();
  setKind('retirePurpose');
  $('#p-retire-code').value = code;
  selectTab('propose');
  $('#p-reason').focus();
}

// need returns the trimmed value of an input, or throws naming its label.
function need(id) {
  const input = document.getElementById(id);
  const v = input.value.trim();
  if (!v) {
    input.focus();
    const label = document.querySelector(`label[for="${id}"]`);
    throw new GraphQLError([{ message: t('required', { field: label ? label.textContent : id }), code: 'BAD_USER_INPUT' }]);
  }
  return v;
}

function changeFromForm() {
  const kind = $('#p-kind').value;
  if (kind === 'addRule' || kind === 'removeRule') {
    const rule = {
      department: need('p-department'), role: need('p-role'), object: need('p-object'),
      action: $('#p-action').value, purpose: $('#p-purpose').value, effect: $('#p-effect').value,
    };
    return kind === 'addRule' ? { addRules: [rule] } : { removeRules: [rule] };
  }
  if (kind === 'addPurpose') {
    return { addPurposes: [{ code: need('p-code'), titleZh: need('p-title-zh'), titleEn: need('p-title-en'), legalBasis: need('p-basis') }] };
  }
  return { retirePurposes: [need('p-retire-code')] };
}

const PROPOSAL = `id baseVersion reason proposedBy created status ledgerIndex decidedBy decided decisionReason version decisionLedgerIndex
  change { addRules { ${RULE} } removeRules { ${RULE} } addGroupings { member role department } removeGroupings { member role department }
    addPurposes { code titleZh titleEn legalBasis } retirePurposes }
  impact { department role purpose field before after }`;

// previewGen counts the form's changes: a preview answered after a change is stale and not shown.
let previewGen = 0;

// clearPreview hides the impact preview: the form changed, or the policy version moved on.
function clearPreview() {
  previewGen++;
  const box = $('#p-preview-result');
  if (box) clear(box).hidden = true;
}

// previewChange asks the hub for the impact of the change in the form, a dry run that stores nothing,
// and shows it above the propose button.
async function previewChange(e) {
  const gen = ++previewGen;
  await guard(e.currentTarget, async () => {
    const change = changeFromForm();
    const d = await gql(`query($change: PolicyChangeInput!) { policyChangePreview(change: $change) {
      baseVersion impact { department role purpose field before after } } }`, { change });
    if (gen !== previewGen) return; // the form changed while the hub answered
    const p = d.policyChangePreview;
    const box = clear($('#p-preview-result'));
    box.dataset.baseVersion = p.baseVersion;
    box.append(
      el('h3', { text: t('previewTitle', { version: p.baseVersion }) }),
      el('p', { class: 'pending-note preview-note', text: t('previewNote') }),
      impactTable(p.impact));
    box.hidden = false;
    box.focus();
  });
}

async function propose(e) {
  e.preventDefault();
  const button = $('#p-submit');
  await guard(button, async () => {
    const change = changeFromForm();
    const reason = need('p-reason');
    const d = await gql(`mutation($change: PolicyChangeInput!, $reason: String!) { proposePolicyChange(change: $change, reason: $reason) { ${PROPOSAL} } }`,
      { change, reason });
    const p = d.proposePolicyChange;
    const box = clear($('#proposal-result'));
    box.dataset.id = p.id;
    box.dataset.status = p.status;
    box.append(
      el('h3', { text: t('proposalCreated', { id: p.id, status: statusWord(p.status) }) }),
      el('p', { class: 'pending-note', text: t('pendingExplain') }),
      proposalFacts(p),
      el('h4', { text: t('impactTitle') }),
      impactTable(p.impact));
    clearPreview();
    box.hidden = false;
    box.focus();
    $('#p-reason').value = '';
    await loadProposals();
  });
}

// ---- proposals ----

const LEVEL_RANK = { deny: 0, commit: 1, prove: 2, reveal: 3 };

function levelWord(l) {
  const k = { reveal: 'levelReveal', commit: 'levelCommit', deny: 'levelDeny', prove: 'levelProve' }[l];
  return k ? t(k) : l;
}

function statusWord(s) {
  const k = { pending: 'statusPending', approved: 'statusApproved', rejected: 'statusRejected' }[s];
  return k ? t(k) : s;
}

function impactTable(impact) {
  if (!impact.length) return el('p', { class: 'impact-none', text: t('impactNone') });
  const rows = impact.map((f) => {
    const gain = (LEVEL_RANK[f.after] ?? 0) > (LEVEL_RANK[f.before] ?? 0);
    return el('tr', { class: gain ? 'gain' : 'loss' },
      el('td', { text: f.department }), el('td', { text: f.role }), el('td', {}, el('code', { text: f.field })),
      el('td', { text: f.purpose, title: purposeTitle(f.purpose) }),
      el('td', { text: levelWord(f.before) }), el('td', { text: levelWord(f.after) }),
      el('td', {}, el('span', { class: 'tag ' + (gain ? 'gain' : 'loss'), text: (gain ? '▲ ' : '▼ ') + t(gain ? 'gains' : 'loses') })));
  });
  return el('div', {},
    el('p', { text: t('impactCount', { n: impact.length }) }),
    el('div', { class: 'table-wrap', tabindex: 0 },
      labelCells(el('table', { class: 'impact cards' },
        el('thead', {}, el('tr', {}, ['department', 'role', 'field', 'purpose', 'before', 'after', 'change'].map((k) => el('th', { scope: 'col', text: t(k) })))),
        el('tbody', {}, rows)))));
}

function proposalFacts(p) {
  const facts = [
    ['proposalId', p.id], ['status', statusWord(p.status)], ['baseVersion', p.baseVersion], ['proposedBy', p.proposedBy],
    ['created', i18n.formatTime(p.created)], ['ledgerIndex', p.ledgerIndex], ['reason', p.reason],
  ];
  if (p.decidedBy) facts.push(['decidedBy', p.decidedBy], ['decided', i18n.formatTime(p.decided)]);
  if (p.decisionReason) facts.push(['decisionReason', p.decisionReason]);
  if (p.version != null) facts.push(['newVersion', p.version]);
  return el('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [el('dt', { text: t(k) }), el('dd', { text: v })]));
}

function changeList(c) {
  const items = [];
  const rule = (r) => `${r.department}/${r.role}: ${r.object} ${r.action} · ${r.purpose} · ${r.effect}`;
  for (const r of c.addRules) items.push(['+', 'changeAddRule', rule(r)]);
  for (const r of c.removeRules) items.push(['−', 'changeRemoveRule', rule(r)]);
  for (const g of c.addGroupings) items.push(['+', 'changeAddGrouping', `${g.member} → ${g.department}/${g.role}`]);
  for (const g of c.removeGroupings) items.push(['−', 'changeRemoveGrouping', `${g.member} → ${g.department}/${g.role}`]);
  for (const p of c.addPurposes) items.push(['+', 'changeAddPurpose', `${p.code} (${i18n.lang === 'zh-CN' ? p.titleZh : p.titleEn}; ${p.legalBasis})`]);
  for (const code of c.retirePurposes) items.push(['−', 'changeRetirePurpose', code]);
  return el('ul', { class: 'changes' }, items.map(([sign, k, text]) => el('li', {}, el('strong', { text: `${sign} ${t(k)}` }), ': ', el('code', { text }))));
}

async function loadProposals() {
  const status = $('#pr-status').value;
  const d = await gql(`query($s: String) { policyProposals(status: $s) { ${PROPOSAL} } }`, { s: status || null });
  state.proposals = d.policyProposals;
  renderProposals();
}

function renderProposals() {
  const list = clear($('#proposal-list'));
  if (!state.proposals.length) list.append(el('p', { text: t('noProposals') }));
  for (const p of state.proposals) list.append(proposalCard(p));
}

function proposalCard(p) {
  const card = el('article', { class: 'card status-' + p.status, dataset: { id: p.id, status: p.status }, 'aria-labelledby': 'ph-' + p.id },
    el('h3', { id: 'ph-' + p.id }, el('span', { text: `${t('proposalId')} ${p.id}` }), ' ', el('span', { class: 'tag status', text: statusWord(p.status) })),
    changeList(p.change),
    proposalFacts(p),
    el('details', {}, el('summary', { text: `${t('impactTitle')} (${p.impact.length})` }), impactTable(p.impact)));
  if (p.status === 'pending' && isOfficer()) card.append(decisionControls(p));
  return card;
}

function decisionControls(p) {
  const box = el('div', { class: 'decide' });
  const own = p.proposedBy === state.me.subject;
  const stale = p.baseVersion !== state.version.version;
  const why = own ? t('ownProposal') : stale ? t('staleProposal', { base: p.baseVersion, current: state.version.version }) : '';
  const whyId = 'why-' + p.id;
  const approveBtn = el('button', { type: 'button', class: 'primary', dataset: { action: 'approve' }, text: t('approve'),
    disabled: !!why, 'aria-describedby': why ? whyId : null, onclick: () => approve(p, approveBtn) });
  const rejectBtn = el('button', { type: 'button', dataset: { action: 'reject' }, text: t('reject') });
  const reasonId = 'rr-' + p.id;
  const form = el('form', { class: 'reject-form stack', hidden: true, novalidate: true },
    el('label', { for: reasonId, text: t('rejectReason') }),
    el('textarea', { id: reasonId, rows: 2, required: true }),
    el('div', {},
      el('button', { type: 'submit', dataset: { action: 'confirm-reject' }, text: t('confirmReject') }), ' ',
      el('button', { type: 'button', text: t('cancel'), onclick: () => { form.hidden = true; rejectBtn.focus(); } })));
  rejectBtn.addEventListener('click', () => {
    form.hidden = false;
    document.getElementById(reasonId).focus();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    reject(p, form.querySelector('button[type="submit"]'), document.getElementById(reasonId));
  });
  box.append(el('div', { class: 'buttons' }, approveBtn, ' ', rejectBtn));
  if (why) box.append(el('p', { id: whyId, class: 'why', text: why }));
  box.append(form);
  return box;
}

async function approve(p, button) {
  await guard(button, async () => {
    const d = await gql(`mutation($id: ID!) { approvePolicyChange(id: $id) { ${PROPOSAL} } }`, { id: p.id });
    const a = d.approvePolicyChange;
    notify(t('approved', { id: a.id, version: a.version }));
    await Promise.all([loadPolicy(), loadVersions(), loadProposals()]);
  });
}

async function reject(p, button, reasonInput) {
  await guard(button, async () => {
    const reason = need(reasonInput.id);
    await gql('mutation($id: ID!, $r: String!) { rejectPolicyChange(id: $id, reason: $r) { id status } }', { id: p.id, r: reason });
    notify(t('rejected', { id: p.id }));
    await loadProposals();
  });
}

// ---- explain ----

async function explain(e) {
  e.preventDefault();
  await guard(e.submitter, async () => {
    const vars = { d: need('x-department'), r: need('x-role'), f: need('x-field'), p: need('x-purpose') };
    const d = await gql(`query($d: String!, $r: String!, $f: String!, $p: String!) {
      explainAccess(department: $d, role: $r, field: $f, purpose: $p) { level reason policyVersion matched { ${RULE} } } }`, vars);
    const x = d.explainAccess;
    const box = clear($('#explain-result'));
    box.dataset.level = x.level;
    box.append(
      el('dl', { class: 'facts' },
        el('dt', { text: t('level') }), el('dd', {}, el('strong', { class: 'level level-' + x.level, text: levelWord(x.level) })),
        el('dt', { text: t('reason') }), el('dd', { text: x.reason }),
        el('dt', { text: t('version') }), el('dd', { text: x.policyVersion })),
      el('h3', { text: t('matchedRules') }),
      x.matched.length
        ? el('ul', {}, x.matched.map((r) => el('li', {}, el('code', { text: ruleText(r) }))))
        : el('p', { text: t('noMatched') }));
    box.hidden = false;
  });
}

// ---- version history ----

async function loadVersions() {
  const d = await gql('{ policyVersions { version rules digest created proposalId proposedBy approvedBy reason } }');
  state.versions = d.policyVersions;
  renderVersions();
}

function renderVersions() {
  const body = clear($('#history-table tbody'));
  for (const v of [...state.versions].reverse()) {
    const current = v.version === state.version.version;
    body.append(el('tr', { class: current ? 'current' : null, dataset: { version: v.version } },
      el('td', {}, String(v.version), current ? el('span', { class: 'tag', text: t('inForce') }) : null),
      el('td', { text: i18n.formatTime(v.created) }), el('td', { text: v.rules }),
      el('td', { text: v.proposedBy || '' }), el('td', { text: v.approvedBy || '' }),
      el('td', { text: v.reason || '' }), el('td', {}, el('code', { text: v.digest.slice(0, 16), title: v.digest }))));
  }
  labelCells($('#history-table'));
}

// ---- citizens' questions ----

const QUESTION = 'id accessIndex department { code nameZh nameEn } askedAt message status overdue dueBy basis answer answeredAt questionIndex answerIndex';
const BASES = ['LEGAL_BASIS', 'CASE', 'MISUSE'];

async function loadQuestions() {
  if (!isOfficer()) {
    state.questions = [];
    renderQuestions();
    return;
  }
  const status = $('#q-status').value;
  const d = await gql(`query($s: QuestionStatus) { accessQuestions(status: $s) { ${QUESTION} } }`, { s: status || null });
  // Open first (oldest first, as the hub lists them), then the answered ones.
  state.questions = [...d.accessQuestions].sort((a, b) => (a.status === b.status ? 0 : a.status === 'OPEN' ? -1 : 1));
  renderQuestions();
}

function departmentName(d) {
  return `${i18n.lang === 'zh-CN' ? d.nameZh : d.nameEn} (${d.code})`;
}

function renderQuestions() {
  const list = clear($('#question-list'));
  const qs = state.questions;
  if (qs == null) return;
  if (!isOfficer()) {
    $('#question-count').textContent = '';
    list.append(el('p', { text: t('questionsOfficersOnly') }));
    return;
  }
  const open = qs.filter((q) => q.status === 'OPEN');
  $('#question-count').textContent = t('questionCount', { open: open.length, overdue: open.filter((q) => q.overdue).length,
    answered: qs.length - open.length });
  if (!qs.length) list.append(el('p', { text: t('noQuestions') }));
  for (const q of qs) list.append(questionCard(q));
}

function questionCard(q) {
  const answered = q.status === 'ANSWERED';
  const hid = 'qh-' + q.id;
  const card = el('article', { class: `card question status-${answered ? 'answered' : 'open'}${q.overdue ? ' overdue' : ''}`,
    dataset: { id: q.id, status: q.status, overdue: String(q.overdue) }, 'aria-labelledby': hid },
    el('h3', { id: hid }, el('span', { text: t('questionHeading', { index: q.accessIndex }) }), ' ',
      el('span', { class: 'tag status', text: t(answered ? 'questionAnswered' : 'questionOpen') }),
      q.overdue ? el('span', { class: 'tag overdue', text: '⚠ ' + t('questionOverdue') }) : null),
    el('dl', { class: 'facts' }, [
      ['accessIndex', q.accessIndex], ['accessDepartment', departmentName(q.department)], ['askedAt', i18n.formatTime(q.askedAt)],
      ['dueBy', i18n.formatTime(q.dueBy)], ['questionIndex', q.questionIndex],
    ].flatMap(([k, v]) => [el('dt', { text: t(k) }), el('dd', { dataset: { fact: k }, text: v })])),
    el('h4', { text: t('citizenMessage') }),
    el('blockquote', { class: 'message', text: q.message }));
  if (answered) {
    card.append(el('dl', { class: 'facts answer' }, [
      ['answerBasis', t('basis' + q.basis)], ['answerText', q.answer], ['answeredAt', i18n.formatTime(q.answeredAt)], ['answerIndex', q.answerIndex],
    ].flatMap(([k, v]) => [el('dt', { text: t(k) }), el('dd', { dataset: { fact: k }, text: v })])));
  } else {
    card.append(answerForm(q));
  }
  return card;
}

function answerForm(q) {
  const basisId = 'qb-' + q.id;
  const textId = 'qa-' + q.id;
  const form = el('form', { class: 'answer-form stack', novalidate: true },
    el('label', { for: basisId, text: t('answerBasis') }),
    el('select', { id: basisId, required: true },
      el('option', { value: '', text: t('chooseBasis') }),
      BASES.map((b) => el('option', { value: b, text: t('basis' + b) }))),
    el('label', { for: textId, text: t('answerText') }),
    el('textarea', { id: textId, rows: 3, maxlength: 2000, required: true }),
    el('div', {}, el('button', { type: 'submit', class: 'primary', dataset: { action: 'answer' }, text: t('submitAnswer') })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    answerQuestion(q, form.querySelector('button[type="submit"]'), basisId, textId);
  });
  return form;
}

async function answerQuestion(q, button, basisId, textId) {
  await guard(button, async () => {
    const basis = need(basisId);
    const answer = need(textId);
    const d = await gql(`mutation($id: ID!, $b: AnswerBasis!, $a: String!) { answerQuestion(id: $id, basis: $b, answer: $a) { ${QUESTION} } }`,
      { id: q.id, b: basis, a: answer });
    notify(t('answerSent', { id: q.id, index: d.answerQuestion.answerIndex }));
    await loadQuestions();
  });
}

// ---- ledger ----

// parseNote splits a C2SP signed note into its checkpoint lines and signature lines. A
// cosignature/v1 signature is key ID (4) ‖ timestamp (8, big-endian seconds) ‖ Ed25519 (64);
// the log's own note signature is key ID (4) ‖ Ed25519 (64).
function parseNote(text) {
  const [body, sigs = ''] = text.split('\n\n');
  const lines = body.split('\n');
  const signatures = [];
  for (const line of sigs.split('\n')) {
    const m = /^— (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    let bytes = null;
    try {
      bytes = Uint8Array.from(atob(m[2]), (c) => c.charCodeAt(0));
    } catch { /* not base64: shown without a time */ }
    let time = null;
    if (bytes && bytes.length === 4 + 8 + 64) {
      const secs = new DataView(bytes.buffer).getBigUint64(4);
      time = new Date(Number(secs) * 1000);
    }
    signatures.push({ name: m[1], cosignature: !!time, time });
  }
  return { origin: lines[0], size: lines[1], root: lines[2], signatures };
}

async function loadLedger() {
  const d = await gql('{ ledgerCheckpoint { origin size rootHash note } }');
  state.checkpoint = d.ledgerCheckpoint;
  renderLedger();
}

function renderLedger() {
  const cp = state.checkpoint;
  if (!cp) return;
  if (!state.firstSeen.has(cp.size)) state.firstSeen.set(cp.size, new Date());
  const n = parseNote(cp.note);
  const cosigs = n.signatures.filter((s) => s.cosignature);
  const latest = cosigs.reduce((a, s) => (!a || s.time > a ? s.time : a), null);
  const age = latest
    ? t('ageFromCosig', { age: i18n.formatAge(latest), time: i18n.formatTime(latest.toISOString()) })
    : t('ageUnknown', { age: i18n.formatAge(state.firstSeen.get(cp.size)) });
  const facts = [['origin', cp.origin], ['treeSize', cp.size], ['rootHash', cp.rootHash], ['checkpointAge', age]];
  clear($('#ledger-status')).append(...facts.flatMap(([k, v]) => [el('dt', { text: t(k) }), el('dd', { dataset: { fact: k } }, k === 'rootHash' ? el('code', { text: v }) : String(v))]));
  clear($('#ledger-sigs')).append(...n.signatures.map((s) => el('li', {}, el('code', { text: s.name }), ' — ',
    s.cosignature ? t('sigWitness', { time: i18n.formatTime(s.time.toISOString()) }) : t('sigLog'))));
  $('#ledger-witness-note').textContent = cosigs.length ? t('witnessNote', { size: cp.size, n: cosigs.length }) : t('noWitness');
  $('#ledger-note').textContent = cp.note;
}

// ---- start ----

function rerender() {
  document.title = t('title');
  if (!state.me) return;
  renderWho();
  renderVersion();
  fillFilterOptions();
  fillFormOptions();
  renderRules();
  renderPurposes();
  renderProposals();
  renderVersions();
  renderLedger();
  renderQuestions();
  erasures.render();
  if ($('#p-kind')) setKind($('#p-kind').value);
}

function start() {
  startLanguage(i18n, rerender);
  bindTabs(selectTab);
  bindSignIn({ t, showError, guard }, signIn);
  $('#signout').addEventListener('click', signOut);
  $('#rule-filters').addEventListener('input', renderRules);
  $('#rule-filters').addEventListener('submit', (e) => e.preventDefault());
  $('#propose-form').addEventListener('submit', propose);
  $('#p-kind').addEventListener('change', () => setKind($('#p-kind').value));
  $('#p-preview').addEventListener('click', previewChange);
  for (const type of ['input', 'change']) {
    $('#propose-form').addEventListener(type, (e) => {
      if (e.target.id !== 'p-reason') clearPreview();
    });
  }
  $('#pr-status').addEventListener('change', () => guard(null, loadProposals));
  $('#pr-refresh').addEventListener('click', (e) => guard(e.currentTarget, loadProposals));
  $('#explain-form').addEventListener('submit', explain);
  $('#ledger-refresh').addEventListener('click', (e) => guard(e.currentTarget, loadLedger));
  $('#q-status').addEventListener('change', () => guard(null, loadQuestions));
  $('#q-refresh').addEventListener('click', (e) => guard(e.currentTarget, loadQuestions));
  $('#booting').hidden = true;
  resume(TOKEN_KEY, savedToken(TOKEN_KEY), guard, signIn, () => !!state.me);
}

start();
