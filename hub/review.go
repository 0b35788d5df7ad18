package hub

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

// ErrNotPublished: the entry or tree size asked for is not yet covered by a published checkpoint
// (a checkpoint follows within about a second; retry).
var ErrNotPublished = errors.New("not yet covered by a published checkpoint; retry shortly")

// LedgerReader is what reviewing the ledger needs besides appending.
type LedgerReader interface {
	ProveInclusion(ctx context.Context, index, treeSize uint64) ([]tlog.Hash, error)
	ProveConsistency(ctx context.Context, from, to uint64) ([]tlog.Hash, error)
	Entry(ctx context.Context, index uint64) ([]byte, error)
}

// Publisher is the log's published checkpoint (a ledger.Log): the latest one cosigned by the
// witness quorum, or signed when the log has no witnesses.
type Publisher interface {
	Latest() ledger.Checkpoint
}

// ProofReader is the ledger's read side as reviewing reads it (a ledger.Reader): the latest
// cosigned checkpoint in storage, proofs and entries. ProveInclusion, ProveConsistency and Entry
// fail with an error wrapping ledger.ErrNotIntegrated for what is not yet integrated.
type ProofReader interface {
	LatestCosigned(ctx context.Context) (ledger.Checkpoint, error)
	LedgerReader
}

// Review shows the ledger to citizens, auditors and witnesses' peers: checkpoints, proofs,
// entries and receipts, only against published checkpoints. It is safe for concurrent use.
type Review struct {
	published Publisher
	ledger    ProofReader
}

// NewReview returns a Review of the checkpoints pub publishes and the proofs rd reads (a
// ledger.Log and its Reader).
func NewReview(pub Publisher, rd ProofReader) (*Review, error) {
	if pub == nil || rd == nil {
		return nil, errors.New("hub: NewReview needs a ledger and its reader")
	}
	return &Review{published: pub, ledger: rd}, nil
}

func ledgerErr(err error) error {
	if errors.Is(err, ledger.ErrNotIntegrated) {
		return fmt.Errorf("%w: %v", ErrNotPublished, err)
	}
	return err
}

// Checkpoint returns the latest published checkpoint (log-signed, cosigned by the witness quorum).
func (rv *Review) Checkpoint() ledger.Checkpoint { return rv.published.Latest() }

// InclusionProof proves entry index in the tree of size treeSize (0: the latest published
// checkpoint's), returning the proof and the tree size it is for.
func (rv *Review) InclusionProof(ctx context.Context, index, treeSize uint64) ([]tlog.Hash, uint64, error) {
	cp := rv.published.Latest()
	if treeSize == 0 {
		treeSize = cp.Size
	}
	if treeSize > cp.Size || index >= treeSize {
		return nil, 0, fmt.Errorf("%w: entry %d in a tree of %d, published size %d", ErrNotPublished, index, treeSize, cp.Size)
	}
	p, err := rv.ledger.ProveInclusion(ctx, index, treeSize)
	return p, treeSize, ledgerErr(err)
}

// ConsistencyProof proves the tree of size from a prefix of the tree of size to (0: the latest
// published checkpoint's), returning the proof and the size it is for.
func (rv *Review) ConsistencyProof(ctx context.Context, from, to uint64) ([]tlog.Hash, uint64, error) {
	cp := rv.published.Latest()
	if to == 0 {
		to = cp.Size
	}
	if to > cp.Size {
		return nil, 0, fmt.Errorf("%w: tree size %d, published size %d", ErrNotPublished, to, cp.Size)
	}
	if from > to {
		return nil, 0, fmt.Errorf("%w: no consistency proof from %d down to %d", ErrInvalid, from, to)
	}
	p, err := rv.ledger.ProveConsistency(ctx, from, to)
	return p, to, ledgerErr(err)
}

// LedgerEntry returns an entry, decoded, for auditors.
func (rv *Review) LedgerEntry(ctx context.Context, p auth.Principal, index uint64) (ledger.Entry, []byte, error) {
	if p.Kind != auth.KindAuditor {
		return ledger.Entry{}, nil, fmt.Errorf("%w: ledger entries are for auditors", ErrForbidden)
	}
	if index >= rv.published.Latest().Size {
		return ledger.Entry{}, nil, fmt.Errorf("%w: entry %d", ErrNotPublished, index)
	}
	raw, err := rv.ledger.Entry(ctx, index)
	if err != nil {
		return ledger.Entry{}, nil, ledgerErr(err)
	}
	e, err := ledger.ParseEntry(raw)
	return e, raw, err
}

// Receipt returns the C2SP tlog-proof of an entry against the latest published checkpoint, with the
// entry's bytes as extra data, so that it verifies offline. For auditors.
func (rv *Review) Receipt(ctx context.Context, p auth.Principal, index uint64) (ledger.Proof, error) {
	if p.Kind != auth.KindAuditor {
		return ledger.Proof{}, fmt.Errorf("%w: receipts of arbitrary entries are for auditors", ErrForbidden)
	}
	return ReceiptOf(ctx, rv.published, rv.ledger, index)
}

// ReceiptOf builds the tlog-proof of entry index against lg's latest published checkpoint, or the
// latest cosigned one when that covers the entry (for tools that open the log without its witnesses).
func ReceiptOf(ctx context.Context, pub Publisher, lg ProofReader, index uint64) (ledger.Proof, error) {
	cp := pub.Latest()
	if cc, err := lg.LatestCosigned(ctx); err == nil && cc.Size > index {
		cp = cc
	} else if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return ledger.Proof{}, err
	}
	if index >= cp.Size {
		return ledger.Proof{}, fmt.Errorf("%w: entry %d, published size %d", ErrNotPublished, index, cp.Size)
	}
	raw, err := lg.Entry(ctx, index)
	if err != nil {
		return ledger.Proof{}, ledgerErr(err)
	}
	proof, err := lg.ProveInclusion(ctx, index, cp.Size)
	if err != nil {
		return ledger.Proof{}, ledgerErr(err)
	}
	return ledger.Proof{Extra: raw, Index: index, Hashes: proof, Checkpoint: cp.Note}, nil
}
