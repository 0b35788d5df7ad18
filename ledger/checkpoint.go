package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrInvalidSignature reports a checkpoint or receipt that does not verify under the log's key.
var ErrInvalidSignature = errors.New("ledger: invalid signature")

// Checkpoint is a signed tree head in the C2SP tlog-checkpoint format: a signed note whose text is
// three lines, origin, tree size in decimal, and the base64 RFC 6962 root hash, e.g.
//
//	govhub.example/ledger
//	4
//	9J3xRyk9z7E7j7gD9o0X0c5wX0fI2eDZ0n2mFq4aQ0Y=
//
//	— govhub.example/ledger Az3grmdE3Ee8i5tsbVmRUfQZ3+cJ7V5u0E8XhLw8k7wq…
//
// The origin is the name of the log's note key.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
	// Note is the whole signed note, with every signature it carries.
	Note []byte
}

// SignCheckpoint signs a checkpoint of the tree (size, root) with the log key s.
func SignCheckpoint(s note.Signer, size uint64, root tlog.Hash) (Checkpoint, error) {
	body := log.Checkpoint{Origin: s.Name(), Size: size, Hash: root[:]}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("signing checkpoint of size %d: %w", size, err)
	}
	return Checkpoint{Origin: s.Name(), Size: size, Root: root, Note: signed}, nil
}

// ParseCheckpoint verifies a signed checkpoint against the log's verifier key and decodes it.
func ParseCheckpoint(text []byte, v note.Verifier) (Checkpoint, error) {
	cp, _, _, err := log.ParseCheckpoint(text, v.Name(), v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %v", ErrInvalidSignature, err)
	}
	if len(cp.Hash) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint root has %d bytes", ErrInvalidSignature, len(cp.Hash))
	}
	var root tlog.Hash
	copy(root[:], cp.Hash)
	return Checkpoint{Origin: cp.Origin, Size: cp.Size, Root: root, Note: bytes.Clone(text)}, nil
}

// Receipt is the log's signed promise that an entry was durably sequenced at Index: the
// signature, by the log key, over the text
//
//	govhub/receipt/v1
//	<origin>
//	<index, decimal>
//	<base64 RFC 6962 leaf hash>
//
// (each line ending in "\n"). Signature is laid out as a note signature: the 4-byte key hash,
// big-endian, then the 64-byte Ed25519 signature. A later checkpoint with an inclusion proof
// turns the promise into proof.
type Receipt struct {
	Index     uint64
	LeafHash  tlog.Hash
	Signature []byte
}

func receiptText(origin string, index uint64, leaf tlog.Hash) []byte {
	return []byte("govhub/receipt/v1\n" + origin + "\n" + strconv.FormatUint(index, 10) + "\n" +
		base64.StdEncoding.EncodeToString(leaf[:]) + "\n")
}

func signReceipt(s note.Signer, index uint64, leaf tlog.Hash) (Receipt, error) {
	sig, err := s.Sign(receiptText(s.Name(), index, leaf))
	if err != nil {
		return Receipt{}, fmt.Errorf("signing receipt for %d: %w", index, err)
	}
	out := binary.BigEndian.AppendUint32(nil, s.KeyHash())
	return Receipt{Index: index, LeafHash: leaf, Signature: append(out, sig...)}, nil
}

// CheckReceipt verifies r's signature under the log's verifier key.
func CheckReceipt(v note.Verifier, r Receipt) error {
	if len(r.Signature) < 4 || binary.BigEndian.Uint32(r.Signature) != v.KeyHash() {
		return fmt.Errorf("%w: receipt for %d is not signed by %s", ErrInvalidSignature, r.Index, v.Name())
	}
	if !v.Verify(receiptText(v.Name(), r.Index, r.LeafHash), r.Signature[4:]) {
		return fmt.Errorf("%w: receipt for %d", ErrInvalidSignature, r.Index)
	}
	return nil
}

// LeafHash is the RFC 6962 hash of an entry's canonical bytes: SHA-256(0x00 ‖ data).
func LeafHash(data []byte) tlog.Hash { return tlog.RecordHash(data) }
