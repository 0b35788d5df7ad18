package hub

import (
	"fmt"

	"github.com/govhub/govhub/crypto/subject"
)

// The index key and its rotation (ARCHITECTURE §1.2: key rotations are on the ledger). The hub's
// index key (keys/index.key) keys several things; a rotation (`govhub keys rotate --key index`)
// makes a new key current and keeps the earlier ones in a ring (subject.Ring), so that nothing
// written under an earlier key stops working. Per use:
//
//   - Record and head MACs (integrity.go, under IntegrityKey of the key): written under the
//     current key; checked under every key held (a MAC that matches under none is an integrity
//     alert, as before); RemacRecords MACs every record and head again under the current key in
//     the background, and never one that fails under every key (that stays refused).
//   - Request and question digests on entries: computed under the current key. Nothing checks
//     them again, so the older ones need no key.
//   - Access-log cursors (citizens.go): made under the current key, accepted under any key held.
//   - Erasure digests (tombstone ids and the erasure entries' record lines) and the sealed
//     erasure receipts: new ones under the current key; a citizen is erased if a tombstone exists
//     under any key held, and a receipt opens under the key its tombstone was found under;
//     replaying erasures from the ledger matches the digests under every key.
//   - Pseudonyms (the private subject index, each citizen's access log, their questions,
//     applications and certificates): under the ring's pseudonym key, which the store names
//     (the oldest key until a rotation re-keys them). They are the addresses of stored data (a
//     citizen's log is a chain of documents named by the pseudonym), so a re-keying moves each
//     citizen's data from their former pseudonyms to the new one, on first use and in the
//     background (pseudonyms.go).
//
// A hub that meets a MAC or cursor under a key it does not hold reads the key files again (at
// most once a second, subject.Ring.Refresh) before it decides: another instance sharing the key
// files may have rotated.

// indexRing returns ring if set, else the ring of the single key (which must be
// subject.KeySize bytes).
func indexRing(ring *subject.Ring, key []byte) (*subject.Ring, error) {
	if ring != nil {
		return ring, nil
	}
	if len(key) != subject.KeySize {
		return nil, fmt.Errorf("hub: index key has %d bytes, want %d", len(key), subject.KeySize)
	}
	return subject.NewRing(key)
}
