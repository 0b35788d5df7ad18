// Package mirror keeps a department's full copy of the hub's ledger, after C2SP tlog-mirror: a
// mirror is a cosigner whose cosignature also states that it has durably stored the contents of
// the checkpoint it cosigns and serves them.
//
// # Following the log
//
// A [Mirror] pulls the log's C2SP tlog-tiles read API (checkpoint, hash tiles, entry bundles;
// the hub serves entry bundles to auditor tokens only, so the mirror sends one). For every
// checkpoint it fetches ([Mirror.Sync], every Config.Interval in [Mirror.Run]) it checks, before
// storing anything:
//
//   - the log's signature under the log's key for the checkpoint's origin and size
//     ([ErrSignature]; see "Across a rotation of the log key" below), and that at least Quorum
//     of the trusted witnesses cosigned it (C2SP tlog-cosignature; [ErrQuorum]): the mirror only
//     advances to checkpoints the witnesses have seen;
//   - consistency with the mirror checkpoint (the last one it stored): for a larger checkpoint,
//     the log's hash tiles, each authenticated against the new checkpoint's root
//     (tlog.TileHashReader), must give the stored root at the stored size; for one no larger,
//     the mirror's own tiles (authenticated against its root) must give that checkpoint's root at
//     that checkpoint's size. Anything else is a fork
//     ([ErrFork]): logged at error level as FORK, the checkpoint saved as evidence
//     (Config.EvidenceDir/fork-<size>.checkpoint), and the mirror never advances again (Run
//     returns; the copy is still served). The mirror never rolls back: a smaller checkpoint that
//     is consistent is reported ([ErrBehind], a warning) and otherwise ignored;
//   - every new entry: each entry bundle from the stored size to the new one is fetched, every
//     entry's RFC 6962 leaf hash compared with the leaf the log's level-0 hash tile (authenticated
//     against the root) commits to, and the mirror's own hash tiles recomputed from those leaves
//     with the log's own code (ledger.TreeBuilder) up to a root that must equal the checkpoint's
//     ([ErrContents] names the bundle and entry, or the tile that failed); a partial bundle the
//     mirror already holds must be a prefix of the log's.
//
// Bundles and tiles are written as they are verified (64 bundles at a time); the checkpoint last:
// the log's note is stored, then cosigned by the mirror and stored as the tree state, the mirror
// checkpoint. The store must make every write durable when it returns (the embedded FerretDB
// opens SQLite with synchronous(full); MongoDB is written with w:majority, j:true), so the mirror
// cosigns only what it has durably stored. An interrupted advance leaves the previous mirror
// checkpoint; the next one starts again from it ([New] resumes from the stored tree state after a
// restart). One log line per advance gives the new size, the size it came from, the entries and
// bytes copied, the time taken and entries/s.
//
// # Across a rotation of the log key
//
// The log's key rotates the way Rekor v2 starts a new shard, within one tree (ledger/keys.go): the
// old origin ends at a final checkpoint of size S, witnessed, whose last entry (S-1) names the new
// key; the new key, under a new origin, signs the checkpoints of trees larger than S. The mirror is
// configured with the first key only (Config.Log). When it meets a checkpoint of an origin it does
// not know, it reads the log's key history (GET <LogURL>/log-keys, at most once a second) and
// takes it only if
//
//   - ledger.ParseKeys verifies every handover from the first key, with Quorum of the trusted
//     witnesses on each final checkpoint ([ErrKeys] otherwise, wrapped in [ErrSignature]: the
//     mirror does not advance);
//   - it extends the history the mirror holds (the same keys at the same starts);
//   - each new final checkpoint within the copy is a tree of the copy ([ErrFork] otherwise).
//
// It stores the history (Storage's MetaStorage, document "mirror_log_keys") before it advances to
// any checkpoint of the new origin, so that [New] verifies the stored history again from the
// first key and the stored checkpoint under it, with no request to the log. From then on every
// checkpoint is verified under the key of its origin, which must sign trees of its size (an old
// key's checkpoint past its final size is refused); while copying, the entries up to each key's
// start must give the root of the previous key's final checkpoint. [Mirror.Keys] returns the
// history.
//
// # Storage
//
// [Storage] is the ledger's own storage interface (store/mongostore implements it) and the
// mirror uses the hub's document layout: ledger_tiles and ledger_bundles hold the tiles and
// bundles, byte for byte the log's (a bundle stored compressed, as the hub stores its own);
// ledger_state's tree document holds the mirror checkpoint (size, root, and the note with the
// log's signature, the witnesses' cosignatures and the mirror's); ledger_checkpoints every checkpoint advanced to, as the log served it; meta's
// mirror_log_keys document the log key history, once the log rotated its key. There are no
// batch documents, so `govhub ledger verify` does not apply to a mirror's store.
//
// # HTTP API
//
// [Mirror.Handler] serves, under /<origin hash>/ where origin hash is the lowercase hex SHA-256 of
// the log's origin (the name of its key, e.g. govhub.local/ledger) and of every later origin of
// its key history, the monitoring prefix being the mirror's base URL:
//
//	GET  /<origin hash>/checkpoint                the mirror checkpoint: the log's checkpoint as the
//	                                              log served it, with the mirror's cosignature line
//	                                              appended (503 before the first advance)
//	GET  /<origin hash>/tile/<L>/<N>[.p/<W>]      hash tiles, to anyone
//	GET  /<origin hash>/tile/entries/<N>[.p/<W>]  entry bundles, to whom Config.BundleAccess lets
//	                                              (401 without a token, 403 otherwise)
//	GET  /<origin hash>/log-keys                  the log key history the mirror verified
//	                                              (ledger.Keys.Document), to anyone; before a
//	                                              rotation, the first key alone (Config.LogKey;
//	                                              404 without it)
//	POST /<origin hash>/cosign                    the mirror's cosignature on a checkpoint
//
// Tiles and bundles are served within the mirror checkpoint only, with the same caching headers as
// the hub's (ledger.Reader.Handler).
//
// POST /<origin hash>/cosign is how the hub obtains mirror cosignatures. The request body is a
// checkpoint of the log as the hub publishes it: the signed note with the log's signature and the
// witnesses' cosignatures (at least the mirror's quorum of its trusted witnesses), at most 64 KiB.
// The mirror answers:
//
//   - 200, text/plain: one line "— <mirror name> <base64 signature>\n", a C2SP cosignature/v1
//     signature by the mirror's key over the checkpoint's body, when the checkpoint's whole tree
//     is stored: its size is at most the mirror checkpoint's and its root is the copy's root at
//     that size. For a larger checkpoint, the mirror first advances to it (fetching from the log
//     at once, verifying as above) within [CosignTimeout]; it does not sign before its copy of the
//     contents is durable. Append the line to the note to add the cosignature; verify it with the
//     mirror's verifier key (a cosignature/v1 vkey, type 0x04).
//   - 403: the log's signature or the witness quorum is missing ([ErrSignature], [ErrQuorum]).
//   - 409: the checkpoint is inconsistent with the mirror's copy (a fork); the mirror stops.
//   - 503 with Retry-After: the mirror has not stored the contents (the log did not serve them,
//     they did not verify, or time ran out); the body says why, and the mirror's size.
//
// [Client] is the hub's side of this: [NewClient] with the mirror's base URL and the mirror's
// verifier key; [Client.Cosign] posts each checkpoint under the hash of its own origin and returns
// the mirror's cosignature lines, checked against that key, or ErrNotStored (503), ErrFork (409),
// ErrQuorum (403). A cosign request under the hash of an origin the mirror does not know yet is
// taken when the checkpoint is of that origin: the mirror reads the key history first.
//
// The mirror fetches a checkpoint's contents through the log's tiles API, and the hub serves
// tiles and bundles only within its published tree: the hub can ask for cosignatures on a
// checkpoint it has published (with its witness quorum), not on one it holds back until mirrors
// cosign it, unless it serves the mirror that tree first.
//
// Without calling cosign, the hub may also GET /<origin hash>/checkpoint and take the mirror's
// signature line when the body (the text up to the blank line) is that of its own checkpoint.
//
// # Where this departs from C2SP tlog-mirror
//
//   - Updates are pulled, not pushed: the mirror follows the log's read API and does not implement
//     add-checkpoint, add-entries or sign-subtree. Its cosign endpoint is its own: like a witness's
//     add-checkpoint it takes a checkpoint and answers with cosignature lines, but it takes no
//     consistency proof (the mirror proves consistency from the log's tiles itself) and it fetches
//     the entries instead of receiving them.
//   - Entry bundles are not public by default: the hub serves them to auditors only, and the
//     mirror, holding the same entries, to the hub's auditor tokens (verified with the hub's
//     token issuer public key) and configured reader tokens only. `govhub mirror --public-bundles`
//     serves them to everyone, as the spec expects.
//   - The cosign endpoint cosigns any stored checkpoint consistent with the copy, not only the
//     mirror checkpoint: every one of them is a statement the mirror can make.
//   - One log per mirror; no pruning (the minimum index is 0). A log whose key was rotated is one
//     log under several origins, served under each.
package mirror
