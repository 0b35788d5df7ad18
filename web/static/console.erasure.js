// Lawful erasure in the officers' console (docs/ERASURE.md): one officer proposes erasing a
// citizen's data with a legal basis and a reason; another approves it (the hub erases the data
// before answering) or rejects it. Officers only: the tab is removed for auditors, and the hub
// refuses anyone else anyway. Everything shown comes from the hub and is rendered as text.
import { request, fieldsOf } from './gql.js';
import { $, el, clear } from './ui.js';

const ERASURE = 'id citizenId basis reason status proposedBy created ledgerIndex decidedBy decisionReason decisionLedgerIndex erasureLedgerIndex';

// createErasures wires the erasures tab; probe shows it when the hub has the API and loads it.
export function createErasures({ t, token, guard, notify, subject }) {
  let requests = null;
  const gql = (q, vars) => request(q, vars, { token: token() });

  async function load() {
    const d = await gql(`query { erasureRequests { ${ERASURE} } }`);
    requests = d.erasureRequests;
    render();
  }

  function render() {
    const list = $('#erasure-list');
    if (!list || requests == null) return;
    clear(list);
    if (!requests.length) list.append(el('p', { text: t('noErasures') }));
    for (const r of requests) {
      const facts = el('dl', { class: 'facts' },
        el('dt', { text: t('erasureCitizen') }), el('dd', { text: r.citizenId || t('erasureNoCitizen') }),
        el('dt', { text: t('erasureBasis') }), el('dd', { text: r.basis }),
        el('dt', { text: t('reason') }), el('dd', { text: r.reason || '—' }),
        el('dt', { text: t('proposedBy') }), el('dd', { text: `${r.proposedBy} · ${r.created} · #${r.ledgerIndex}` }));
      if (r.decidedBy) facts.append(el('dt', { text: t('erasureDecidedBy') }), el('dd', { text: `${r.decidedBy} · #${r.decisionLedgerIndex}` }));
      if (r.erasureLedgerIndex != null) facts.append(el('dt', { text: t('erasureEntry') }), el('dd', { text: `#${r.erasureLedgerIndex}` }));
      const card = el('article', { class: 'card erasure', dataset: { id: r.id, status: r.status } },
        el('h3', {}, t('erasureRequest'), ' ', el('code', { text: r.id }), ' ', el('span', { class: 'badge', text: t('erasureStatus_' + r.status) })),
        facts);
      if (r.status === 'pending') card.append(controls(r));
      list.append(card);
    }
  }

  // controls are a pending request's approve and reject: the proposer cannot approve their own
  // (the hub refuses it too), so the button says why instead.
  function controls(r) {
    const own = r.proposedBy.toLowerCase() === (subject() || '').toLowerCase();
    const reason = el('input', { class: 'e-reject-reason', 'aria-label': t('erasureRejectReason'), placeholder: t('erasureRejectReason') });
    const approve = el('button', { type: 'button', class: 'primary e-approve', disabled: own, title: own ? t('erasureOwn') : null, text: t('erasureApprove') });
    approve.addEventListener('click', (e) => guard(e.currentTarget, async () => {
      const d = await gql(`mutation($id: ID!) { approveErasure(id: $id) { ${ERASURE} } }`, { id: r.id });
      notify(t('erasureApplied', { entry: d.approveErasure.erasureLedgerIndex }));
      await load();
    }));
    const reject = el('button', { type: 'button', class: 'e-reject', text: t('erasureReject') });
    reject.addEventListener('click', (e) => guard(e.currentTarget, async () => {
      await gql('mutation($id: ID!, $r: String!) { rejectErasure(id: $id, reason: $r) { id status } }', { id: r.id, r: reason.value });
      await load();
    }));
    return el('div', { class: 'actions' }, approve, reason, reject);
  }

  async function propose(e) {
    e.preventDefault();
    await guard(e.submitter, async () => {
      const vars = { c: $('#e-citizen').value.trim(), b: $('#e-basis').value.trim(), r: $('#e-reason').value };
      const d = await gql(`mutation($c: ID!, $b: String!, $r: String!) { proposeErasure(citizenId: $c, basis: $b, reason: $r) { ${ERASURE} } }`, vars);
      $('#erasure-form').reset();
      notify(t('erasureProposed', { id: d.proposeErasure.id }));
      await load();
    });
  }

  async function probe() {
    const tab = $('#tab-erasures');
    if (!tab) return; // removed: not an officer
    const fields = await fieldsOf('Mutation', { token: token() });
    if (!fields || !fields.includes('proposeErasure')) return;
    tab.hidden = false;
    $('#erasure-form').addEventListener('submit', propose);
    $('#e-refresh').addEventListener('click', (e) => guard(e.currentTarget, load));
    await load();
  }

  return { probe, render, load };
}
