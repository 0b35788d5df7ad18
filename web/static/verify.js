// verify.js — GovHub's in-browser verifier of a citizen's access proof.
//
// An ES module with no dependencies: it uses only WebCrypto (crypto.subtle SHA-256 and Ed25519),
// TextEncoder/TextDecoder, atob/btoa and BigInt. It needs a browser whose WebCrypto implements
// Ed25519 (Chromium 137+, Firefox 129+, Safari 17+) and a secure context (https or loopback).
//
// # Contract
//
// verifyAccessProof(input, trust) checks, in this order, and stops at the first check that fails:
//
//	step           what is checked
//	input          the arguments are well formed (hex, base64, integers, keys)
//	leaf-hash      if input.leafHash is given: it equals SHA-256(0x00 ‖ entry)
//	subject        the entry is a govhub/entry/v1 or v2 entry and names the citizen: one of its
//	               subject lines equals C = SHA-256("govhub/subject/v1" ‖ salt ‖ citizenId), or,
//	               for a v2 list page (a "subjects" line, the root of a page subject tree),
//	               input.subjectPath takes C up to that root (membership)
//	inclusion      the RFC 6962 inclusion proof takes the leaf hash at index up to the root hash
//	               of the checkpoint (RFC 9162 §2.1.3.2)
//	signature      the checkpoint is a signed note, its origin is the log key's name, and it
//	               carries a valid Ed25519 signature by the log key (with a key history: the key
//	               of its origin, which must sign trees of its size)
//	cosignatures   at least quorum distinct trusted witnesses cosigned it (cosignature/v1), and
//	               no signature line from a trusted witness fails to verify
//	consistency    if trust.previous is given (the last checkpoint this page verified): it still
//	               verifies under the log key, has the same origin, and input.consistency proves
//	               the smaller of the two trees a prefix of the larger (RFC 9162 §2.1.4.2); the
//	               same size with a different root hash is a fork
//
// It never throws for bad input; it resolves to
//
//	{ok: true, checkpoint: {origin, size, root}, checkpointText, leafHash, cosigners: [names]}
//	{ok: false, step: '<step>', message: '<English sentence>'}
//
// The step codes are stable (a page translates them); the messages are for people and may change.
// On success the page should store checkpointText (e.g. in localStorage) and pass it as
// trust.previous next time, with a consistency proof from it, so a forked history is caught.
//
// The keys trusted (trust.logKey, trust.witnessKeys) must come from the page's own configuration,
// never from the response being checked: a checkpoint that names its own keys proves nothing.
// Later log keys are learnt only through verifyKeyHistory, from the trusted first key.
//
// # Inputs
//
//	input.entry        the entry's canonical bytes: Uint8Array, or a string holding its UTF-8 text
//	input.salt         the citizen's subject salt for this entry: Uint8Array or lowercase hex
//	input.citizenId    the citizen's id, a string (hashed as UTF-8)
//	input.index        the entry's ledger index: number, bigint or decimal string
//	input.proof        the inclusion proof, leaf's sibling first: Uint8Array[32] or base64 each
//	input.checkpoint   the cosigned checkpoint: the signed note's text, signatures included
//	input.leafHash     optional: the leaf hash the hub claims (Uint8Array or base64)
//	input.subjectPath  for a v2 entry with a "subjects" line, the citizen's place in the page
//	                   subject tree: {position: 0…127 (number or decimal string), hashes: the 7
//	                   sibling hashes, leaf's sibling first, Uint8Array[32] or base64 each};
//	                   ignored for an entry with subject lines
//	input.consistency  the consistency proof between trust.previous and input.checkpoint
//	                   (from the smaller size to the larger; empty when the sizes are equal)
//	trust.logKey       the hub log's verifier key (type 0x01), e.g.
//	                   "govhub.example/ledger+9f2ac0d1+AZ…"
//	trust.witnessKeys  the witnesses' verifier keys, type 0x04 (cosignature/v1) or 0x01 (a plain
//	                   Ed25519 note key, as `govhub keygen` prints: the same public key, used with
//	                   the cosignature/v1 key ID)
//	trust.quorum       how many distinct trusted witnesses must have cosigned (default 0)
//	trust.previous     optional: the text of the last checkpoint this page verified
//	trust.logKeys      optional: the log key history verifyKeyHistory returned for trust.logKey
//	                   (after a rotation of the log key; see "the log key's history" below)
//
// # Formats
//
// Hashes (RFC 6962, SHA-256):
//
//	leaf hash  = SHA-256(0x00 ‖ entry bytes)
//	node hash  = SHA-256(0x01 ‖ left ‖ right)
//
// The subject commitment (hub.SubjectCommitment) is 32 bytes,
//
//	SHA-256("govhub/subject/v1" ‖ salt ‖ UTF-8(citizenId))
//
// e.g. salt = the 32 bytes 0x00, 0x01, …, 0x1f and citizenId "C000042" give
//
//	01a4d56de858bb838d7a42e838e8a2045cee40f5b4ca65b3fb960cf7ab29f6a8
//
// (web/testdata/subject_vectors.json holds this and other vectors, checked in Go and in the browser).
//
// An entry (ledger.FormatEntry, govhub/entry/v1 or govhub/entry/v2; the package documentation of
// ledger specifies both) is UTF-8 text of "key value" lines, each ending in "\n", the first being
// the header; the citizen's commitment is one of its "subject" lines, 64 lowercase hex digits:
//
//	govhub/entry/v1
//	kind access
//	time 2026-11-21T06:30:05.120Z
//	actor housing/clerk
//	purpose home-purchase-eligibility
//	policy 1
//	outcome allowed
//	subject 5b0c7f7e3b1b7a3d9b2f3c0e8d2a4e6f1c3b5a7d9e0f2a4c6e8b0d2f4a6c8e0b
//	field identity.name reveal
//
// A v2 entry may name the official ("official <64 hex>") and carry other lines; none matters here.
// A v2 list page has, instead of subject lines, one line "subjects <64 hex>": the root of the
// page subject tree (ledger.SubjectTree), an RFC 6962 tree of exactly 128 leaves, the page's
// subject commitments and random fillers sorted together, so that the entry does not show how
// many citizens the page held. The citizen's commitment C at position p (0…127) is on the page
// when, starting from node = SHA-256(0x00 ‖ C) and taking the 7 hashes h of the path in order,
//
//	node = SHA-256(0x01 ‖ h ‖ node)   if the next bit of p (lowest first) is 1
//	node = SHA-256(0x01 ‖ node ‖ h)   if it is 0
//
// ends at the root. ledger/testdata/subject-tree.json holds a tree's paths, checked in Go and in
// the browser; the ledger package documentation works one through.
//
// No token in an entry holds a space or a newline, so a line beginning "subject " is always a
// subject line and one beginning "subjects " the subject tree root. Only these lines (and the
// header) are read here: every other byte is bound by the leaf hash.
//
// A checkpoint (C2SP tlog-checkpoint) is a signed note (C2SP signed-note): the text, an empty
// line, then one signature line per signer, "— <key name> <base64(key ID ‖ signature)>". The body
// is origin, tree size (decimal, no leading zeros) and the base64 root hash, each line ending in
// "\n", then optional extension lines. The log's signature is Ed25519 over the body, with key ID
// = SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4]. A witness's cosignature (C2SP
// tlog-cosignature, Ed25519) is Ed25519 over
//
//	cosignature/v1
//	time <timestamp, decimal>
//	<the checkpoint body>
//
// carried as key ID ‖ 8-byte big-endian timestamp ‖ 64-byte signature, with key ID =
// SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]. A verifier key (vkey) is
// "<name>+<key ID, 8 lowercase hex>+<base64(type ‖ 32-byte public key)>".
//
// Worked example (ledger/witness's test vector, checked by web's TestDocumentedExampleInBrowser):
// the log key example.gov/tax-log+05e7b496+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c (type
// 0x01) and the witness key witness.example.gov/w1+4c57d54d+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU
// (type 0x04) verify, with quorum 1, the cosigned checkpoint
//
//	example.gov/tax-log
//	4
//	T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=
//
//	— example.gov/tax-log Bee0lhffV6S1UOpshS+apnCxuY5Cc9GVyUPFNSmcK/SLzPR2iN2RwqPguOGh3h6YOHJ79+zprFOM2s8TDqOL+RUZ3w4=
//	— witness.example.gov/w1 TFfVTQAAAABrAbcSvtWdHd7b5IZ2Mse15j/ioaFDqlTbjRWf+mmLn3tPv/Bz8LfzmoVx8fXUEpQmNErkR6jyhnRz+S93s6UBCqrgAg==
//
// The log signature's key ID is 0x05e7b496 (base64 "Bee0lg…"); the cosignature's is 0x4c57d54d
// ("TFfVTQ…"), then the time 0x000000006b01b712 = 1795274514, then the Ed25519 signature over
// "cosignature/v1\ntime 1795274514\nexample.gov/tax-log\n4\nT2MQ…Z34=\n".
//
// Witness keys of type 0x01 (as `govhub keygen` prints today) are accepted for the same public
// key: the verifier derives the cosignature/v1 key ID (type 0x04) from them, as
// github.com/transparency-dev/formats/note.NewVerifierForCosignatureV1 does.

const enc = new TextEncoder();

/** The stable step codes of verifyAccessProof, in the order the checks run. */
export const STEPS = Object.freeze(['input', 'leaf-hash', 'subject', 'inclusion', 'signature', 'cosignatures', 'consistency']);

/** The entry headers this verifier reads. */
export const ENTRY_HEADERS = Object.freeze(['govhub/entry/v1', 'govhub/entry/v2']);

/** The page subject tree: its leaves, and the hashes of a path (ledger.SubjectTree). */
export const SUBJECT_TREE_LEAVES = 128;
export const SUBJECT_PATH_LENGTH = 7;

/** The prefix of the subject commitment. */
export const SUBJECT_PREFIX = 'govhub/subject/v1';

/** Signature types of verifier keys (signed-note, tlog-cosignature). */
export const KEY_ED25519 = 0x01;
export const KEY_COSIGNATURE_V1 = 0x04;

/** Most signature lines read from one note (signed-note: verifiers must accept at least 16). */
export const MAX_SIGNATURES = 100;

/** A check that failed: step is one of STEPS. */
export class VerifyError extends Error {
  constructor(step, message) {
    super(message);
    this.name = 'VerifyError';
    this.step = step;
  }
}

function fail(step, message) {
  throw new VerifyError(step, message);
}

// ---- bytes ----

function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Reports whether a and b hold the same bytes. */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Decodes lowercase hex; throws on anything else. */
export function fromHex(s) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) {
    throw new TypeError('not lowercase hex');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** Encodes bytes as lowercase hex. */
export function toHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Decodes canonical, padded standard base64; throws on anything else. */
export function fromBase64(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new TypeError('not canonical base64');
  }
  const bin = atob(s);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (toBase64(out) !== s) throw new TypeError('not canonical base64');
  return out;
}

/** Encodes bytes as padded standard base64. */
export function toBase64(b) {
  let bin = '';
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin);
}

function asBytes(v, what, decode) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (typeof v === 'string') {
    try {
      return decode(v);
    } catch (e) {
      fail('input', `${what} is not ${decode === fromHex ? 'lowercase hex' : 'canonical base64'}`);
    }
  }
  fail('input', `${what} is missing`);
}

function asHash(v, what) {
  const h = asBytes(v, what, fromBase64);
  if (h.length !== 32) fail('input', `${what} has ${h.length} bytes, not 32`);
  return h;
}

function asSize(v, what) {
  let n;
  try {
    if (typeof v === 'bigint') n = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
    else if (typeof v === 'string' && /^(0|[1-9][0-9]{0,19})$/.test(v)) n = BigInt(v);
  } catch (e) {
    n = undefined;
  }
  if (n === undefined || n < 0n || n >= 1n << 64n) fail('input', `${what} is not an integer from 0 to 2^64-1`);
  return n;
}

// ---- hashes ----

/** SHA-256 of bytes, as a Uint8Array. */
export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** The RFC 6962 leaf hash of an entry: SHA-256(0x00 ‖ entry). entry is bytes or its UTF-8 text. */
export async function leafHash(entry) {
  const b = typeof entry === 'string' ? enc.encode(entry) : entry;
  return sha256(concat(Uint8Array.of(0), b));
}

/** The RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** The salted subject commitment, SHA-256("govhub/subject/v1" ‖ salt ‖ UTF-8(citizenId)). */
export async function subjectCommitment(salt, citizenId) {
  const s = asBytes(salt, 'the salt', fromHex);
  if (typeof citizenId !== 'string') throw new TypeError('citizenId must be a string');
  return sha256(concat(enc.encode(SUBJECT_PREFIX), s, enc.encode(citizenId)));
}

// ---- entries ----

/**
 * Reads what the verifier needs of an entry: {version (1 or 2), subjects: the commitments of its
 * subject lines (32-byte Uint8Arrays, in order), root: the subject tree root of its "subjects"
 * line (v2 list pages) or null}. It throws a VerifyError at step 'subject' if the bytes are not a
 * govhub/entry/v1 or v2 entry as far as it reads them: a known header line, newline-terminated
 * lines, 64 lowercase hex digits in those lines, at most one "subjects" line, only in v2, and
 * never with subject lines.
 */
export function parseEntrySubjects(entry) {
  let text;
  try {
    text = typeof entry === 'string' ? entry : new TextDecoder('utf-8', { fatal: true }).decode(entry);
  } catch (e) {
    fail('subject', 'the entry is not UTF-8 text');
  }
  if (!text.endsWith('\n')) fail('subject', 'the entry does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  const version = ENTRY_HEADERS.indexOf(lines[0]) + 1;
  if (version === 0) {
    fail('subject', `the entry does not start with a known header (${ENTRY_HEADERS.join(', ')})`);
  }
  const subjects = [];
  let root = null;
  for (const line of lines.slice(1)) {
    if (line.startsWith('subject ')) {
      const v = line.slice('subject '.length);
      if (!/^[0-9a-f]{64}$/.test(v)) fail('subject', 'a subject line of the entry is not 64 lowercase hex digits');
      subjects.push(fromHex(v));
    } else if (line.startsWith('subjects ')) {
      const v = line.slice('subjects '.length);
      if (version < 2) fail('subject', 'a govhub/entry/v1 entry has a subjects line');
      if (root !== null) fail('subject', 'the entry has two subjects lines');
      if (!/^[0-9a-f]{64}$/.test(v)) fail('subject', 'the subjects line of the entry is not 64 lowercase hex digits');
      root = fromHex(v);
    }
  }
  if (root !== null && subjects.length > 0) fail('subject', 'the entry has both subject lines and a subjects line');
  return { version, subjects, root };
}

/**
 * The subject commitments (32-byte Uint8Arrays) of an entry's subject lines, in order; see
 * parseEntrySubjects, which also returns a v2 list page's subject tree root.
 */
export function entrySubjects(entry) {
  return parseEntrySubjects(entry).subjects;
}

/**
 * Reports whether hashes (the 7 sibling hashes, leaf's sibling first) take the subject
 * commitment at position (0…127) of a page subject tree up to root.
 */
export async function verifySubjectPath(commitment, position, hashes, root) {
  if (!Number.isSafeInteger(position) || position < 0 || position >= SUBJECT_TREE_LEAVES) return false;
  if (commitment.length !== 32 || hashes.length !== SUBJECT_PATH_LENGTH) return false;
  let node = await leafHash(commitment);
  for (let i = 0; i < SUBJECT_PATH_LENGTH; i++) {
    node = (position >> i) & 1 ? await nodeHash(hashes[i], node) : await nodeHash(node, hashes[i]);
  }
  return bytesEqual(node, root);
}

/**
 * Reports whether one of the entry's subject lines is the commitment to citizenId under salt
 * (a v2 list page needs verifySubjectPath instead).
 */
export async function entryHasSubject(entry, salt, citizenId) {
  const want = await subjectCommitment(salt, citizenId);
  return entrySubjects(entry).some((s) => bytesEqual(s, want));
}

// ---- Merkle proofs (RFC 9162 §2.1.3.2, §2.1.4.2) ----

/**
 * Reports whether proof (32-byte hashes, leaf's sibling first) proves that leaf is entry index of
 * the tree of treeSize entries whose root hash is root. index and treeSize: number, bigint or
 * decimal string.
 */
export async function verifyInclusion(leaf, index, treeSize, proof, root) {
  let fn = asSize(index, 'the index');
  let sn = asSize(treeSize, 'the tree size');
  if (fn >= sn) return false;
  sn -= 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(r, root);
}

/**
 * Reports whether proof proves that the tree of oldSize entries with root hash oldRoot is a prefix
 * of the tree of newSize entries with root hash newRoot. Equal sizes need equal roots and an empty
 * proof; the empty tree (oldSize 0) needs an empty proof.
 */
export async function verifyConsistency(oldSize, newSize, proof, oldRoot, newRoot) {
  const first = asSize(oldSize, 'the old size');
  const second = asSize(newSize, 'the new size');
  if (first > second) return false;
  if (first === second) return proof.length === 0 && bytesEqual(oldRoot, newRoot);
  if (first === 0n) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = proof;
  if ((first & (first - 1n)) === 0n) path = [oldRoot, ...proof]; // first is a power of 2
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
}

// ---- signed notes and keys ----

function validKeyName(name) {
  // signed-note: non-empty, no Unicode spaces, no plus signs.
  return name.length > 0 && !/[\s+]/u.test(name);
}

/** The 4-byte key ID SHA-256(name ‖ "\n" ‖ type ‖ publicKey)[:4], as an unsigned 32-bit number. */
export async function keyId(name, type, publicKey) {
  const h = await sha256(concat(enc.encode(name + '\n'), Uint8Array.of(type), publicKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/**
 * Parses a signed-note verifier key "<name>+<8 hex>+<base64(type ‖ public key)>" of type 0x01
 * (Ed25519) or 0x04 (Ed25519 cosignature/v1), checking that its key ID is the one the name, type
 * and public key give. It returns {name, type, publicKey, keyId, noteKeyId, cosignatureKeyId}:
 * noteKeyId is the key ID of plain Ed25519 note signatures (type 0x01) and cosignatureKeyId that
 * of cosignature/v1 signatures (type 0x04) by the same public key. It throws a TypeError if the
 * key is malformed.
 */
export async function parseVerifierKey(vkey) {
  if (typeof vkey !== 'string') throw new TypeError('a verifier key is a string');
  // The base64 key may hold "+" signs: the name and the hash end at the first two.
  const i = vkey.indexOf('+');
  const j = vkey.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw new TypeError('a verifier key is name+hash+key');
  const [name, hash, key64] = [vkey.slice(0, i), vkey.slice(i + 1, j), vkey.slice(j + 1)];
  if (!validKeyName(name)) throw new TypeError(`invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new TypeError(`key ${name}: the key ID is not 8 lowercase hex digits`);
  let key;
  try {
    key = fromBase64(key64);
  } catch (e) {
    throw new TypeError(`key ${name}: the key is not canonical base64`);
  }
  const type = key[0];
  const publicKey = key.slice(1);
  if (type !== KEY_ED25519 && type !== KEY_COSIGNATURE_V1) {
    throw new TypeError(`key ${name}: unsupported key type 0x${toHex([type ?? 0])}`);
  }
  if (publicKey.length !== 32) throw new TypeError(`key ${name}: an Ed25519 public key has 32 bytes`);
  const id = parseInt(hash, 16) >>> 0;
  if (id !== (await keyId(name, type, publicKey))) {
    throw new TypeError(`key ${name}: the key ID ${hash} does not match the key`);
  }
  return {
    name,
    type,
    publicKey,
    keyId: id,
    noteKeyId: await keyId(name, KEY_ED25519, publicKey),
    cosignatureKeyId: await keyId(name, KEY_COSIGNATURE_V1, publicKey),
  };
}

/**
 * Parses a signed note (C2SP signed-note) without verifying it: {text, signatures}, text being the
 * body (ending in "\n") and each signature {name, keyId, signature} (the bytes after the key ID).
 * It throws a TypeError if the note is malformed.
 */
export function parseNote(note) {
  if (typeof note !== 'string') throw new TypeError('a note is a string');
  // Valid UTF-8 (a JS string from text is), no control characters but newline.
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(note)) throw new TypeError('the note holds a control character');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new TypeError('the note has no signatures');
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) throw new TypeError('the note has no signatures');
  const signatures = [];
  for (const line of sigs.slice(0, -1).split('\n')) {
    if (!line.startsWith('\u2014 ')) throw new TypeError('a signature line does not start with an em dash and a space');
    const rest = line.slice(2);
    const sp = rest.lastIndexOf(' ');
    const name = rest.slice(0, sp);
    if (sp < 0 || !validKeyName(name)) throw new TypeError('a signature line has an invalid key name');
    let b;
    try {
      b = fromBase64(rest.slice(sp + 1));
    } catch (e) {
      throw new TypeError(`the signature of ${name} is not canonical base64`);
    }
    if (b.length < 5) throw new TypeError(`the signature of ${name} is too short`);
    const id = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    signatures.push({ name, keyId: id, signature: b.slice(4) });
    if (signatures.length > MAX_SIGNATURES) throw new TypeError(`the note has more than ${MAX_SIGNATURES} signatures`);
  }
  return { text, signatures };
}

/**
 * Parses a checkpoint body (C2SP tlog-checkpoint): {origin, size (bigint), root (32 bytes),
 * extensions (lines)}. It throws a TypeError if the body is malformed or not canonical.
 */
export function parseCheckpoint(body) {
  if (typeof body !== 'string' || !body.endsWith('\n')) throw new TypeError('a checkpoint body ends in a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new TypeError('a checkpoint has an origin, a size and a root hash line');
  const [origin, size, root64, ...extensions] = lines;
  if (origin === '') throw new TypeError('the checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(size) || BigInt(size) >= 1n << 64n) {
    throw new TypeError('the checkpoint size is not a canonical decimal number');
  }
  let root;
  try {
    root = fromBase64(root64);
  } catch (e) {
    throw new TypeError('the checkpoint root hash is not canonical base64');
  }
  if (root.length !== 32) throw new TypeError('the checkpoint root hash does not have 32 bytes');
  if (extensions.some((l) => l === '')) throw new TypeError('the checkpoint has an empty extension line');
  return { origin, size: BigInt(size), root, extensions };
}

async function ed25519Verify(publicKey, signature, message) {
  if (signature.length !== 64) return false;
  const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
}

function cosignedMessage(timestamp, body) {
  return concat(enc.encode(`cosignature/v1\ntime ${timestamp}\n`), enc.encode(body));
}

async function parseLogKey(logKey, what = 'the log key') {
  let log;
  try {
    log = await parseVerifierKey(logKey);
  } catch (e) {
    fail('input', `${what}: ${e.message}`);
  }
  if (log.type !== KEY_ED25519) fail('input', `${what} is not an Ed25519 note key (type 0x01)`);
  return log;
}

// parseKeys reads the trusted keys: the log's, as a list of eras [{log, start}] (one era for a
// single key, or the eras of a history verifyKeyHistory returned), and the witnesses'.
async function parseKeys(logKey, witnessKeys) {
  let eras;
  if (logKey !== null && typeof logKey === 'object') {
    eras = historyEras.get(logKey);
    if (!eras) fail('input', 'the log key history was not verified by verifyKeyHistory');
  } else {
    eras = [{ log: await parseLogKey(logKey), start: 0n }];
  }
  const witnesses = [];
  for (const k of witnessKeys ?? []) {
    try {
      witnesses.push(await parseVerifierKey(k));
    } catch (e) {
      fail('input', `a witness key: ${e.message}`);
    }
  }
  return { eras, witnesses };
}

// checkSignature verifies the log's signature on a parsed note, by the key of the era whose origin
// the checkpoint names, checks that this key signs trees of its size, and returns the parsed
// checkpoint. eras is parseKeys's list (one era for a single key).
async function checkSignature(note, eras, step, what) {
  let cp;
  try {
    cp = parseCheckpoint(note.text);
  } catch (e) {
    fail(step, `${what} is not a checkpoint: ${e.message}`);
  }
  const i = eras.findIndex((e) => e.log.name === cp.origin);
  if (i < 0) fail(step, `${what} is for the log ${JSON.stringify(cp.origin)}, not ${eras.map((e) => JSON.stringify(e.log.name)).join(' or ')}`);
  const log = eras[i].log;
  const mine = note.signatures.filter((s) => s.name === log.name && s.keyId === log.keyId);
  if (mine.length === 0) fail(step, `${what} is not signed by the log key ${log.name}`);
  for (const s of mine) {
    if (!(await ed25519Verify(log.publicKey, s.signature, enc.encode(note.text)))) {
      fail(step, `the log's signature on ${what} does not verify`);
    }
  }
  if (eraOfSize(eras, cp.size) !== i) {
    fail(step, `${what} is of size ${cp.size} under ${log.name}, whose key signs trees of sizes ${eraSizes(eras, i)} only`);
  }
  return cp;
}

// checkCosignatures returns the names of the distinct trusted witnesses that cosigned the note.
async function checkCosignatures(note, witnesses, quorum) {
  const cosigners = new Set();
  for (const w of witnesses) {
    for (const s of note.signatures) {
      if (s.name !== w.name || s.keyId !== w.cosignatureKeyId) continue;
      if (s.signature.length !== 8 + 64) fail('cosignatures', `the cosignature of ${w.name} is not a timestamp and an Ed25519 signature`);
      const t = new DataView(s.signature.buffer, s.signature.byteOffset, 8).getBigUint64(0);
      if (t >= 1n << 63n) fail('cosignatures', `the cosignature of ${w.name} has an invalid timestamp`);
      if (!(await ed25519Verify(w.publicKey, s.signature.slice(8), cosignedMessage(t, note.text)))) {
        fail('cosignatures', `the cosignature of ${w.name} does not verify`);
      }
      cosigners.add(w.name + '+' + w.cosignatureKeyId);
    }
  }
  if (cosigners.size < quorum) {
    fail('cosignatures', `the checkpoint needs cosignatures from ${quorum} of the trusted witnesses and has ${cosigners.size}`);
  }
  return [...cosigners].map((k) => k.slice(0, k.lastIndexOf('+')));
}

/**
 * Verifies a checkpoint note: the log's signature and at least quorum distinct witness
 * cosignatures. logKey is the log's verifier key, or a key history verifyKeyHistory returned: then
 * the checkpoint is verified under the key of its origin, and only if that key signs trees of its
 * size. It resolves to {origin, size, root, cosigners} and rejects with a VerifyError (step
 * 'input', 'signature' or 'cosignatures').
 */
export async function verifyCheckpoint(noteText, logKey, witnessKeys = [], quorum = 0) {
  const { eras, witnesses } = await parseKeys(logKey, witnessKeys);
  let note;
  try {
    note = parseNote(noteText);
  } catch (e) {
    fail('signature', `the checkpoint is not a signed note: ${e.message}`);
  }
  const cp = await checkSignature(note, eras, 'signature', 'the checkpoint');
  const cosigners = await checkCosignatures(note, witnesses, quorum);
  return { origin: cp.origin, size: cp.size, root: cp.root, cosigners };
}

// ---- the log key's history (ledger/keys.go) ----
//
// The log key rotates the way Rekor v2 starts a new shard, but the tree goes on: the old key's
// origin ends at a final checkpoint of size S, signed by the old key and cosigned by the
// witnesses; the entry at S-1 is the rotation entry (kind rotation, reason log, record
// SHA-256("govhub/rotation/log/v1\n" ‖ the new verifier key)); the new key, under a new origin,
// signs the receipts of entries S and up and the checkpoints of trees larger than S. The hub
// publishes the history at GET /log-keys, JSON, one object per era, oldest first:
//
//	{"eras":[
//	  {"key":"govhub.example/ledger+1a2b3c4d+AZ…"},
//	  {"key":"govhub.example/ledger/2+5e6f7a8b+AZ…","start":1042,
//	   "final":"<the old origin's final checkpoint, a signed note with its cosignatures>",
//	   "rotation":"<base64 of the rotation entry's bytes>","proof":["<base64 hash>",…]}]}
//
// verifyKeyHistory(doc, trust) does what the Go reference ledger.ParseKeys does: the first key
// must be trust.logKey (start 0, no evidence); each later key is accepted only if the previous
// key signed its final checkpoint, of size start, cosigned by at least trust.quorum of
// trust.witnessKeys; the proof includes the rotation entry at start-1 in it; and that entry is a
// log-key rotation whose record is the digest of the new key. Starts increase and no origin is
// used twice. doc is the document's text, its bytes or the parsed object. It resolves to a
// frozen history
//
//	{eras: [{key, origin, start, next}, …]}
//
// (start and next bigints: era i signs the receipts of entries start ≤ index < next, and the
// checkpoints of sizes start < size ≤ next, size 0 too for the first era; next is null for the
// newest era), and rejects with a VerifyError at step 'keys'. Pass the history where a log key
// goes (verifyCheckpoint's logKey, verifyReceipt's, trust.logKeys of verifyAccessProof): only an
// object this module verified is taken.
//
// web/testdata/log_keys.json holds the history of a real log rotated once (made by ledger.Log's
// RotateKey on the embedded store, witnessed by two ledger/witness servers), with receipts,
// checkpoints and access proofs of both eras and signatures the history must refuse; the Go
// reference and this module are both checked against it.

/** The step of a key history that does not verify. */
export const KEY_HISTORY_STEP = 'keys';

/** The domain of a log-key rotation entry's record (ledger.LogKeyDigest). */
export const LOG_KEY_DIGEST_PREFIX = 'govhub/rotation/log/v1\n';

/** Where a hub publishes its log key history, on the pages' origin. */
export const LOG_KEYS_PATH = '/log-keys';

// historyEras maps each history verifyKeyHistory returned to its eras [{log, start}].
const historyEras = new WeakMap();

/** SHA-256("govhub/rotation/log/v1\n" ‖ vkey): the record of the rotation entry to vkey. */
export async function logKeyDigest(vkey) {
  return sha256(enc.encode(LOG_KEY_DIGEST_PREFIX + vkey));
}

// eraOfIndex is the era whose key signs the receipt of the entry at index.
function eraOfIndex(eras, index) {
  let i = eras.length - 1;
  while (i > 0 && eras[i].start > index) i--;
  return i;
}

// eraOfSize is the era whose key signs the checkpoint of a tree of size n.
function eraOfSize(eras, n) {
  let i = eras.length - 1;
  while (i > 0 && eras[i].start >= n) i--;
  return i;
}

function eraSizes(eras, i) {
  const lo = i === 0 ? '0' : String(eras[i].start + 1n);
  return i === eras.length - 1 ? `${lo} and up` : `${lo} to ${eras[i + 1].start}`;
}

function keysFail(message) {
  fail(KEY_HISTORY_STEP, `the log key history: ${message}`);
}

// rotationRecord reads a rotation entry as ledger.ParseEntry does up to its record line (the
// lines in their order, each once): {kind, reason, record (hex or '')}; it throws on anything
// else.
function rotationRecord(bytes) {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (!text.endsWith('\n')) throw new TypeError('the entry does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  const version = ENTRY_HEADERS.indexOf(lines[0]) + 1;
  if (version === 0) throw new TypeError('the entry does not start with a known header');
  let i = 1;
  const value = (key) => {
    const l = lines[i];
    if (l === undefined || !l.startsWith(key + ' ')) return null;
    i++;
    return l.slice(key.length + 1);
  };
  const want = (key) => {
    const v = value(key);
    if (v === null) throw new TypeError(`the entry has no ${key} line where one belongs`);
    return v;
  };
  const out = { kind: want('kind') };
  value('time');
  want('actor');
  if (version >= 2) value('official');
  value('purpose');
  want('policy');
  value('request');
  if (version >= 2) value('request-id');
  want('outcome');
  out.reason = value('reason') ?? '';
  if (value('dataset') !== null) want('base');
  out.record = value('record') ?? '';
  if (out.record !== '' && !/^[0-9a-f]{64}$/.test(out.record)) throw new TypeError('the record line is not 64 lowercase hex digits');
  for (const l of lines.slice(i)) {
    if (/^(kind|actor|policy|outcome|reason|record) /.test(l)) throw new TypeError(`the entry has a second ${l.split(' ')[0]} line`);
  }
  return out;
}

const ERA_FIELDS = ['key', 'start', 'final', 'rotation', 'proof'];

// readEra checks the JSON shape of era i of a history document.
function readEra(ed, i) {
  const what = `key ${i + 1}`;
  if (ed === null || typeof ed !== 'object' || Array.isArray(ed)) keysFail(`${what} is not an object`);
  for (const f of Object.keys(ed)) if (!ERA_FIELDS.includes(f)) keysFail(`${what} has an unknown field ${JSON.stringify(f)}`);
  if (typeof ed.key !== 'string') keysFail(`${what} has no key`);
  const start = ed.start ?? 0;
  if (!Number.isSafeInteger(start) || start < 0) keysFail(`${what} starts at ${JSON.stringify(ed.start)}, not at an entry index`);
  if ((ed.final ?? '') !== '' && typeof ed.final !== 'string') keysFail(`${what}: the final checkpoint is not text`);
  let rotation = null;
  if (ed.rotation != null) {
    try {
      rotation = fromBase64(ed.rotation);
    } catch (e) {
      keysFail(`${what}: the rotation entry is not base64`);
    }
  }
  let proof = null;
  if (ed.proof != null) {
    if (!Array.isArray(ed.proof)) keysFail(`${what}: the proof is not a list`);
    proof = ed.proof.map((h, j) => {
      let b;
      try {
        b = fromBase64(h);
      } catch (e) {
        keysFail(`${what}: proof hash ${j + 1} is not base64`);
      }
      if (b.length !== 32) keysFail(`${what}: a proof hash of ${b.length} bytes`);
      return b;
    });
  }
  return { key: ed.key, start: BigInt(start), final: ed.final ?? '', rotation, proof };
}

// checkHandover verifies that the era prev (its parsed key, prev.log) handed over to next.
async function checkHandover(prev, next, log, witnesses, quorum) {
  const what = `key ${next.n} (${log.name})`;
  if (next.start <= prev.start) keysFail(`${what} starts at ${next.start}, not after the previous key (${prev.start})`);
  let note;
  try {
    note = parseNote(next.final);
  } catch (e) {
    keysFail(`${what}: the final checkpoint of ${prev.log.name} is not a signed note: ${e.message}`);
  }
  let cp;
  try {
    cp = await checkSignature(note, [prev], KEY_HISTORY_STEP, `the final checkpoint of ${prev.log.name}`);
  } catch (e) {
    keysFail(`${what}: ${e.message}`);
  }
  if (cp.size !== next.start) keysFail(`${what}: the final checkpoint of ${prev.log.name} is of size ${cp.size}, not ${next.start}`);
  if (quorum > 0) {
    try {
      await checkCosignatures(note, witnesses, quorum);
    } catch (e) {
      keysFail(`${what}: the final checkpoint of ${prev.log.name}: ${e.message}`);
    }
  }
  if (next.rotation === null) keysFail(`${what}: no rotation entry`);
  if (!(await verifyInclusion(await leafHash(next.rotation), next.start - 1n, cp.size, next.proof ?? [], cp.root))) {
    keysFail(`${what}: the proof does not include the rotation entry at ${next.start - 1n} in the final checkpoint`);
  }
  let e;
  try {
    e = rotationRecord(next.rotation);
  } catch (err) {
    keysFail(`${what}: the rotation entry: ${err.message}`);
  }
  if (e.kind !== 'rotation' || e.reason !== 'log' || e.record !== toHex(await logKeyDigest(next.key))) {
    keysFail(`${what}: the entry at ${next.start - 1n} is not the rotation of the log key to this key`);
  }
}

/**
 * Verifies a published log key history from the trusted first key (see above): resolves to
 * {eras: [{key, origin, start, next}]}, rejects with a VerifyError (step 'keys', or 'input' for
 * malformed trusted keys).
 */
export async function verifyKeyHistory(doc, trust) {
  trust = trust ?? {};
  const quorum = trust.quorum ?? 0;
  if (!Number.isSafeInteger(quorum) || quorum < 0) fail('input', 'the quorum is not a non-negative integer');
  const trusted = await parseLogKey(trust.logKey);
  const { witnesses } = await parseKeys(trust.logKey, trust.witnessKeys);
  if (quorum > witnesses.length) fail('input', `the quorum is ${quorum} but only ${witnesses.length} witness keys are trusted`);
  let d = doc;
  try {
    if (d instanceof Uint8Array || d instanceof ArrayBuffer) d = new TextDecoder('utf-8', { fatal: true }).decode(d);
    if (typeof d === 'string') d = JSON.parse(d);
  } catch (e) {
    keysFail(`not JSON: ${e.message}`);
  }
  if (d === null || typeof d !== 'object' || Array.isArray(d)) keysFail('not a JSON object');
  for (const f of Object.keys(d)) if (f !== 'eras') keysFail(`an unknown field ${JSON.stringify(f)}`);
  if (!Array.isArray(d.eras) || d.eras.length === 0) keysFail('no key');
  const eras = [];
  for (let i = 0; i < d.eras.length; i++) {
    const ed = readEra(d.eras[i], i);
    let log;
    try {
      log = await parseLogKey(ed.key, `key ${i + 1}`);
    } catch (e) {
      keysFail(e.message);
    }
    const era = { n: i + 1, key: ed.key, log, start: ed.start, final: ed.final, rotation: ed.rotation, proof: ed.proof };
    if (i === 0) {
      if (log.name !== trusted.name || log.keyId !== trusted.keyId || !bytesEqual(log.publicKey, trusted.publicKey) ||
          ed.start !== 0n || ed.final !== '' || ed.rotation !== null || ed.proof !== null) {
        keysFail(`the first key is not the trusted ${trusted.name}`);
      }
    } else {
      await checkHandover(eras[i - 1], era, log, witnesses, quorum);
    }
    if (eras.some((e) => e.log.name === log.name)) keysFail(`key ${i + 1} reuses the origin ${JSON.stringify(log.name)}`);
    eras.push(era);
  }
  const history = Object.freeze({
    eras: Object.freeze(eras.map((e, i) => Object.freeze({
      key: e.key, origin: e.log.name, start: e.start, next: i + 1 < eras.length ? eras[i + 1].start : null,
    }))),
  });
  historyEras.set(history, eras.map((e) => ({ log: e.log, start: e.start })));
  return history;
}

/**
 * Fetches the hub's log key history (GET url, by default /log-keys on the page's origin) and
 * verifies it with verifyKeyHistory from the keys the page trusts. A hub that publishes none (404)
 * or one era that does not name its key (a log that never rotated) gives the history of
 * trust.logKey alone: nothing but the trusted key is then accepted. It rejects with a VerifyError
 * at step 'keys' when the history cannot be fetched or does not verify.
 */
export async function fetchKeyHistory(trust, url = LOG_KEYS_PATH) {
  trust = trust ?? {};
  let doc;
  try {
    const resp = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (resp.status === 404) {
      doc = null;
    } else if (!resp.ok) {
      throw new Error(`HTTP ${resp.status}`);
    } else {
      doc = await resp.text();
    }
  } catch (e) {
    keysFail(`it could not be fetched: ${e.message}`);
  }
  if (doc !== null) {
    let d = null;
    try {
      d = JSON.parse(doc);
    } catch { /* verifyKeyHistory says so */ }
    const unnamed = d && Array.isArray(d.eras) && d.eras.length === 1 && d.eras[0] && d.eras[0].key === '' &&
      Object.keys(d.eras[0]).length === 1 && Object.keys(d).length === 1;
    if (!unnamed) return verifyKeyHistory(doc, trust);
  }
  return verifyKeyHistory({ eras: [{ key: trust.logKey }] }, trust);
}

/**
 * What trust says the log key is, to pass where a log key goes: trust.logKeys (a history
 * verifyKeyHistory returned), which must start with trust.logKey when both are given, or
 * trust.logKey. It rejects with a VerifyError at step 'input' otherwise.
 */
export async function trustedLog(trust) {
  if (trust.logKeys == null) return trust.logKey;
  const eras = historyEras.get(trust.logKeys);
  if (!eras) fail('input', 'the log key history was not verified by verifyKeyHistory');
  if (trust.logKey != null) {
    const log = await parseLogKey(trust.logKey);
    if (eras[0].log.name !== log.name || eras[0].log.keyId !== log.keyId || !bytesEqual(eras[0].log.publicKey, log.publicKey)) {
      fail('input', 'the log key history does not start with the trusted log key');
    }
  }
  return trust.logKeys;
}

// ---- receipts (ledger.Receipt) ----
//
// A receipt is the log's signed promise that an entry was sequenced at an index, as a response's
// extensions.ledger carries it: {index, leafHash (base64), signature (base64)}. The signature is
// laid out as a note signature (the 4-byte key ID, then 64 bytes of Ed25519) over
//
//	govhub/receipt/v1
//	<origin>
//	<index, decimal>
//	<base64 leaf hash>
//
// each line ending in "\n", by the key that signs the receipts of that index: with a key history,
// the key of the era the index falls in (a receipt of an entry before a rotation stays valid under
// the old key; the old key's receipt of a later entry is refused).

/** The first line of the text a receipt signs. */
export const RECEIPT_HEADER = 'govhub/receipt/v1';

/**
 * Verifies a receipt {index, leafHash, signature} under logKey (a verifier key or a key history
 * verifyKeyHistory returned). It resolves to {index (bigint), origin} and rejects with a
 * VerifyError (step 'input' or 'signature').
 */
export async function verifyReceipt(receipt, logKey) {
  if (receipt == null || typeof receipt !== 'object') fail('input', 'no receipt to check');
  const { eras } = await parseKeys(logKey, []);
  const index = asSize(receipt.index, 'the receipt index');
  const leaf = asHash(receipt.leafHash, 'the receipt leaf hash');
  const sig = asBytes(receipt.signature, 'the receipt signature', fromBase64);
  const log = eras[eraOfIndex(eras, index)].log;
  const id = sig.length >= 4 ? ((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0 : -1;
  if (id !== log.keyId) fail('signature', `the receipt of entry ${index} is not signed by ${log.name}, the key that signs entry ${index}`);
  const text = `${RECEIPT_HEADER}\n${log.name}\n${index}\n${toBase64(leaf)}\n`;
  if (!(await ed25519Verify(log.publicKey, sig.slice(4), enc.encode(text)))) {
    fail('signature', `the log's signature on the receipt of entry ${index} does not verify`);
  }
  return { index, origin: log.name };
}

// ---- the whole check ----

async function check(input, trust) {
  if (input == null || typeof input !== 'object') fail('input', 'no proof to check');
  trust = trust ?? {};
  const quorum = trust.quorum ?? 0;
  if (!Number.isSafeInteger(quorum) || quorum < 0) fail('input', 'the quorum is not a non-negative integer');
  const { eras, witnesses } = await parseKeys(await trustedLog(trust), trust.witnessKeys);
  if (quorum > witnesses.length) fail('input', `the quorum is ${quorum} but only ${witnesses.length} witness keys are trusted`);
  let entry = input.entry;
  if (typeof entry === 'string') entry = enc.encode(entry);
  else entry = asBytes(entry, 'the entry', fromBase64);
  const salt = asBytes(input.salt, 'the salt', fromHex);
  if (typeof input.citizenId !== 'string' || input.citizenId === '') fail('input', 'the citizen id is missing');
  const index = asSize(input.index, 'the index');
  if (!Array.isArray(input.proof)) fail('input', 'the inclusion proof is not a list');
  const proof = input.proof.map((h, i) => asHash(h, `inclusion proof hash ${i + 1}`));
  if (typeof input.checkpoint !== 'string') fail('input', 'the checkpoint is missing');
  const consistency = (input.consistency ?? []).map((h, i) => asHash(h, `consistency proof hash ${i + 1}`));
  const claimed = input.leafHash == null ? null : asHash(input.leafHash, 'the leaf hash');
  let subjectPath = null;
  if (input.subjectPath != null) {
    const sp = input.subjectPath;
    if (typeof sp !== 'object' || !Array.isArray(sp.hashes)) fail('input', 'the subject path is not {position, hashes}');
    let position;
    if (typeof sp.position === 'number' && Number.isSafeInteger(sp.position) && sp.position >= 0) position = sp.position;
    else if (typeof sp.position === 'string' && /^(0|[1-9][0-9]{0,5})$/.test(sp.position)) position = Number(sp.position);
    else fail('input', 'the subject path position is not a non-negative integer');
    subjectPath = { position, hashes: sp.hashes.map((h, i) => asHash(h, `subject path hash ${i + 1}`)) };
  }

  // leaf-hash
  const leaf = await leafHash(entry);
  if (claimed && !bytesEqual(claimed, leaf)) fail('leaf-hash', 'the entry bytes do not hash to the leaf hash given with them');

  // subject
  const want = await subjectCommitment(salt, input.citizenId);
  const named = parseEntrySubjects(entry);
  if (named.root !== null) {
    if (subjectPath === null) {
      fail('subject', 'the entry is a list page (a subjects line) and no subject path came with it: your membership cannot be checked');
    }
    if (subjectPath.position >= SUBJECT_TREE_LEAVES || subjectPath.hashes.length !== SUBJECT_PATH_LENGTH) {
      fail('subject', `membership failed: a subject path has a position from 0 to ${SUBJECT_TREE_LEAVES - 1} and ${SUBJECT_PATH_LENGTH} hashes, this one position ${subjectPath.position} and ${subjectPath.hashes.length} hashes`);
    }
    if (!(await verifySubjectPath(want, subjectPath.position, subjectPath.hashes, named.root))) {
      fail('subject', 'membership failed: the subject path does not take SHA-256("govhub/subject/v1" ‖ salt ‖ your id) to the root of the page\'s subject tree (the subjects line)');
    }
  } else if (!named.subjects.some((s) => bytesEqual(s, want))) {
    fail('subject', 'the entry does not name you: none of its subject commitments is SHA-256("govhub/subject/v1" ‖ salt ‖ your id)');
  }

  // inclusion (against the root the checkpoint states; its signature is checked next)
  let note;
  try {
    note = parseNote(input.checkpoint);
  } catch (e) {
    fail('signature', `the checkpoint is not a signed note: ${e.message}`);
  }
  let cp;
  try {
    cp = parseCheckpoint(note.text);
  } catch (e) {
    fail('signature', `the checkpoint is not a checkpoint: ${e.message}`);
  }
  if (!(await verifyInclusion(leaf, index, cp.size, proof, cp.root))) {
    fail('inclusion', `the inclusion proof does not take entry ${index} to the root of the tree of ${cp.size} entries`);
  }

  // signature, cosignatures
  await checkSignature(note, eras, 'signature', 'the checkpoint');
  const cosigners = await checkCosignatures(note, witnesses, quorum);

  // consistency with the last checkpoint this page verified
  if (trust.previous != null) {
    let prevNote;
    try {
      prevNote = parseNote(trust.previous);
    } catch (e) {
      fail('consistency', `the checkpoint verified before is not a signed note: ${e.message}`);
    }
    const prev = await checkSignature(prevNote, eras, 'consistency', 'the checkpoint verified before');
    const [a, b] = prev.size <= cp.size ? [prev, cp] : [cp, prev];
    if (!(await verifyConsistency(a.size, b.size, consistency, a.root, b.root))) {
      fail(
        'consistency',
        a.size === b.size
          ? `the log shows two different trees of ${a.size} entries: this one and the one verified before (a forked history)`
          : `the tree of ${a.size} entries is not a prefix of the tree of ${b.size} entries (a forked history, or a wrong consistency proof)`,
      );
    }
  }

  return {
    ok: true,
    checkpoint: { origin: cp.origin, size: cp.size.toString(), root: toBase64(cp.root) },
    checkpointText: input.checkpoint,
    leafHash: toBase64(leaf),
    cosigners,
  };
}

/**
 * Checks a citizen's access proof (see the contract at the top of this file). It resolves to
 * {ok: true, …} or {ok: false, step, message}; it does not reject.
 */
export async function verifyAccessProof(input, trust) {
  try {
    return await check(input, trust);
  } catch (e) {
    if (e instanceof VerifyError) return { ok: false, step: e.step, message: e.message };
    return { ok: false, step: 'input', message: `the proof could not be checked: ${e && e.message}` };
  }
}

// ---- sealed accesses (hub/sealed.go) ----
//
// A sealed access entry (a v2 entry with a line "sealed <64 hex> <YYYY-MM-DD>") hides who read
// what until its unseal date. Once unsealed, the hub discloses the details (govhub/sealed/v1 text)
// and their 32-byte salt; they must hash to the entry's sealed line:
//
//	SHA-256("govhub/sealed/v1" ‖ salt ‖ UTF-8(details)) = the sealed line's digest
//
// and the details must name the same unseal date. verifySealedDisclosure(entry, salt, details)
// resolves to {ok: true, details: {key: [values…]}} or {ok: false, step: 'sealed', message}; it
// does not reject. Check the entry itself with verifyAccessProof first: this only ties the
// disclosure to an entry already verified.

/** The first line of the sealed details, and the digest's domain. */
export const SEALED_PREFIX = 'govhub/sealed/v1';

/** The sealed line of an entry: {digest: Uint8Array(32), unseal: 'YYYY-MM-DD'}, or null. */
export function parseEntrySealed(entry) {
  const text = typeof entry === 'string' ? entry : new TextDecoder('utf-8', { fatal: true }).decode(entry);
  const m = /\nsealed ([0-9a-f]{64}) ([0-9]{4}-[0-9]{2}-[0-9]{2})\n/.exec(text);
  return m ? { digest: fromHex(m[1]), unseal: m[2] } : null;
}

/** SHA-256("govhub/sealed/v1" ‖ salt ‖ UTF-8(details)). */
export async function sealedDigest(salt, details) {
  const enc = new TextEncoder();
  return sha256(concat(enc.encode(SEALED_PREFIX), asBytes(salt, 'salt', fromHex), typeof details === 'string' ? enc.encode(details) : details));
}

export async function verifySealedDisclosure(entry, salt, details) {
  try {
    const sealed = parseEntrySealed(entry);
    if (!sealed) return { ok: false, step: 'sealed', message: 'the entry is not a sealed access' };
    const s = asBytes(salt, 'salt', fromHex);
    if (s.length !== 32) return { ok: false, step: 'sealed', message: `the salt has ${s.length} bytes, not 32` };
    const text = typeof details === 'string' ? details : new TextDecoder('utf-8', { fatal: true }).decode(details);
    if (!bytesEqual(await sealedDigest(s, text), sealed.digest)) {
      return { ok: false, step: 'sealed', message: 'the disclosed details do not hash to the entry’s sealed line' };
    }
    const lines = text.split('\n');
    if (lines[0] !== SEALED_PREFIX || lines[lines.length - 1] !== '' || !lines.includes('unseal ' + sealed.unseal)) {
      return { ok: false, step: 'sealed', message: 'the disclosed details are not govhub/sealed/v1 text naming the entry’s unseal date' };
    }
    const out = {};
    for (const l of lines.slice(1, -1)) {
      const i = l.indexOf(' ');
      const k = i < 0 ? l : l.slice(0, i);
      (out[k] = out[k] || []).push(i < 0 ? '' : l.slice(i + 1));
    }
    return { ok: true, details: out };
  } catch (e) {
    return { ok: false, step: 'sealed', message: `the disclosure could not be checked: ${e && e.message}` };
  }
}

// ---- commitment openings (package crypto/commit) ----
//
// verifyOpening({kind, value, blinding, commitment: {scheme, point}}) checks that a Pedersen
// commitment C = m·G + r·H on BLS12-381 G1 opens to value with blinding r: it maps the value to
// the scalar m as the commitment's scheme says, computes m·G + r·H with BigInt arithmetic and
// compares its compressed encoding with point. kind is 'int', 'string' or 'date' (the GraphQL
// types SealedInt, SealedString and SealedDate); value is the opening's text (decimal for
// integers, YYYY-MM-DD for dates). The mappings:
//
//	int                  v mod q (negative v as q − |v|)
//	string               hash_to_field(UTF-8, "GOVHUB-COMMIT-V1-STRING"), RFC 9380, L = 48
//	date, scheme v1      hash_to_field("YYYY-MM-DD", "GOVHUB-COMMIT-V1-DATE")
//	date, scheme v2      the day number: 0001-01-01 is 1 (proleptic Gregorian ordinal)
//
// It resolves to {ok: true} or {ok: false, message}; it does not reject. It is not constant-time:
// it runs on the citizen's own data, in their own browser.

/** The commitment schemes: v2 differs from v1 only in how dates map (day numbers). */
export const COMMIT_SCHEME_V1 = 'pedersen-bls12381-g1/v1';
export const COMMIT_SCHEME_V2 = 'pedersen-bls12381-g1/v2';

const BLS_P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn;
const BLS_Q = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
// G, the standard generator, and H = hash_to_curve("govhub/commit/v1/H"), compressed (crypto/commit).
const COMMIT_G = '97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb';
const COMMIT_H = '939bb95ddf30297d778760e64a43f8fa8e599301a070cfab081a03949adb1510d746f392329b519a6f1d528139dec8fc';
const ORDINAL_OF_UNIX_EPOCH = 719163;

function modP(a) {
  const r = a % BLS_P;
  return r < 0n ? r + BLS_P : r;
}

function powMod(b, e, m) {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function bigOf(bytes) {
  let n = 0n;
  for (const x of bytes) n = (n << 8n) | BigInt(x);
  return n;
}

function bytesOf(n, len) {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

// g1Decompress reads a compressed point of G1 (not infinity) as affine [x, y]; it throws when the
// bytes are not a point of the curve y² = x³ + 4.
function g1Decompress(hex) {
  const b = fromHex(hex);
  if (b.length !== 48 || (b[0] & 0xc0) !== 0x80) throw new TypeError('not a compressed point');
  const larger = (b[0] & 0x20) !== 0;
  const xb = b.slice();
  xb[0] &= 0x1f;
  const x = bigOf(xb);
  if (x >= BLS_P) throw new TypeError('not a point');
  const y2 = modP(x * x * x + 4n);
  let y = powMod(y2, (BLS_P + 1n) / 4n, BLS_P); // p ≡ 3 (mod 4)
  if ((y * y) % BLS_P !== y2) throw new TypeError('not a point');
  if (y > BLS_P - y !== larger) y = modP(-y);
  return [x, y];
}

// Jacobian points [X, Y, Z] on y² = x³ + 4 (a = 0); Z = 0 is the point at infinity.
const INFINITY = [1n, 1n, 0n];

function jDouble([X, Y, Z]) {
  if (Z === 0n || Y === 0n) return INFINITY;
  const A = modP(X * X), B = modP(Y * Y), C = modP(B * B);
  const D = modP(2n * (modP((X + B) * (X + B)) - A - C));
  const E = 3n * A, F = modP(E * E);
  const X3 = modP(F - 2n * D);
  return [X3, modP(E * (D - X3) - 8n * C), modP(2n * Y * Z)];
}

// jAddAffine adds the affine point [x2, y2] to a Jacobian point (madd-2007-bl).
function jAddAffine(P, [x2, y2]) {
  const [X1, Y1, Z1] = P;
  if (Z1 === 0n) return [x2, y2, 1n];
  const Z1Z1 = modP(Z1 * Z1);
  const U2 = modP(x2 * Z1Z1), S2 = modP(y2 * Z1 * Z1Z1);
  const H = modP(U2 - X1), r = modP(2n * (S2 - Y1));
  if (H === 0n) return r === 0n ? jDouble(P) : INFINITY;
  const HH = modP(H * H), I = 4n * HH, J = modP(H * I), V = modP(X1 * I);
  const X3 = modP(r * r - J - 2n * V);
  return [X3, modP(r * (V - X3) - 2n * Y1 * J), modP((Z1 + H) * (Z1 + H) - Z1Z1 - HH)];
}

function toAffine([X, Y, Z]) {
  if (Z === 0n) return null;
  const zi = powMod(Z, BLS_P - 2n, BLS_P), zi2 = modP(zi * zi);
  return [modP(X * zi2), modP(Y * zi2 * zi)];
}

// mulAdd returns acc + k·A for an affine A (double-and-add from the top bit).
function mulAdd(acc, A, k) {
  let R = INFINITY;
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    R = jDouble(R);
    if ((k >> i) & 1n) R = jAddAffine(R, A);
  }
  const a = toAffine(R);
  return a ? jAddAffine(acc, a) : acc;
}

function g1Compress(P) {
  const a = toAffine(P);
  if (!a) return 'c0' + '00'.repeat(47);
  const b = bytesOf(a[0], 48);
  b[0] |= 0x80;
  if (a[1] > BLS_P - a[1]) b[0] |= 0x20;
  return toHex(b);
}

/** The day number of a date "YYYY-MM-DD" (0001-01-01 is 1), or throws for anything else. */
export function dayNumber(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof iso === 'string' ? iso : '');
  if (!m) throw new TypeError('not a date YYYY-MM-DD');
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0–99 as 1900–1999
  if (y < 1 || t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) {
    throw new TypeError('no such date');
  }
  return Math.round(t.getTime() / 86400000) + ORDINAL_OF_UNIX_EPOCH;
}

// hashToScalar is RFC 9380 hash_to_field for one element of the scalar field, with
// expand_message_xmd(SHA-256) and L = 48.
async function hashToScalar(msg, dst) {
  const dstPrime = concat(enc.encode(dst), Uint8Array.of(dst.length));
  const b0 = await sha256(concat(new Uint8Array(64), msg, Uint8Array.of(0, 48, 0), dstPrime));
  const b1 = await sha256(concat(b0, Uint8Array.of(1), dstPrime));
  const x = b0.map((v, i) => v ^ b1[i]);
  const b2 = await sha256(concat(x, Uint8Array.of(2), dstPrime));
  return bigOf(concat(b1, b2).slice(0, 48)) % BLS_Q;
}

/** The scalar a value of kind ('int', 'string', 'date') is committed as under scheme. */
export async function commitScalar(kind, value, scheme) {
  if (scheme !== COMMIT_SCHEME_V1 && scheme !== COMMIT_SCHEME_V2) throw new TypeError(`unknown commitment scheme ${scheme}`);
  const text = String(value);
  switch (kind) {
    case 'int': {
      if (!/^-?(0|[1-9][0-9]*)$/.test(text)) throw new TypeError('not an integer');
      const v = BigInt(text) % BLS_Q;
      return v < 0n ? v + BLS_Q : v;
    }
    case 'string':
      return hashToScalar(enc.encode(text), 'GOVHUB-COMMIT-V1-STRING');
    case 'date': {
      const n = dayNumber(text);
      return scheme === COMMIT_SCHEME_V2 ? BigInt(n) : hashToScalar(enc.encode(text), 'GOVHUB-COMMIT-V1-DATE');
    }
  }
  throw new TypeError(`unknown kind ${kind}`);
}

/** Checks a commitment's opening (see above): resolves to {ok: true} or {ok: false, message}. */
export async function verifyOpening(o) {
  try {
    const m = await commitScalar(o.kind, o.value, o.commitment.scheme);
    const r = bigOf(fromHex(o.blinding));
    if (o.blinding.length !== 64 || r === 0n || r >= BLS_Q) throw new TypeError('the blinding is not a scalar');
    g1Decompress(o.commitment.point); // a malformed point is an error, not a mismatch
    const got = g1Compress(mulAdd(mulAdd(INFINITY, g1Decompress(COMMIT_G), m), g1Decompress(COMMIT_H), r));
    if (got !== o.commitment.point) {
      return { ok: false, message: `the commitment does not open to this value under ${o.commitment.scheme}` };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, message: `the opening could not be checked: ${e && e.message}` };
  }
}
