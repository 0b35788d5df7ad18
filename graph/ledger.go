package graph

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
)

// hashText is a hash as the schema shows it: base64.
func hashText(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func b64(h []tlog.Hash) []string {
	out := make([]string, len(h))
	for i := range h {
		out[i] = base64.StdEncoding.EncodeToString(h[i][:])
	}
	return out
}

// index checks a GraphQL Int64 that names a ledger index or size.
func index(name string, v int64) (uint64, error) {
	if v < 0 {
		return 0, fmt.Errorf("%w: %s must not be negative", hub.ErrInvalid, name)
	}
	return uint64(v), nil
}

// optSize checks an optional tree size: absent means the latest published, and a size is at least
// 1 (0, an empty tree, has no entries to prove and is refused rather than read as "latest").
func optSize(name string, v *int64) (uint64, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 1 {
		return 0, fmt.Errorf("%w: %s must be at least 1 (leave it out for the latest published tree)", hub.ErrInvalid, name)
	}
	return uint64(*v), nil
}

func optIndex(name string, v *int64) (uint64, error) {
	if v == nil {
		return 0, nil
	}
	return index(name, *v)
}

func (r *queryResolver) ledgerCheckpoint(ctx context.Context) (*model.LedgerCheckpoint, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	cp := r.Review.Checkpoint()
	if cp.Note == nil {
		return nil, fmt.Errorf("%w: no checkpoint has been cosigned yet", hub.ErrNotPublished)
	}
	return &model.LedgerCheckpoint{Origin: cp.Origin, Size: int64(cp.Size),
		RootHash: base64.StdEncoding.EncodeToString(cp.Root[:]), Note: string(cp.Note)}, nil
}

func (r *queryResolver) inclusionProof(ctx context.Context, i int64, size *int64) (*model.InclusionProof, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	idx, err := index("index", i)
	if err != nil {
		return nil, err
	}
	ts, err := optSize("treeSize", size)
	if err != nil {
		return nil, err
	}
	p, ts, err := r.Review.InclusionProof(ctx, idx, ts)
	if err != nil {
		return nil, err
	}
	return &model.InclusionProof{Index: i, TreeSize: int64(ts), Hashes: b64(p)}, nil
}

func (r *queryResolver) consistencyProof(ctx context.Context, f int64, t *int64) (*model.ConsistencyProof, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	from, err := index("from", f)
	if err != nil {
		return nil, err
	}
	to, err := optSize("to", t)
	if err != nil {
		return nil, err
	}
	p, to, err := r.Review.ConsistencyProof(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return &model.ConsistencyProof{From: f, To: int64(to), Hashes: b64(p)}, nil
}

func (r *queryResolver) ledgerEntry(ctx context.Context, i int64) (*model.LedgerEntry, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	idx, err := index("index", i)
	if err != nil {
		return nil, err
	}
	e, raw, err := r.Review.LedgerEntry(ctx, p, idx)
	if err != nil {
		return nil, err
	}
	optHex := func(b []byte) *string {
		if b == nil {
			return nil
		}
		s := hex.EncodeToString(b)
		return &s
	}
	lh := tlog.RecordHash(raw)
	out := &model.LedgerEntry{
		Index: i, LeafHash: base64.StdEncoding.EncodeToString(lh[:]), Kind: string(e.Kind),
		Time: fmtTime(e.Time), Department: e.Department, Role: e.Role,
		Purpose: optString(e.Purpose), PolicyVersion: int64(e.Policy), RequestDigest: optHex(e.Request),
		Outcome: string(e.Outcome), Reason: optString(e.Reason), Dataset: optString(e.Dataset), RecordDigest: optHex(e.Record),
		Subjects: []string{}, Fields: []model.LedgerField{}, Raw: string(raw),
	}
	if e.Dataset != "" {
		b := int64(e.Base)
		out.BaseVersion = &b
	}
	for _, s := range e.Subjects {
		out.Subjects = append(out.Subjects, hex.EncodeToString(s))
	}
	for _, f := range e.Fields {
		out.Fields = append(out.Fields, model.LedgerField{Name: f.Name, Level: f.Level, Commitment: optString(f.Commitment),
			Proved: append([]string{}, f.Proved...), Refused: append([]string{}, f.Refused...)})
	}
	return out, nil
}

func (r *queryResolver) ledgerReceipt(ctx context.Context, i int64) (string, error) {
	p, err := principal(ctx)
	if err != nil {
		return "", err
	}
	idx, err := index("index", i)
	if err != nil {
		return "", err
	}
	proof, err := r.Review.Receipt(ctx, p, idx)
	if err != nil {
		return "", err
	}
	return string(proof.Marshal()), nil
}
