package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrInvalidProof: a proof does not verify.
var ErrInvalidProof = errors.New("ledger: invalid proof")

// CheckInclusion verifies that leafHash is entry index of the tree the checkpoint signs.
func CheckInclusion(proof []tlog.Hash, cp Checkpoint, index uint64, leafHash tlog.Hash) error {
	if index >= cp.Size {
		return fmt.Errorf("%w: entry %d is not in a tree of size %d", ErrInvalidProof, index, cp.Size)
	}
	if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(index), leafHash); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

// CheckConsistency verifies that the tree of checkpoint old is a prefix of the tree of checkpoint new.
func CheckConsistency(proof []tlog.Hash, old, new Checkpoint) error {
	if old.Size > new.Size {
		return fmt.Errorf("%w: size %d after %d", ErrInvalidProof, new.Size, old.Size)
	}
	if old.Size == new.Size {
		if old.Root != new.Root || len(proof) != 0 {
			return fmt.Errorf("%w: two roots for size %d", ErrInvalidProof, old.Size)
		}
		return nil
	}
	if old.Size == 0 {
		return nil
	}
	if err := tlog.CheckTree(proof, int64(new.Size), new.Root, int64(old.Size), old.Root); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Proof is a C2SP tlog-proof: an entry's index, its inclusion proof, and the (cosigned) checkpoint
// it is proved against, with optional extra data. In GovHub receipts the extra data is the entry's
// canonical bytes, from which the verifier recomputes the leaf hash. The encoding is
//
//	c2sp.org/tlog-proof@v1
//	extra <base64>            (optional)
//	index <decimal>
//	<base64 hash>             (zero or more: the inclusion proof, leaf's sibling first)
//	<empty line>
//	<the checkpoint, verbatim, signatures included>
type Proof struct {
	Extra      []byte
	Index      uint64
	Hashes     []tlog.Hash
	Checkpoint []byte
}

// Marshal encodes p.
func (p Proof) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if len(p.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	b.WriteString("index " + strconv.FormatUint(p.Index, 10) + "\n")
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof decodes a tlog-proof. It checks the syntax only; CheckProof checks the contents.
func ParseProof(data []byte) (Proof, error) {
	var p Proof
	bad := func(format string, args ...any) (Proof, error) {
		return Proof{}, fmt.Errorf("%w: tlog-proof: %s", ErrInvalidProof, fmt.Sprintf(format, args...))
	}
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return bad("no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return bad("first line is not %q", ProofHeader)
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil || len(extra) == 0 {
			return bad("malformed extra line")
		}
		p.Extra = extra
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return bad("no index line")
	}
	s := strings.TrimPrefix(lines[0], "index ")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return bad("index %q is not a canonical decimal", s)
	}
	p.Index = n
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return bad("malformed proof hash %q", l)
		}
		p.Hashes = append(p.Hashes, tlog.Hash(h))
	}
	if len(p.Hashes) > 64 {
		return bad("%d proof hashes", len(p.Hashes))
	}
	p.Checkpoint = cp
	return p, nil
}

// Witness is a witness a verifier trusts: the verifier of its cosignature key.
type Witness = note.Verifier

// CheckProof verifies a tlog-proof offline: the checkpoint is signed by the log key, at least
// quorum of the given witnesses cosigned it, and the inclusion proof binds leafHash at p.Index to
// its root. It returns the checkpoint.
func CheckProof(p Proof, leafHash tlog.Hash, log note.Verifier, witnesses []Witness, quorum int) (Checkpoint, error) {
	cp, err := ParseCheckpoint(p.Checkpoint, log)
	if err != nil {
		return cp, err
	}
	if quorum > 0 {
		if err := CheckCosignatures(p.Checkpoint, log, witnesses, quorum); err != nil {
			return cp, err
		}
	}
	return cp, CheckInclusion(p.Hashes, cp, p.Index, leafHash)
}

// CheckCosignatures verifies that at least quorum of the witnesses cosigned the checkpoint.
func CheckCosignatures(checkpoint []byte, log note.Verifier, witnesses []Witness, quorum int) error {
	vs := append([]note.Verifier{log}, witnesses...)
	n, err := note.Open(checkpoint, note.VerifierList(vs...))
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrInvalidSignature, err)
	}
	seen := map[string]bool{}
	for _, s := range n.Sigs {
		for _, w := range witnesses {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				seen[s.Name+"/"+strconv.FormatUint(uint64(s.Hash), 16)] = true
			}
		}
	}
	if len(seen) < quorum {
		return fmt.Errorf("%w: %d of the trusted witnesses cosigned the checkpoint, the quorum is %d", ErrInvalidSignature, len(seen), quorum)
	}
	return nil
}
