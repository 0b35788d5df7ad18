// certverify.js: checks GovHub certificates in the browser. An ES module without dependencies:
// WebCrypto (SHA-256, Ed25519) for the credential's Data Integrity proof, and the hub's own
// threshold-proof verifier compiled to WebAssembly (rangeproof.wasm, built by `go generate ./web`
// from crypto/rangeproof) for the proofs over commitments. The ledger checks (the issue entry's
// inclusion under a witness-cosigned checkpoint) are verify.js's.
//
// What it implements, and where each is specified:
//
//   jcs(value)                 RFC 8785 JSON Canonicalization Scheme: members sorted by their names'
//                              UTF-16 code units, no whitespace, numbers and strings serialized as
//                              ECMAScript's JSON.stringify does (RFC 8785 §3.2 defines them so).
//   base58btcDecode(s)         the Bitcoin alphabet (draft-msporny-base58-03), leading '1's as
//                              zero bytes.
//   multikeyEd25519(s)         a Multikey public key: 'z', base58btc of 0xed 0x01 ‖ the 32-byte
//                              Ed25519 key (W3C Controlled Identifiers, "Multikey").
//   verifyDataIntegrity(doc, publicKey)
//                              W3C vc-di-eddsa 3.3.2, cryptosuite eddsa-jcs-2022: the proof is one
//                              object of type DataIntegrityProof, proofPurpose assertionMethod; if
//                              it has an @context, the document's @context starts with it and the
//                              unsecured document takes it; the signature (proofValue, 'z' and
//                              base58btc of 64 bytes) is Ed25519 over
//                              SHA-256(JCS(proof without proofValue)) ‖ SHA-256(JCS(document
//                              without proof)). Returns true or false; throws on malformed input.
//   verifyRangeProof(commitmentHex, statement, contextBytes, proofBytes)
//                              crypto/rangeproof's Verify, run in WebAssembly: resolves to "" when
//                              the proof holds, else to the reason.
//   ageProofStatement(p, id, validFrom)
//                              what an age proof (statement ageAtLeast) verifies under: atMost the
//                              day number of the threshold N years before the issue date, context
//                              "govhub/age/v1 on <issue date> request <id>" (package certificate).
//
// The package credential (Go) is the signer; the browser test checks this module against the W3C
// specification's own test vectors, and against credentials the hub signs.

import { verifyCheckpoint, verifyInclusion, leafHash, fromBase64, toBase64, toHex, sha256, dayNumber, trustedLog } from './verify.js';

const utf8 = new TextEncoder();
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function jcs(value) {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('JCS: a number must be finite');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(jcs).join(',') + ']';
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort(); // UTF-16 code unit order, as RFC 8785 §3.2.3 says
    return '{' + keys.filter((k) => value[k] !== undefined).map((k) => JSON.stringify(k) + ':' + jcs(value[k])).join(',') + '}';
  }
  throw new TypeError(`JCS: cannot canonicalize a ${typeof value}`);
}

export function base58btcDecode(s) {
  let n = 0n;
  for (const ch of s) {
    const d = B58.indexOf(ch);
    if (d < 0) throw new TypeError(`base58btc: '${ch}' is not in the alphabet`);
    n = n * 58n + BigInt(d);
  }
  const bytes = [];
  while (n > 0n) {
    bytes.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const ch of s) {
    if (ch !== '1') break;
    bytes.unshift(0);
  }
  return new Uint8Array(bytes);
}

export function multikeyEd25519(s) {
  if (typeof s !== 'string' || !s.startsWith('z')) throw new TypeError('a Multikey starts with z (base58btc)');
  const b = base58btcDecode(s.slice(1));
  if (b.length !== 34 || b[0] !== 0xed || b[1] !== 0x01) throw new TypeError('not an Ed25519 Multikey (0xed 0x01 and 32 bytes)');
  return b.slice(2);
}

export async function verifyDataIntegrity(doc, publicKey) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new TypeError('the credential is not a JSON object');
  const proof = doc.proof;
  if (proof === null || typeof proof !== 'object' || Array.isArray(proof)) throw new TypeError('the credential has not exactly one proof object');
  if (proof.type !== 'DataIntegrityProof' || proof.cryptosuite !== 'eddsa-jcs-2022') throw new TypeError('the proof is not a DataIntegrityProof of cryptosuite eddsa-jcs-2022');
  if (proof.proofPurpose !== 'assertionMethod') throw new TypeError('the proof purpose is not assertionMethod');
  if (typeof proof.proofValue !== 'string' || !proof.proofValue.startsWith('z')) throw new TypeError('the proof value is not base58btc');
  const signature = base58btcDecode(proof.proofValue.slice(1));
  if (signature.length !== 64) return false;
  const unsecured = { ...doc };
  delete unsecured.proof;
  const config = { ...proof };
  delete config.proofValue;
  if (config['@context'] !== undefined) {
    const want = [].concat(config['@context']);
    const have = [].concat(doc['@context'] ?? []);
    if (want.some((c, i) => jcs(c) !== jcs(have[i]))) return false;
    unsecured['@context'] = config['@context'];
  }
  const hashData = new Uint8Array(64);
  hashData.set(await sha256(utf8.encode(jcs(config))), 0);
  hashData.set(await sha256(utf8.encode(jcs(unsecured))), 32);
  const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, signature, hashData);
}

let wasmReady = null;

// loadRangeProofVerifier starts the WebAssembly verifier once (about 4 MB from the hub itself).
export function loadRangeProofVerifier(base = '/static/') {
  if (!wasmReady) {
    wasmReady = (async () => {
      await import(base + 'wasm_exec.js'); // defines globalThis.Go
      const go = new globalThis.Go();
      const resp = await fetch(base + 'rangeproof.wasm');
      if (!resp.ok) throw new Error(`loading the proof verifier: HTTP ${resp.status}`);
      const { instance } = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
      go.run(instance); // runs until the page goes: it only waits for calls
      for (let i = 0; i < 100 && typeof globalThis.govhubVerifyRangeProof !== 'function'; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (typeof globalThis.govhubVerifyRangeProof !== 'function') throw new Error('the proof verifier did not start');
    })();
  }
  return wasmReady;
}

export async function verifyRangeProof(commitmentHex, statement, contextBytes, proofBytes, base) {
  await loadRangeProofVerifier(base);
  return globalThis.govhubVerifyRangeProof(commitmentHex, JSON.stringify(statement), toBase64(contextBytes), toBase64(proofBytes));
}

// ---- ages: a proof that a sensitive date is at least N years before the issue date ----
//
// ageThresholdDate(on, years) is the latest birth date (YYYY-MM-DD) of someone at least years old
// on day on: the same day and month, years earlier, and 28 February for a 29 February the earlier
// year lacks (Go: certificate.AgeThresholdDate). ageProofStatement(p, id, validFrom) checks an age
// proof's evidence (statement kind ageAtLeast, min years) as certificate.ProofEvidence.RangeStatement
// does: its day asked (on) is the UTC date of the certificate's validFrom, its threshold is
// ageThresholdDate(on, min); and returns what the range proof must verify under: atMost the
// threshold's day number, with the context "govhub/age/v1 on <day> request <certificate id>".

export function ageThresholdDate(on, years) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof on === 'string' ? on : '');
  if (!m) throw new TypeError('the day asked is not a date YYYY-MM-DD');
  dayNumber(on); // a real date
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!Number.isSafeInteger(years) || years < 1 || years > 150 || y - years < 1) throw new TypeError(`no date ${years} years before ${on}`);
  const ty = y - years;
  const last = new Date(0);
  last.setUTCFullYear(ty, mo, 0); // day 0 of the next month: the last of this one
  const day = Math.min(d, last.getUTCDate());
  return `${String(ty).padStart(4, '0')}-${m[2]}-${String(day).padStart(2, '0')}`;
}

export function ageProofStatement(p, id, validFrom) {
  const issued = /^(\d{4}-\d{2}-\d{2})T/.exec(typeof validFrom === 'string' ? validFrom : '');
  if (!issued || Number.isNaN(Date.parse(validFrom))) throw new TypeError('the certificate has no issue time');
  const day = new Date(Date.parse(validFrom)).toISOString().slice(0, 10); // the UTC date
  if (p.on !== day) throw new TypeError(`the age was asked on ${p.on}, not on the issue date ${day}`);
  const want = ageThresholdDate(day, p.statement?.min);
  if (p.threshold !== want) throw new TypeError(`the threshold day is ${p.threshold}, but ${p.statement?.min} years before the issue date ${day} is ${want}`);
  return { statement: { kind: 'atMost', min: 0, max: dayNumber(want) }, context: utf8.encode(`govhub/age/v1 on ${day} request ${id}`) };
}

// ---- a whole certificate: the document GET /verify/<id>.json serves ----
//
// verifyCertificate(doc, trust) checks a verification document (format
// govhub/certificate-verification/v1, specified in the Go package certificate) as `govhub
// verify-certificate` does, against trust = {logKey, witnessKeys, quorum, logKeys?, issuerKey?,
// issuerKeys?}: the keys pinned in the page; logKeys the log key history that verify.js's
// fetchKeyHistory (or verifyKeyHistory) verified from logKey, so that after a rotation of the log
// key each checkpoint is checked under the key of its origin, in its era; issuerKey a Multikey
// string, issuerKeys every credential key the hub has signed with, the current one first, so that
// certificates from before a key rotation still verify. It checks the credential's eddsa-jcs-2022
// signature by the key its DID document names for the proof's verification method (and one of the
// pinned keys when pinned); every threshold proof of the evidence against its commitment, its
// statement and the certificate id; the issue receipt (C2SP tlog-proof whose extra data is the
// entry) under a checkpoint signed by the log and cosigned by a quorum of witnesses, at the index
// the evidence names; that entry an allowed issue entry naming this certificate, recording
// SHA-256("govhub/certificate/v1" ‖ 0x00 ‖ JCS(credential without proof and without the
// evidence's issueEntry)), under the policy version the evidence names; and the status
// credential's signature and subject, and a revoked status's revoke receipt when the document has
// one (then report.revokeEntry is that entry's index, else null). It resolves to {ok: true,
// report} or {ok: false, step, message}; the steps are signature, proofs, ledger, status.
//
// An age proof (statement ageAtLeast) is checked at the threshold of the issue date
// (ageProofStatement), and a claim a proof names must state true.

const CERT_FORMAT = 'govhub/certificate-verification/v1';
const CERT_PREFIX = 'urn:govhub:certificate:';

class CertError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

function certFail(step, message) {
  throw new CertError(step, message);
}

// keyFromDIDDocument returns the Multikey of the verification method vm that the DID document
// lists under assertionMethod.
function keyFromDIDDocument(did, vm) {
  if (did == null || typeof did !== 'object') certFail('signature', 'the issuer DID document is missing');
  const authorized = (did.assertionMethod ?? []).some((m) => (typeof m === 'string' ? m : m?.id) === vm);
  if (!authorized) certFail('signature', `the DID document does not authorize ${vm} for assertions`);
  const m = (did.verificationMethod ?? []).find((v) => v?.id === vm);
  if (!m || m.type !== 'Multikey') certFail('signature', `the DID document has no Multikey ${vm}`);
  if (m.controller !== did.id || !vm.startsWith(did.id + '#')) certFail('signature', `${vm} is not controlled by ${did.id}`);
  return m.publicKeyMultibase;
}

// pinnedKey reports whether the Multikey the DID document names for a proof's verification method
// is one the page pins (trust.issuerKeys: the current credential key and those it replaced; or the
// single trust.issuerKey), or true when the page pins none.
function pinnedKey(trust, multikey) {
  const pins = [].concat(trust.issuerKeys ?? [], trust.issuerKey ? [trust.issuerKey] : []);
  return pins.length === 0 || pins.includes(multikey);
}

export function parseTlogProof(text) {
  const lines = text.split('\n');
  if (lines[0] !== 'c2sp.org/tlog-proof@v1') throw new TypeError('not a c2sp.org/tlog-proof@v1');
  let i = 1;
  let extra = null;
  if (lines[i]?.startsWith('extra ')) extra = fromBase64(lines[i++].slice(6));
  if (!lines[i]?.startsWith('index ')) throw new TypeError('no index line');
  const index = Number(lines[i++].slice(6));
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError('the index is not a number');
  const proof = [];
  while (i < lines.length && lines[i] !== '') proof.push(fromBase64(lines[i++]));
  if (lines[i] !== '') throw new TypeError('no empty line before the checkpoint');
  return { extra, index, proof, checkpoint: lines.slice(i + 1).join('\n') };
}

function entryLines(bytes) {
  const m = new Map();
  for (const line of new TextDecoder().decode(bytes).split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0 && !m.has(line.slice(0, sp))) m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}

async function recordDigest(credential) {
  const c = structuredClone(credential);
  delete c.proof;
  delete c.evidence[0].issueEntry;
  return sha256(utf8.encode('govhub/certificate/v1\u0000' + jcs(c)));
}

export async function verifyCertificate(doc, trust, wasmBase) {
  try {
    return { ok: true, report: await checkCertificate(doc, trust ?? {}, wasmBase) };
  } catch (e) {
    return { ok: false, step: e.step ?? 'input', message: e.message };
  }
}

async function checkCertificate(doc, trust, wasmBase) {
  if (doc?.format !== CERT_FORMAT) certFail('input', `not a ${CERT_FORMAT} document`);
  const cred = doc.credential;
  // The signature, by the key the issuer's DID document names (and the pinned one, if pinned).
  const vm = cred?.proof?.verificationMethod;
  if (typeof vm !== 'string') certFail('signature', 'the credential has no verification method');
  const multikey = keyFromDIDDocument(doc.didDocument, vm);
  if (!pinnedKey(trust, multikey)) certFail('signature', 'the credential is signed by a key other than the pinned issuer keys');
  if (cred.issuer !== doc.didDocument.id) certFail('signature', `the issuer ${cred.issuer} is not the DID ${doc.didDocument.id}`);
  let ok;
  try {
    ok = await verifyDataIntegrity(cred, multikeyEd25519(multikey));
  } catch (e) {
    certFail('signature', e.message);
  }
  if (!ok) certFail('signature', 'the credential\'s signature does not verify: it was changed or not signed by its issuer');
  if (typeof cred.id !== 'string' || !cred.id.startsWith(CERT_PREFIX)) certFail('signature', 'the credential is not a GovHub certificate');
  const id = cred.id.slice(CERT_PREFIX.length);
  const ev = cred.evidence?.[0];
  if (ev?.type !== 'GovHubRuleDecision') certFail('signature', 'the credential has no rule decision as evidence');

  // The threshold proofs, bound to the certificate id; an age as of the issue date; each claim a
  // proof names must state true.
  const claims = cred.credentialSubject?.claims ?? {};
  const proven = [];
  for (const p of ev.proofs ?? []) {
    let reason;
    try {
      let statement = p.statement;
      let ctx = utf8.encode(id);
      if (p.statement?.kind === 'ageAtLeast') {
        ({ statement, context: ctx } = ageProofStatement(p, id, cred.validFrom));
      } else if (p.on !== undefined || p.threshold !== undefined) {
        throw new TypeError('a statement about integers has no day asked or threshold day');
      }
      reason = await verifyRangeProof(p.commitment, statement, ctx, fromBase64(p.proof), wasmBase);
    } catch (e) {
      reason = e.message;
    }
    if (reason !== '') certFail('proofs', `the proof that ${p.field} satisfies ${p.predicate} does not verify: ${reason}`);
    if (p.claim !== undefined && claims[p.claim] !== true) certFail('proofs', `the proof of claim ${p.claim} stands beside a claim that does not state true`);
    proven.push({ field: p.field, predicate: p.predicate, statement: p.statement, on: p.on ?? null, threshold: p.threshold ?? null, claim: p.claim ?? null });
  }

  // The issue entry, included under a checkpoint signed by the log and cosigned by the witnesses.
  let receipt;
  try {
    receipt = parseTlogProof(doc.issueReceipt ?? '');
  } catch (e) {
    certFail('ledger', `the issue receipt: ${e.message}`);
  }
  if (String(receipt.index) !== ev.issueEntry) certFail('ledger', `the receipt is for entry ${receipt.index}, the certificate names entry ${ev.issueEntry}`);
  let cp;
  try {
    cp = await verifyCheckpoint(receipt.checkpoint, await trustedLog(trust), trust.witnessKeys ?? [], trust.quorum ?? 0);
  } catch (e) {
    certFail('ledger', `the checkpoint: ${e.message}`);
  }
  const leaf = await leafHash(receipt.extra);
  if (!(await verifyInclusion(leaf, receipt.index, cp.size, receipt.proof, cp.root))) {
    certFail('ledger', `the issue entry is not in the log at ${receipt.index} under the checkpoint of size ${cp.size}`);
  }
  const e = entryLines(receipt.extra);
  if (e.get('kind') !== 'issue' || e.get('outcome') !== 'allowed') certFail('ledger', `ledger entry ${receipt.index} is not an issuance`);
  if (e.get('certificate') !== id) certFail('ledger', `ledger entry ${receipt.index} issues another certificate`);
  if (e.get('record') !== toHex(await recordDigest(cred))) certFail('ledger', `ledger entry ${receipt.index} records another content than this certificate's`);
  if (e.get('policy') !== ev.policyVersion) certFail('ledger', `ledger entry ${receipt.index} was decided under policy ${e.get('policy')}, the certificate says ${ev.policyVersion}`);

  // The status, signed by the same issuer.
  const st = doc.status;
  if (st?.issuer !== cred.issuer) certFail('status', 'the status is not signed by the certificate\'s issuer');
  let stOK = false;
  try {
    const stKey = keyFromDIDDocument(doc.didDocument, st.proof?.verificationMethod);
    if (!pinnedKey(trust, stKey)) certFail('status', 'the status is signed by a key other than the pinned issuer keys');
    stOK = await verifyDataIntegrity(st, multikeyEd25519(stKey));
  } catch (err) {
    certFail('status', err.message);
  }
  if (!stOK) certFail('status', 'the status\'s signature does not verify');
  if (st.credentialSubject?.id !== cred.id) certFail('status', 'the status is about another certificate');

  // A revoked certificate's revoke entry, when published: included under a witnessed checkpoint,
  // an allowed revocation of this certificate's issue entry at the status's time, for its reason.
  let revokeEntry = null;
  if (doc.revokeReceipt) {
    const ss = st.credentialSubject;
    if (ss.status !== 'revoked') certFail('status', 'a revoke receipt beside a status that is not revoked');
    let rr;
    try {
      rr = parseTlogProof(doc.revokeReceipt);
    } catch (err) {
      certFail('status', `the revoke receipt: ${err.message}`);
    }
    if (String(rr.index) !== ss.revokeEntry) certFail('status', `the revoke receipt is for entry ${rr.index}, the status names entry ${ss.revokeEntry}`);
    let rcp;
    try {
      rcp = await verifyCheckpoint(rr.checkpoint, await trustedLog(trust), trust.witnessKeys ?? [], trust.quorum ?? 0);
    } catch (err) {
      certFail('status', `the revoke receipt's checkpoint: ${err.message}`);
    }
    if (!(await verifyInclusion(await leafHash(rr.extra), rr.index, rcp.size, rr.proof, rcp.root))) {
      certFail('status', `the revoke entry is not in the log at ${rr.index} under the checkpoint of size ${rcp.size}`);
    }
    const re = entryLines(rr.extra);
    if (re.get('kind') !== 'revoke' || re.get('outcome') !== 'allowed') certFail('status', `ledger entry ${rr.index} is not a revocation`);
    if (re.get('certificate') !== id || re.get('about') !== ev.issueEntry) certFail('status', `ledger entry ${rr.index} revokes another certificate`);
    if (Date.parse(re.get('time')) !== Date.parse(ss.revokedAt) || re.get('reason') !== ss.reason) {
      certFail('status', `ledger entry ${rr.index} revoked at another time or for another reason than the status says`);
    }
    revokeEntry = rr.index;
  }
  const subject = cred.credentialSubject ?? {};
  return {
    id, issuer: cred.issuer, name: cred.name, type: subject.certificateType, claims: subject.claims ?? {},
    issued: cred.validFrom, ruleVersion: ev.ruleVersion, policyVersion: ev.policyVersion,
    issuingDepartment: ev.issuingDepartment, purpose: ev.purpose, proofs: proven,
    issueEntry: receipt.index, checkpoint: { origin: cp.origin, size: Number(cp.size), root: toHex(cp.root), cosigners: cp.cosigners },
    status: st.credentialSubject.status, revokedAt: st.credentialSubject.revokedAt ?? null, revokeReason: st.credentialSubject.reason ?? null,
    statusAsOf: st.validFrom, verifications: doc.verifications ?? null, revokeEntry,
  };
}
