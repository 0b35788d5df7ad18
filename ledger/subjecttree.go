package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// A page subject tree lets a v2 entry that concerns several citizens (a list page) commit to all
// of their subject commitments with one subjects line, without showing how many there were.
//
// The tree is an RFC 6962 Merkle tree of exactly [SubjectTreeLeaves] leaves, each 32 bytes: the
// page's subject commitments (at most [MaxPageSubjects], no two alike) and as many fresh random
// 32-byte fillers as make up the rest, all sorted together in byte order. A leaf's hash is
// SHA-256(0x00 ‖ leaf), an interior node's SHA-256(0x01 ‖ left ‖ right), as in the ledger's own
// tree, so the root is tlog's tree hash of the 128 leaves. A filler is as random as a salted
// commitment, and sorting mixes them, so neither the root, nor a citizen's position, nor the
// sibling hashes on their path tell anyone how many of the leaves are citizens: a page of one and
// a page of a hundred look alike. The citizen proves their membership with their own commitment,
// its position (0 to 127) and the [SubjectPathLen] sibling hashes from the leaf up
// ([CheckSubjectPath]); nobody needs the other citizens' commitments.
const (
	SubjectTreeLeaves = 128
	SubjectPathLen    = 7 // log2(SubjectTreeLeaves)
	MaxPageSubjects   = 100
)

// SubjectTree is a page subject tree built by the hub ([NewSubjectTree]): its root goes into the
// entry's subjects line, and each citizen's path into the proof given to them.
type SubjectTree struct {
	levels [SubjectPathLen + 1][]tlog.Hash // levels[0]: leaf hashes; levels[7]: the root
	leaves [][]byte                        // sorted
}

// NewSubjectTree builds the page subject tree of 1 to [MaxPageSubjects] distinct 32-byte subject
// commitments, reading the fillers from fill (crypto/rand.Reader in the hub). It fails if fill
// fails or repeats itself (a filler equal to another leaf).
func NewSubjectTree(commitments [][]byte, fill io.Reader) (*SubjectTree, error) {
	if len(commitments) == 0 || len(commitments) > MaxPageSubjects {
		return nil, fmt.Errorf("ledger: a page subject tree holds 1 to %d commitments, not %d", MaxPageSubjects, len(commitments))
	}
	leaves := make([][]byte, 0, SubjectTreeLeaves)
	for _, c := range commitments {
		if len(c) != 32 {
			return nil, fmt.Errorf("ledger: subject commitment has %d bytes, want 32", len(c))
		}
		leaves = append(leaves, slices.Clone(c))
	}
	fillers := make([]byte, 32*(SubjectTreeLeaves-len(commitments)))
	if _, err := io.ReadFull(fill, fillers); err != nil {
		return nil, fmt.Errorf("ledger: reading subject tree fillers: %w", err)
	}
	for i := 0; i < len(fillers); i += 32 {
		leaves = append(leaves, fillers[i:i+32])
	}
	slices.SortFunc(leaves, bytes.Compare)
	for i := 1; i < len(leaves); i++ {
		if bytes.Equal(leaves[i], leaves[i-1]) {
			return nil, errors.New("ledger: two leaves of a page subject tree are alike (a repeated commitment, or fillers that are not random)")
		}
	}
	t := &SubjectTree{leaves: leaves}
	t.levels[0] = make([]tlog.Hash, SubjectTreeLeaves)
	for i, l := range leaves {
		t.levels[0][i] = tlog.RecordHash(l)
	}
	for h := 1; h <= SubjectPathLen; h++ {
		below := t.levels[h-1]
		t.levels[h] = make([]tlog.Hash, len(below)/2)
		for i := range t.levels[h] {
			t.levels[h][i] = tlog.NodeHash(below[2*i], below[2*i+1])
		}
	}
	return t, nil
}

// Root returns the tree's root hash, what the entry's subjects line carries.
func (t *SubjectTree) Root() tlog.Hash { return t.levels[SubjectPathLen][0] }

// Path returns the position of commitment among the tree's leaves and its inclusion path: the
// [SubjectPathLen] sibling hashes from the leaf's sibling up to the root's children. ok is false
// if commitment is not one of the tree's leaves.
func (t *SubjectTree) Path(commitment []byte) (position int, path []tlog.Hash, ok bool) {
	position, ok = slices.BinarySearchFunc(t.leaves, commitment, bytes.Compare)
	if !ok {
		return 0, nil, false
	}
	for h, i := 0, position; h < SubjectPathLen; h, i = h+1, i/2 {
		path = append(path, t.levels[h][i^1])
	}
	return position, path, true
}

// CheckSubjectPath verifies that commitment is the leaf at position of the page subject tree
// whose root is root, by path (leaf's sibling first). An error wraps [ErrInvalidProof].
func CheckSubjectPath(root tlog.Hash, commitment []byte, position int, path []tlog.Hash) error {
	if len(commitment) != 32 {
		return fmt.Errorf("%w: subject commitment has %d bytes, want 32", ErrInvalidProof, len(commitment))
	}
	if position < 0 || position >= SubjectTreeLeaves {
		return fmt.Errorf("%w: position %d is not from 0 to %d", ErrInvalidProof, position, SubjectTreeLeaves-1)
	}
	if len(path) != SubjectPathLen {
		return fmt.Errorf("%w: a subject path has %d hashes, not %d", ErrInvalidProof, SubjectPathLen, len(path))
	}
	if err := tlog.CheckRecord(path, SubjectTreeLeaves, root, int64(position), tlog.RecordHash(commitment)); err != nil {
		return fmt.Errorf("%w: the subject is not on the page: %v", ErrInvalidProof, err)
	}
	return nil
}
