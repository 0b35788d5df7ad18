// Package ledger is GovHub's append-only audit log: a transparency log in the manner of the Go
// checksum database, whose entries are canonical text in the versioned encodings govhub/entry/v1
// and govhub/entry/v2 (below), hashed into an RFC 6962 Merkle tree, committed to by signed checkpoints (C2SP
// tlog-checkpoint) that witnesses cosign (C2SP tlog-witness), with inclusion and consistency
// proofs, offline receipts (C2SP tlog-proof) and the C2SP tlog-tiles read API.
//
// # Contract
//
// A [Log], opened with [New] over a [Storage], promises:
//
//   - Durability. [Log.Append] returns only once the batch document holding the entry is stored:
//     one document per sequenced batch, keyed by the index of its first entry
//     ([BatchStorage.AddBatch]). That insert is the durability point of every entry in the batch.
//     Everything else (hash tiles, entry bundles, the tree state, checkpoints) is derived from the
//     batches idempotently and can be recomputed from them. An error from Append means the entry
//     must be treated as not logged (it may still appear, if the error came after the write).
//   - Entries appended together. [AppendAll] appends several entries in the order given at
//     consecutive indices of one batch document: one write, one durability point, a receipt each.
//     A group is never split (more entries than a batch holds are refused), never straddles a log
//     key's era (a rotation and its link entry are written alone), and stays whole when its batch
//     meets an index another writer took. Only the instance holding the lease groups: elsewhere,
//     or should the lease move before the write, AppendAll appends nothing and fails with
//     [ErrNotGrouped], and the caller appends the entries one by one.
//   - Receipts. Append's [Receipt] is the log key's signature over the entry's index and leaf hash
//     (the text is specified at [Receipt]; [CheckReceipt] checks it): the promise that the entry is
//     sequenced at that index. A later checkpoint and an inclusion proof turn it into proof.
//   - Checkpoints. One integrator folds the batches, in index order, into the tree and signs a
//     [Checkpoint] of each new tree, within about a second of an append. The tree state advances
//     only by compare-and-swap ([StateStorage.SwapTreeState]), so the signed trees form one line,
//     each a prefix of the next. Without witnesses every signed checkpoint is published at once;
//     with them ([WithWitnesses]) a checkpoint is published ([Log.Latest], [Log.WaitCheckpoint],
//     the tlog-tiles checkpoint) only once a quorum has cosigned it, each witness given a
//     consistency proof from the size it last cosigned.
//   - One sequencer. Instances sharing a database sequence and integrate one at a time: the holder
//     of the lease, a chain of lease documents, one per term, each taken by an insert
//     ([LeaseStorage]). The others forward their appends to it through a queue ([QueueStorage])
//     and learn their entry's index from the batches. Should two instances ever sequence at once,
//     the unique batch key still writes every index once, and the compare-and-swap keeps one tree.
//   - Proofs. A [Reader] (the log's own, [Log.Reader], or one over storage alone, [NewReader])
//     proves inclusion and consistency within the latest integrated checkpoint, authenticating
//     every stored hash it uses against that checkpoint's root. [CheckInclusion],
//     [CheckConsistency], [CheckProof] and [CheckCosignatures] check proofs offline, with the
//     log's and the witnesses' verifier keys alone.
//   - Verification. [New] refuses a log whose stored tiles do not hash to the root of its latest
//     checkpoint, or whose checkpoint does not verify under the log key. [Verify] and [VerifyFrom]
//     recompute the tree from the batches and return a [*CorruptionError] naming the first entry
//     altered, missing, reordered or not canonical.
//   - Key rotation. The log key rotates without a new tree ([Log.RotateKey], specified in keys.go):
//     the old origin ends at a witnessed final checkpoint, the new origin's first entry links to
//     it, and [Keys], the key history a verifier accepts from the first key alone ([ParseKeys]),
//     checks every receipt and checkpoint under the key of its era.
//   - Failing closed. When storage fails, when the queue is full ([ErrQueueFull]), after
//     [Log.Shutdown] ([ErrClosed]) and after [Log.Fail] ([ErrCorrupt]: what a caller does when
//     verification finds the log altered), Append returns an error and no receipt; an entry is
//     never reported as logged unless its batch is stored. Readers keep serving what was published.
//
// The package declares the storage it needs ([Storage] and its sub-interfaces: batches, tiles,
// bundles, state, lease, queue) and the store packages implement it. No transactions are needed:
// inserts under a unique key, documents that only grow, and one compare-and-swap document. The
// parts of a Log each use only the sub-interfaces they need: sequencing (sequence.go) batches;
// integration (integrate.go) batches, tiles, bundles and state; publishing and witnessing
// (publish.go, witnessing.go) state; the lease and forwarding (lease.go) lease, queue and
// batches; the [Reader] (reader.go) the read methods alone ([ReaderStorage]).
//
// # Entries: govhub/entry/v1
//
// An [Entry] holds codes, names, digests and commitments only: the hub puts no citizen identifier
// and no field value in clear into an entry. Its canonical encoding ([FormatEntry], [ParseEntry])
// is UTF-8 text, one "key value" line each, in this fixed order, every line ending in "\n";
// optional lines are left out when empty:
//
//	govhub/entry/v1                          header, always
//	kind <kind>                              access | update | policy | proposal | approval | rejection
//	time <RFC 3339, UTC, milliseconds>       e.g. 2026-11-21T06:30:05.120Z
//	actor <department>/<role>                who acted, e.g. housing/clerk
//	purpose <code>                           optional: the stated purpose
//	policy <version>                         the policy version decided under (decimal)
//	request <64 hex>                         optional: keyed digest of the request
//	outcome <allowed|denied>
//	reason <token>                           optional: why it was denied, e.g. unknown-purpose
//	dataset <name>                           optional: the dataset an update wrote
//	base <version>                           with dataset: the ledger index of the citizen's previous update (decimal; see below)
//	record <64 hex>                          optional: salted digest of the record an update wrote, or a policy digest
//	subject <64 hex>                         0 or more, sorted: salted subject commitments
//	field <name> <level> [<commitment hex>]  0 or more, sorted by name: what was carried, and how
//
// Tokens (kind, department, role, purpose, reason, dataset, field names and levels) are 1 to 128
// characters from [A-Za-z0-9._:*#-]; an item of a list dataset is named like property.address#0.
// Field levels are reveal, commit or deny for what was released (v2 adds prove), and set for what was written
// (with the new value's commitment when the field is sensitive). A subject commitment is
// SHA-256("govhub/subject/v1" ‖ salt ‖ citizen ID) with a 32-byte salt kept off the log.
//
// The base line of an update names the ledger index of the previous update of the same citizen
// (of any dataset), or 0 for their first: one citizen's updates form one chain on the log, which is
// what lets the hub tell a rolled-back record head from the current one (package hub,
// integrity.go). Entries written before that change name the previous version of the same record
// instead; the encoding is the same, and the package does not interpret the number.
// Everything is canonical: no other spacing, decimal numbers without leading zeros, lowercase
// hex, no duplicate subjects or field names, at most [MaxEntrySize] bytes; ParseEntry rejects
// anything FormatEntry would not have produced, so an entry has exactly one encoding and one leaf
// hash. The first line names the version; a later version gets a new header, and this one stays
// readable: ParseEntry reads v1 entries forever, and an [Entry] parsed from v1 bytes (Version 1)
// formats back to the very same bytes.
//
// For example, a housing clerk's read of one citizen, the 368 bytes of testdata/entry-access.txt:
//
//	govhub/entry/v1
//	kind access
//	time 2026-11-21T06:30:05.120Z
//	actor housing/clerk
//	purpose home-purchase-eligibility
//	policy 1
//	request 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
//	outcome allowed
//	subject 5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b
//	field health.bloodType deny
//	field identity.name reveal
//	field tax.annualIncome commit
//
// The clerk was shown the citizen's name, a commitment to their annual income, and not their
// blood type. The entry's leaf hash ([LeafHash]) is the RFC 6962 leaf hash, SHA-256 of the byte
// 0x00 followed by the entry's bytes:
//
//	dd08279cbde4d0dddcf6edb368fc17bb81427afa1374a6c1208f00c259cba8be
//
// written in base64, as checkpoints, receipts and proofs write hashes, as
//
//	3QgnnL3k0N3c9u2zaPwXu4FCevoTdKbBII8AwlnLqL4=
//
// A tree of this one entry has that hash as its root, so the checkpoint of a log named
// govhub.example/ledger holding only this entry has the body
//
//	govhub.example/ledger
//	1
//	3QgnnL3k0N3c9u2zaPwXu4FCevoTdKbBII8AwlnLqL4=
//
// followed by an empty line and the signatures ([Checkpoint]). The package example appends this
// entry and proves it.
//
// # Entries: govhub/entry/v2
//
// Version 2, what [FormatEntry] writes for an Entry whose Version is 0, keeps every rule of v1
// (tokens, canonical numbers and hex, sorting, no duplicates, the size limit, one encoding per
// entry) and adds lines. The order is fixed; the lines v1 has are unchanged; "v2" marks the new:
//
//	govhub/entry/v2                          header, always
//	kind <kind>                              v1's kinds, and (v2) question | answer | issue |
//	                                         revoke | step | erasure | unseal | rotation
//	time <RFC 3339, UTC, milliseconds>
//	actor <department>/<role>
//	official <64 hex>                        v2, optional: the official's pseudonym
//	purpose <code>                           optional
//	policy <version>
//	request <64 hex>                         optional
//	request-id <token>                       v2, optional, reserved: the request's id
//	outcome <allowed|denied>
//	reason <token>                           optional
//	dataset <name>                           optional
//	base <version>                           with dataset
//	record <64 hex>                          optional
//	about <index>                            v2: in questions, answers, revokes and unseals only,
//	                                         and always there
//	certificate <token>                      v2, optional, reserved: a certificate id
//	sealed <64 hex> <YYYY-MM-DD>             v2, optional: sealed-access details
//	subjects <64 hex>                        v2, optional: root of a page subject tree
//	subject <64 hex>                         0 or more, sorted; never with subjects
//	condition <field> <op> <n> [<n>]         v2, 0 or more, sorted, reserved: proof conditions
//	field <name> <level> [<commitment hex>] [proved:<p>]… [refused:<p>]…
//	                                         0 or more, sorted by name; predicates v2 only
//
// ParseEntry rejects a v2 line in a v1 entry, and a v2 kind under the v1 header.
//
//   - official: HMAC-SHA-256, under the acting department's resolve key, of the subject of the
//     token the request was made with: the individual official (ARCHITECTURE §1.9), whom their own
//     department can resolve and nobody else can. The hub computes it; the ledger carries and
//     checks only 32 bytes of lowercase hex. Absent for principals without a subject.
//   - question, answer, about: a citizen who questions an access appends a question (actor
//     citizen/citizen, as the citizen's own openings are, with their salted subject commitment),
//     whose about line is the ledger index of the access questioned. The department's answer
//     (actor <department>/<role>, with the answering officer's official line and the same
//     citizen's commitment under a fresh salt) has as its about line the index of the question it
//     answers, so answer → question → access can be followed, and several questions about one
//     access stay apart. Message texts stay off the ledger: each entry's record line is a salted
//     digest of its text, so that a department cannot later deny it was asked, nor the citizen
//     that they were answered. An answer may classify itself in its reason line (e.g. legal-basis,
//     case, misuse). The ledger does not check that about points backwards: the hub writes it.
//   - issue, revoke, step: a certificate's issuance names its id on the certificate line, the
//     certificate type's purpose and the policy version whose rule decided it; a revocation's
//     about line is the index of the issuance it revokes; each step of a citizen's application
//     (received, gathered, decided, reviewed, issued, refused: the reason line) names the
//     application's id on the certificate line. The citizen appears only as a salted subject
//     commitment, as in every entry.
//   - erasure: a lawful erasure of a citizen's data, with the citizen's commitment under a fresh
//     salt that the erasure receipt carries; the record line digests what was destroyed.
//   - unseal: the disclosure of a sealed access; its about line is the sealed access's index and
//     its record line a digest of the disclosed details, which the citizen checks against the
//     sealed line of that access.
//   - rotation: a key was rotated; the reason line names the key (master, index, token,
//     credential, officials, log) and the record line a digest of the new key's public part or
//     identifier. A log key rotation adds a second one, reason log-link, the new origin's first
//     entry, whose record line is the old origin's final root (keys.go).
//   - openings remain access entries, as in v1 (actor citizen/citizen, the citizen's own
//     commitment): an opening is a release of data, under the same log-before-release rule as any
//     read, and every reader of v1 logs already classifies it so. A v2 opening names its field
//     with level open (the value and its blinding were released) rather than reveal.
//   - request-id, certificate: tokens, as v1 defines them, naming the request (to join the
//     ledger to operators' logs) and a certificate issued from the access.
//   - sealed: for an access made under a court order (a sealed purpose), a 32-byte salted
//     commitment to the access's details (department, role, official, fields, the court-order
//     reference; computed off the ledger, package hub) and the first day (a calendar date, UTC) on
//     which the details are disclosed to the citizen, in an unseal entry.
//   - condition: a predicate a proof (level prove) showed over one field, without revealing the
//     value ([Condition]): "<field> <op> <n>" with op ge, le, gt or lt or eq, or
//     "<field> range <lo> <hi>" (lo ≤ value ≤ hi, lo ≤ hi); bounds are decimal integers from 0 to
//     2^64-1 without leading zeros. E.g. socialInsurance.contributionMonths ge 24.
//   - subjects: the root of the page's subject tree ([SubjectTree]) in place of one subject line
//     per citizen. Subject lines show how many citizens a list page concerned to every citizen who
//     verifies it; the subject tree has 128 leaves whatever the page holds (at most
//     [MaxPageSubjects] commitments, the rest random fillers, all sorted together), so the entry
//     shows nothing about the others, not even their number. A citizen checks their membership
//     with their own commitment, its position and 7 sibling hashes ([CheckSubjectPath]); the hub
//     hands them out with the inclusion proof. An entry has subject lines or a subjects line, not
//     both.
//
// Field predicates: a field read at level prove (or reveal) may name the catalogued
// predicates asked about it (package policy): proved:<name> for each the hub answered (whether
// it holds, with a range proof over the field's commitment when it does; the entry does not say
// which held, and never the value or the thresholds), refused:<name> for each catalogued one it
// refused, a refused predicate on a field whose level is commit or deny included, and refused:*
// once for any names asked that the catalogue does not define for the field (the hub does not
// write the asker's own text on the ledger). Each list is sorted,
// without duplicates, names are tokens without ':'; a field line without predicates is
// byte for byte the v1 line. E.g. (testdata/entry-v2-prove.txt)
// "field socialInsurance.contributionMonths prove proved:atLeast60 refused:atLeast61".
//
// For example, a housing clerk's list page of three citizens, naming the clerk, is
// the 417 bytes of testdata/entry-v2-page.txt:
//
//	govhub/entry/v2
//	kind access
//	time 2026-11-21T06:30:05.120Z
//	actor housing/clerk
//	official 3aa78797ae6d5166904235a2a869f035e46f0c726e8c372a00fa097324db09d2
//	purpose home-purchase-eligibility
//	policy 1
//	request 1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e
//	outcome allowed
//	subjects 4270b95ec96024660450835bdb145ccdd5a62fb8ea35b21b5e4bec96ec74de61
//	field identity.hukouCity reveal
//	field identity.name reveal
//
// Its leaf hash is
//
//	6ecc72dd89a0d906f718e17dc44f0ff5142a0497a1a47cc13f8897882bd92940
//
// The subjects root is that of the tree of the page's three commitments and 125 fillers
// (testdata/subject-tree.json). The first citizen, whose commitment is the 48th leaf, proves
// they were on the page with
//
//	commitment 5b5f2c7c6ce5304a5b11f43aaeff68c581ffb797736d71f88d9920e56e22edf4
//	position   47
//	           81482ffd25b7d2ede6267b3239a2b263aa5ef76f6cb5397a0f345cf8ed455c3e
//	           bf3844017c5eb10b66d2a2309c30ed9d8bf9b5c151c50fe9ed69ba02f9fb1931
//	           961d0cde1b77b8c4f1a7bbd75bac3f78441f4bdbd9abee38b4124e6b7e930323
//	           0c45a591cffab894213530f4ff1620d9535e4a6f8ccf082fbb62dc8ce4469d9a
//	           d173fbcf1e01ada09b4bf16ba77066e043f8526135fc892ced3255c77a07242c
//	           b6183b06ea79994afe95bbba290bd7214fa4a2bf61a909e3b3277a81c861c275
//	           6538ec6edeb17d14b6490579c89c8daa62d978a872e8b66bab6f22c48eb15b65
//
// hashing SHA-256(0x00 ‖ commitment), then, for each hash from the first, SHA-256(0x01 ‖ hash ‖
// node) when that bit of the position (lowest first) is 1 and SHA-256(0x01 ‖ node ‖ hash) when it
// is 0, and finding the subjects root. Golden entries of both versions, one of each v2 kind and
// one with every reserved line, are in testdata/entry-*.txt with their leaf hashes in
// testdata/entry-leaf-hashes.txt.
//
// # Other formats
//
// Each is specified where it is declared: checkpoints at [Checkpoint], receipts at [Receipt],
// C2SP tlog-proof receipts at [Proof], entry bundles at [BundleData], tile paths at
// [ParseTilePath] and [Reader.Handler], hash tiles at [TileData], the lease chain in lease.go.
package ledger
