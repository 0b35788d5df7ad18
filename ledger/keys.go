package ledger

// The log key's history: one tree, several eras, each with its own note key and origin.
//
// # Rotating the log key
//
// The log key is rotated the way Rekor v2 starts a new shard, except that the tree goes on: a new
// origin, under a new key, whose first entry links to the old origin's final checkpoint. Witnesses
// and mirrors see a new log (a new origin) and need nothing they do not already speak; verifiers
// that trust the first key learn the later ones from the log itself.
//
// [Log.RotateKey] does it in the sequencer, between two batches, so appends wait (they are never
// refused) for about one integration round:
//
//  1. The rotation entry (kind rotation, reason "log", record [LogKeyDigest] of the new verifier
//     key) is written alone, as the last entry of the old era, at index S-1.
//  2. The log waits until the checkpoint of size S is signed by the old key and published (cosigned
//     by a quorum of witnesses when the log has them): the old origin's final checkpoint. Nothing
//     else is sequenced meanwhile, so no later entry can slip under the old origin.
//  3. The new era (key, start S, that final checkpoint, the rotation entry and its inclusion
//     proof) is handed to the caller to store durably; only then does the log switch keys.
//  4. The link entry, the new era's first entry at index S: kind rotation, reason "log-link", the
//     same actor, and the record line the old final checkpoint's root (its origin is the previous
//     era's, its size the link entry's own index).
//
// From then on the new key signs the receipts of entries at index S and above, and the
// checkpoints of trees larger than S; the old key signed everything before, and its receipts,
// checkpoints and proofs stay valid forever under it. A failure before step 3 leaves the log on
// the old key (the rotation entry then names a key that never took effect; rotate again); a crash
// between steps 3 and 4 is finished at the next start (the link entry is written before anything
// else of the new era).
//
// # The key history document
//
// [Keys.Document] is what a hub publishes (GET /ledger/keys) and what verifiers read
// ([ParseKeys]): JSON, one object per era, oldest first:
//
//	{"eras":[
//	  {"key":"govhub.example/ledger+1a2b3c4d+AZ…"},
//	  {"key":"govhub.example/ledger/2+5e6f7a8b+AZ…","start":1042,
//	   "final":"<the old origin's final checkpoint, a signed note with its cosignatures>",
//	   "rotation":"<base64 of the rotation entry's bytes>","proof":["<base64 hash>",…]}]}
//
// ParseKeys trusts only the first key, which the verifier names: each later key is accepted only
// if the previous key signed the final checkpoint of size start (and, with witnesses given, a
// quorum of them cosigned it), the rotation entry is included in it at index start-1 by the proof,
// and that entry is a log-key rotation whose record is LogKeyDigest of the new key. A history whose
// first key is not the trusted one, whose starts do not increase, or that reuses an origin, is
// refused.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Reasons of the two rotation entries of a log key rotation.
const (
	ReasonLogKey  = "log"      // the old era's last entry: names the new key
	ReasonLogLink = "log-link" // the new era's first entry: names the old era's final root
)

// LogKeyDigest is the record line of a log-key rotation entry: SHA-256 of
// "govhub/rotation/log/v1\n" followed by the new verifier key, in note format (package hub's
// RotationDigest("log", vkey) is the same).
func LogKeyDigest(vkey string) []byte {
	h := sha256.Sum256([]byte("govhub/rotation/log/v1\n" + vkey))
	return h[:]
}

// Era is one log key and the part of the log it signs: receipts of entries from Start on, and
// checkpoints of trees larger than Start (the checkpoint of size Start is the previous era's
// final one), up to the next era's start.
type Era struct {
	Key      string        // the verifier key, in note format; its name is the era's origin
	Verifier note.Verifier // Key, parsed
	Start    uint64        // the index of the era's first entry; 0 for the first era
	// For eras after the first, the evidence that the previous key handed over to this one.
	Final    []byte      // the previous era's final checkpoint (size Start), with its cosignatures
	Rotation []byte      // the rotation entry at Start-1
	Proof    []tlog.Hash // its inclusion in Final
}

// Keys is the log key's history, oldest era first. The zero value holds no key.
type Keys struct {
	eras []Era
}

// SingleKey is the history of a log whose key never rotated.
func SingleKey(v note.Verifier) Keys {
	return Keys{eras: []Era{{Verifier: v}}}
}

// NewKeys makes a history of eras trusted as given (a hub reading its own key files); verifiers
// of a history received from elsewhere use ParseKeys.
func NewKeys(eras []Era) (Keys, error) {
	k := Keys{eras: slices.Clone(eras)}
	for i := range k.eras {
		e := &k.eras[i]
		if e.Verifier == nil {
			v, err := note.NewVerifier(e.Key)
			if err != nil {
				return Keys{}, fmt.Errorf("ledger: log key %d: %w", i+1, err)
			}
			e.Verifier = v
		}
	}
	return k, k.check()
}

func (k Keys) check() error {
	if len(k.eras) == 0 {
		return errors.New("ledger: no log key")
	}
	if k.eras[0].Start != 0 {
		return errors.New("ledger: the first log key must start at 0")
	}
	seen := map[string]bool{}
	for i, e := range k.eras {
		if seen[e.Verifier.Name()] {
			return fmt.Errorf("ledger: log key %d reuses the origin %q", i+1, e.Verifier.Name())
		}
		seen[e.Verifier.Name()] = true
		if i > 0 && e.Start <= k.eras[i-1].Start {
			return fmt.Errorf("ledger: log key %d starts at %d, not after the previous one (%d)", i+1, e.Start, k.eras[i-1].Start)
		}
	}
	return nil
}

// Eras returns the eras, oldest first.
func (k Keys) Eras() []Era { return slices.Clone(k.eras) }

// Extends reports whether k begins with every era of old: the same keys, starting at the same
// entries (a history read again must extend the one held).
func (k Keys) Extends(old Keys) bool {
	if len(k.eras) < len(old.eras) {
		return false
	}
	for i, e := range old.eras {
		if k.eras[i].Verifier.Name() != e.Verifier.Name() || k.eras[i].Verifier.KeyHash() != e.Verifier.KeyHash() || k.eras[i].Start != e.Start {
			return false
		}
	}
	return true
}

// Verifiers are the keys of every era, for note.Open of what any of them may have signed (an
// erasure receipt, signed by the key of its day).
func (k Keys) Verifiers() note.Verifiers {
	vs := make([]note.Verifier, len(k.eras))
	for i, e := range k.eras {
		vs[i] = e.Verifier
	}
	return note.VerifierList(vs...)
}

// Current is the newest key's verifier.
func (k Keys) Current() note.Verifier {
	if len(k.eras) == 0 {
		return nil
	}
	return k.eras[len(k.eras)-1].Verifier
}

// eraOfIndex is the era whose key signs the receipt of the entry at index.
func (k Keys) eraOfIndex(index uint64) int {
	i := len(k.eras) - 1
	for i > 0 && k.eras[i].Start > index {
		i--
	}
	return i
}

// eraOfSize is the era whose key signs the checkpoint of a tree of size n.
func (k Keys) eraOfSize(n uint64) int {
	i := len(k.eras) - 1
	for i > 0 && k.eras[i].Start >= n {
		i--
	}
	return i
}

// ForIndex is the verifier of the key that signs the receipt of the entry at index.
func (k Keys) ForIndex(index uint64) note.Verifier { return k.eras[k.eraOfIndex(index)].Verifier }

// ParseCheckpoint verifies a checkpoint under the key of its origin and checks that this key
// signs trees of its size, then decodes it.
func (k Keys) ParseCheckpoint(text []byte) (Checkpoint, error) {
	i, err := k.eraOfText(text)
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := ParseCheckpoint(text, k.eras[i].Verifier)
	if err != nil {
		return cp, err
	}
	if j := k.eraOfSize(cp.Size); j != i {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint of size %d under %s, whose key signs trees of sizes %s", ErrInvalidSignature, cp.Size, cp.Origin, k.sizes(i))
	}
	return cp, nil
}

func (k Keys) sizes(i int) string {
	lo := "0"
	if i > 0 {
		lo = fmt.Sprint(k.eras[i].Start + 1)
	}
	if i == len(k.eras)-1 {
		return lo + " and up"
	}
	return lo + " to " + fmt.Sprint(k.eras[i+1].Start)
}

// eraOfText finds the era of a checkpoint by its origin, the note's first line.
func (k Keys) eraOfText(text []byte) (int, error) {
	origin, _, _ := bytes.Cut(text, []byte("\n"))
	for i, e := range k.eras {
		if e.Verifier.Name() == string(origin) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: checkpoint of unknown origin %q", ErrInvalidSignature, origin)
}

// CheckReceipt verifies a receipt under the key that signs its index.
func (k Keys) CheckReceipt(r Receipt) error { return CheckReceipt(k.ForIndex(r.Index), r) }

// CheckCosignatures verifies that the checkpoint is signed by the key of its origin and that at
// least quorum of the witnesses cosigned it.
func (k Keys) CheckCosignatures(checkpoint []byte, witnesses []Witness, quorum int) error {
	i, err := k.eraOfText(checkpoint)
	if err != nil {
		return err
	}
	return CheckCosignatures(checkpoint, k.eras[i].Verifier, witnesses, quorum)
}

// CheckProof verifies a tlog-proof offline as the package's CheckProof does, with the checkpoint
// under the key of its origin and size.
func (k Keys) CheckProof(p Proof, leafHash tlog.Hash, witnesses []Witness, quorum int) (Checkpoint, error) {
	cp, err := k.ParseCheckpoint(p.Checkpoint)
	if err != nil {
		return cp, err
	}
	if quorum > 0 {
		if err := k.CheckCosignatures(p.Checkpoint, witnesses, quorum); err != nil {
			return cp, err
		}
	}
	return cp, CheckInclusion(p.Hashes, cp, p.Index, leafHash)
}

type keysDoc struct {
	Eras []eraDoc `json:"eras"`
}

type eraDoc struct {
	Key      string   `json:"key"`
	Start    uint64   `json:"start,omitempty"`
	Final    string   `json:"final,omitempty"`
	Rotation []byte   `json:"rotation,omitempty"`
	Proof    [][]byte `json:"proof,omitempty"`
}

// Document is the history as published (see the file comment).
func (k Keys) Document() []byte {
	var d keysDoc
	for _, e := range k.eras {
		ed := eraDoc{Key: e.Key, Start: e.Start, Final: string(e.Final), Rotation: e.Rotation}
		for _, h := range e.Proof {
			ed.Proof = append(ed.Proof, bytes.Clone(h[:]))
		}
		d.Eras = append(d.Eras, ed)
	}
	out, _ := json.Marshal(d)
	return out
}

// ParseKeys reads a published history and verifies every handover from the trusted first key on
// (see the file comment); with quorum > 0 each final checkpoint must carry a quorum of the
// witnesses' cosignatures.
func ParseKeys(doc []byte, trusted note.Verifier, witnesses []Witness, quorum int) (Keys, error) {
	var d keysDoc
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Keys{}, fmt.Errorf("ledger: key history: %w", err)
	}
	if len(d.Eras) == 0 {
		return Keys{}, errors.New("ledger: key history: no key")
	}
	var eras []Era
	for i, ed := range d.Eras {
		v, err := note.NewVerifier(ed.Key)
		if err != nil {
			return Keys{}, fmt.Errorf("ledger: key history: key %d: %w", i+1, err)
		}
		e := Era{Key: ed.Key, Verifier: v, Start: ed.Start, Final: []byte(ed.Final), Rotation: ed.Rotation}
		for _, h := range ed.Proof {
			if len(h) != tlog.HashSize {
				return Keys{}, fmt.Errorf("ledger: key history: key %d: a proof hash of %d bytes", i+1, len(h))
			}
			e.Proof = append(e.Proof, tlog.Hash(h))
		}
		if i == 0 {
			if v.Name() != trusted.Name() || v.KeyHash() != trusted.KeyHash() || ed.Start != 0 || ed.Final != "" || ed.Rotation != nil || ed.Proof != nil {
				return Keys{}, fmt.Errorf("%w: key history: the first key is not the trusted %s", ErrInvalidSignature, trusted.Name())
			}
			e.Verifier = trusted
		} else if err := checkHandover(eras[i-1], e, witnesses, quorum); err != nil {
			return Keys{}, fmt.Errorf("ledger: key history: key %d (%s): %w", i+1, v.Name(), err)
		}
		eras = append(eras, e)
	}
	k := Keys{eras: eras}
	return k, k.check()
}

// checkHandover verifies that prev handed over to next.
func checkHandover(prev, next Era, witnesses []Witness, quorum int) error {
	if next.Start <= prev.Start {
		return fmt.Errorf("starts at %d, not after the previous key (%d)", next.Start, prev.Start)
	}
	cp, err := ParseCheckpoint(next.Final, prev.Verifier)
	if err != nil {
		return fmt.Errorf("the final checkpoint of %s: %w", prev.Verifier.Name(), err)
	}
	if cp.Size != next.Start {
		return fmt.Errorf("%w: the final checkpoint of %s is of size %d, not %d", ErrInvalidSignature, prev.Verifier.Name(), cp.Size, next.Start)
	}
	if quorum > 0 {
		if err := CheckCosignatures(next.Final, prev.Verifier, witnesses, quorum); err != nil {
			return fmt.Errorf("the final checkpoint of %s: %w", prev.Verifier.Name(), err)
		}
	}
	if err := CheckInclusion(next.Proof, cp, next.Start-1, LeafHash(next.Rotation)); err != nil {
		return fmt.Errorf("the rotation entry: %w", err)
	}
	e, err := ParseEntry(next.Rotation)
	if err != nil {
		return fmt.Errorf("the rotation entry: %w", err)
	}
	if e.Kind != KindRotation || e.Reason != ReasonLogKey || !bytes.Equal(e.Record, LogKeyDigest(next.Key)) {
		return fmt.Errorf("%w: the entry at %d is not the rotation of the log key to this key", ErrInvalidSignature, next.Start-1)
	}
	return nil
}

// handovers are the checks of the entries around each rotation of the log key, by index: the
// rotation entry the history names at start-1, and the link entry to the final checkpoint's root
// at start.
func (k Keys) handovers() (map[uint64]func([]byte) error, error) {
	checks := map[uint64]func([]byte) error{}
	for i := 1; i < len(k.eras); i++ {
		e := k.eras[i]
		final, err := ParseCheckpoint(e.Final, k.eras[i-1].Verifier)
		if err != nil {
			return nil, fmt.Errorf("ledger: the final checkpoint of log key %d: %w", i, err)
		}
		rot := LeafHash(e.Rotation)
		checks[e.Start-1] = func(leaf []byte) error {
			if LeafHash(leaf) != rot {
				return fmt.Errorf("not the rotation entry of the log key %s that the key history names", e.Verifier.Name())
			}
			return nil
		}
		checks[e.Start] = func(leaf []byte) error {
			if root, ok := IsLink(leaf); !ok || root != final.Root {
				return fmt.Errorf("not the link entry of the log key %s to the final checkpoint of %s", e.Verifier.Name(), final.Origin)
			}
			return nil
		}
	}
	return checks, nil
}

// IsLink reports whether data is a link entry (the first entry of an era after the first), and
// returns the root of the previous era's final checkpoint it names.
func IsLink(data []byte) (tlog.Hash, bool) {
	e, err := ParseEntry(data)
	if err != nil || e.Kind != KindRotation || e.Reason != ReasonLogLink || len(e.Record) != tlog.HashSize {
		return tlog.Hash{}, false
	}
	return tlog.Hash(e.Record), true
}
