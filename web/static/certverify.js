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
//
// The package credential (Go) is the signer; the browser test checks this module against the W3C
// specification's own test vectors, and against credentials the hub signs.

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

async function sha256(text) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
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
  hashData.set(await sha256(jcs(config)), 0);
  hashData.set(await sha256(jcs(unsecured)), 32);
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

function toBase64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export async function verifyRangeProof(commitmentHex, statement, contextBytes, proofBytes, base) {
  await loadRangeProofVerifier(base);
  return globalThis.govhubVerifyRangeProof(commitmentHex, JSON.stringify(statement), toBase64(contextBytes), toBase64(proofBytes));
}
