// The public certificate verification page, /verify/<id>: it fetches /verify/<id>.json and checks
// it in this page (certverify.js: the issuer's signature, the threshold proofs in WebAssembly, the
// issue entry's inclusion under a witness-cosigned checkpoint, the signed status) against the keys
// the hub rendered into the page at start-up, never against keys from the response (later log keys
// only through the history GET /log-keys publishes, verified from the page's log key). It shows what
// the certificate states and nothing else: the page has no token and asks for nothing.
import { verifyCertificate } from './certverify.js';
import { fetchKeyHistory } from './verify.js';
import { createI18n } from './i18n.js';
import { $, el, clear, sleep, startLanguage } from './ui.js';

const messages = {
  en: {
    title: 'Certificate verification', language: 'Language', checking: 'Checking…',
    valid: 'Valid: this certificate was issued by {issuer} and has not been revoked.',
    revoked: 'Revoked on {time}: {reason}',
    invalid: 'Not valid: {message}',
    notFound: 'No such certificate, or its holder disabled this link.',
    unreachable: 'The certificate could not be fetched ({status}).',
    waitingCheckpoint: 'The ledger has not yet published a checkpoint that covers this certificate’s issuance (it does within seconds); asking again…',
    claimsTitle: 'What it states', checksTitle: 'What this page checked',
    checksHelp: 'Every check ran in this browser against the keys built into this page; nothing was taken on the server\'s word.',
    download: 'Download the certificate (JSON)',
    type: 'Type', issuer: 'Issuer', department: 'Issuing department', issued: 'Issued', rule: 'Rule version',
    status: 'Status', statusAsOf: 'Status as of', entry: 'Ledger entry', verifications: 'Verifications',
    revokeEntry: 'Revoke entry (on the log, verified)',
    checkSignature: 'Signed by the issuer\'s key ({key})', checkProofs: '{n} threshold proof(s) over commitments, none revealing a value',
    checkLedger: 'Issuance is entry {entry} of the ledger, under a checkpoint of {size} entries cosigned by {cosigners}',
    checkStatus: 'Status signed by the issuer', stepFailed: 'Failed: {step}',
    yes: 'yes', no: 'no',
    provenAge: 'proven in this page without revealing the date: {field} is on or before {threshold}, at least {years} years before the issue date {on}',
    provenClaim: 'proven in this page over a commitment: {field} {statement}',
  },
  'zh-CN': {
    title: '电子证照验证', language: '语言', checking: '正在验证…',
    valid: '有效：本证照由 {issuer} 签发，未被撤销。',
    revoked: '已于 {time} 撤销：{reason}',
    invalid: '无效：{message}',
    notFound: '没有该证照，或持证人已停用此链接。',
    unreachable: '无法获取证照（{status}）。',
    waitingCheckpoint: '账本尚未发布涵盖此证照签发记录的检查点（通常数秒内发布），正在重新获取…',
    claimsTitle: '证照内容', checksTitle: '本页完成的校验',
    checksHelp: '所有校验均在本浏览器中、依据本页内置的密钥完成，不依赖服务器的说法。',
    download: '下载证照（JSON）',
    type: '类型', issuer: '签发方', department: '签发部门', issued: '签发时间', rule: '规则版本',
    status: '状态', statusAsOf: '状态截至', entry: '账本条目', verifications: '验证次数',
    revokeEntry: '撤销条目（已在账本上核验）',
    checkSignature: '由签发方密钥签名（{key}）', checkProofs: '{n} 个基于承诺的阈值证明，不泄露任何数值',
    checkLedger: '签发记录为账本第 {entry} 条，位于 {size} 条目的检查点之下，由 {cosigners} 共同签名',
    checkStatus: '状态由签发方签名', stepFailed: '未通过：{step}',
    yes: '是', no: '否',
    provenAge: '已在本页验证零知识证明，未披露日期：{field} 不晚于 {threshold}，即签发日 {on} 之前至少 {years} 年',
    provenClaim: '已在本页验证基于承诺的证明：{field} {statement}',
  },
};

// proofNote says what the proof behind a claim established (never a value: the evidence holds none).
function proofNote(p) {
  if (p.statement?.kind === 'ageAtLeast') return t('provenAge', { field: p.field, threshold: p.threshold, years: p.statement.min, on: p.on });
  const st = p.statement ?? {};
  const text = st.kind === 'atLeast' ? `≥ ${st.min}` : st.kind === 'atMost' ? `≤ ${st.max}` : `${st.min} … ${st.max}`;
  return t('provenClaim', { field: p.field, statement: text });
}

const i18n = createI18n(messages);
const t = (k, v) => i18n.t(k, v);
let last = null;

function trust() {
  try {
    return JSON.parse($('#govhub-config').textContent);
  } catch {
    return {};
  }
}

function certificateID() {
  const m = location.pathname.match(/^\/verify\/([A-Za-z0-9-]+)$/);
  return m ? m[1] : '';
}

function verdict(state, text) {
  const v = $('#verdict');
  v.dataset.state = state;
  v.className = 'verdict';
  v.textContent = text;
}

function render() {
  i18n.apply();
  if (!last) return;
  if (last.error) {
    verdict('invalid', last.error);
    return;
  }
  const r = last.result;
  if (!r.ok) {
    verdict('invalid', t('invalid', { message: r.message }));
    $('#checks').hidden = false;
    clear($('#check-list')).append(el('li', { dataset: { ok: 'false' }, text: t('stepFailed', { step: r.step }) }));
    return;
  }
  const c = r.report;
  if (c.status === 'revoked') verdict('revoked', t('revoked', { time: c.revokedAt, reason: c.revokeReason }));
  else verdict('valid', t('valid', { issuer: c.issuer }));
  $('#certificate').hidden = false;
  $('#cert-name').textContent = c.name ?? c.type;
  const facts = [['type', c.type], ['issuer', c.issuer], ['department', c.issuingDepartment], ['issued', c.issued],
    ['rule', c.ruleVersion], ['status', c.status], ['statusAsOf', c.statusAsOf], ['entry', c.issueEntry]];
  if (c.revokeEntry != null) facts.push(['revokeEntry', c.revokeEntry]);
  if (c.verifications != null) facts.push(['verifications', c.verifications]);
  clear($('#cert-facts')).append(...facts.flatMap(([k, v]) => [el('dt', { text: t(k) }), el('dd', { dataset: { fact: k }, text: String(v ?? '') })]));
  clear($('#cert-claims')).append(...Object.entries(c.claims).sort().flatMap(([k, v]) => {
    const proof = c.proofs.find((p) => p.claim === k);
    return [el('dt', { text: k }), el('dd', { dataset: proof ? { claim: k, proven: 'true' } : { claim: k } },
      typeof v === 'boolean' ? t(v ? 'yes' : 'no') : String(v),
      proof ? el('small', { class: 'proven', dataset: { proof: proof.predicate }, text: ' — ' + proofNote(proof) }) : null)];
  }));
  $('#checks').hidden = false;
  clear($('#check-list')).append(
    el('li', { dataset: { ok: 'true', check: 'signature' }, text: t('checkSignature', { key: c.issuer }) }),
    el('li', { dataset: { ok: 'true', check: 'proofs' }, text: t('checkProofs', { n: c.proofs.length }) }),
    el('li', { dataset: { ok: 'true', check: 'ledger' }, text: t('checkLedger', { entry: c.issueEntry, size: c.checkpoint.size, cosigners: c.checkpoint.cosigners.join(', ') || '—' }) }),
    el('li', { dataset: { ok: 'true', check: 'status' }, text: t('checkStatus') }));
}

// CERT_WAIT bounds how long the page keeps asking for a certificate whose issue entry no
// published checkpoint covers yet (503, Retry-After: the ledger publishes one within seconds,
// longer while a witness is slow), as when its QR code is scanned right after issuance.
const CERT_WAIT = 60000;

// fetchVerification fetches the certificate's verification document, asking again after the
// Retry-After the hub gives (1 to 5 s) while it answers 503, for up to CERT_WAIT.
async function fetchVerification(id) {
  const until = Date.now() + CERT_WAIT;
  for (;;) {
    const resp = await fetch(`/verify/${encodeURIComponent(id)}.json`, { headers: { Accept: 'application/json' } });
    const pause = 1000 * Math.min(5, Math.max(1, Number(resp.headers.get('Retry-After')) || 1));
    if (resp.status !== 503 || Date.now() + pause > until) return resp;
    verdict('checking', t('waitingCheckpoint'));
    await sleep(pause);
  }
}

async function main() {
  startLanguage(i18n, render);
  i18n.apply();
  const id = certificateID();
  $('#json-link').href = `/verify/${id}.json`;
  const resp = await fetchVerification(id);
  if (resp.status === 404) {
    last = { error: t('notFound') };
  } else if (!resp.ok) {
    last = { error: t('unreachable', { status: resp.status }) };
  } else {
    // The log key's history (GET /log-keys), verified from the log key built into the page: after
    // a rotation of the log key, each checkpoint is checked under the key of its era.
    const doc = await resp.json();
    const tr = trust();
    let logKeys;
    try {
      logKeys = await fetchKeyHistory(tr);
    } catch (e) {
      last = { result: { ok: false, step: 'ledger', message: e.message } };
    }
    if (logKeys) last = { result: await verifyCertificate(doc, { ...tr, logKeys }) };
  }
  render();
  document.body.dataset.verified = last.result?.ok ? (last.result.report.status === 'revoked' ? 'revoked' : 'valid') : 'invalid';
}

main().catch((e) => {
  last = { error: t('invalid', { message: e.message }) };
  render();
  document.body.dataset.verified = 'invalid';
});
