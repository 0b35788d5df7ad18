// Package ledger is GovHub's append-only audit log: a transparency log in the manner of the Go
// checksum database, whose entries are canonical text in the versioned encoding govhub/entry/v1
// (below), hashed into an RFC 6962 Merkle tree, committed to by signed checkpoints (C2SP
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
//	base <version>                           with dataset: the record version an update replaced (decimal)
//	record <64 hex>                          optional: salted digest of the record an update wrote, or a policy digest
//	subject <64 hex>                         0 or more, sorted: salted subject commitments
//	field <name> <level> [<commitment hex>]  0 or more, sorted by name: what was carried, and how
//
// Tokens (kind, department, role, purpose, reason, dataset, field names and levels) are 1 to 128
// characters from [A-Za-z0-9._:*#-]; an item of a list dataset is named like property.address#0.
// Field levels are reveal, commit or deny for what was released, and set for what was written
// (with the new value's commitment when the field is sensitive). A subject commitment is
// SHA-256("govhub/subject/v1" ‖ salt ‖ citizen ID) with a 32-byte salt kept off the log.
// Everything is canonical: no other spacing, decimal numbers without leading zeros, lowercase
// hex, no duplicate subjects or field names, at most [MaxEntrySize] bytes; ParseEntry rejects
// anything FormatEntry would not have produced, so an entry has exactly one encoding and one leaf
// hash. The first line names the version; a later version gets a new header, and this one stays
// readable.
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
// # Other formats
//
// Each is specified where it is declared: checkpoints at [Checkpoint], receipts at [Receipt],
// C2SP tlog-proof receipts at [Proof], entry bundles at [BundleData], tile paths at
// [ParseTilePath] and [Reader.Handler], hash tiles at [TileData], the lease chain in lease.go.
package ledger
