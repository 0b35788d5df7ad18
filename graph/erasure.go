package graph

import (
	"context"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/store"
)

// erasureModel is an erasure request as the schema shows it ("" as null, indexes as Int64, the
// decision only once decided, the erasure entry only once appended).
func erasureModel(e store.Erasure) *model.ErasureRequest {
	out := &model.ErasureRequest{ID: e.ID, CitizenID: optString(e.Citizen), Basis: e.Basis, Reason: optString(e.Reason),
		Status: e.Status, ProposedBy: e.ProposedBy, Created: fmtTime(e.Created), LedgerIndex: int64(e.Entry)}
	if e.Status != store.ErasurePending {
		out.DecidedBy, out.DecisionReason = optString(e.DecidedBy), optString(e.DecisionReason)
		idx := int64(e.DecisionEntry)
		out.DecisionLedgerIndex = &idx
	}
	if e.HasIndex {
		idx := int64(e.ErasedEntry)
		out.ErasureLedgerIndex = &idx
	}
	return out
}

func (r *mutationResolver) proposeErasure(ctx context.Context, citizen, basis, reason string) (*model.ErasureRequest, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.Erasures.ProposeErasure(ctx, p, citizen, basis, reason)
	if err != nil {
		return nil, err
	}
	return erasureModel(e), nil
}

func (r *mutationResolver) approveErasure(ctx context.Context, id string) (*model.ErasureRequest, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.Erasures.ApproveErasure(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return erasureModel(e), nil
}

func (r *mutationResolver) rejectErasure(ctx context.Context, id, reason string) (*model.ErasureRequest, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.Erasures.RejectErasure(ctx, p, id, reason)
	if err != nil {
		return nil, err
	}
	return erasureModel(e), nil
}

func (r *queryResolver) erasureRequests(ctx context.Context, status *string) ([]model.ErasureRequest, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	st := ""
	if status != nil {
		st = *status
	}
	es, err := r.Erasures.ErasureRequests(ctx, p, st)
	if err != nil {
		return nil, err
	}
	out := make([]model.ErasureRequest, 0, len(es))
	for _, e := range es {
		out = append(out, *erasureModel(e))
	}
	return out, nil
}

func (r *queryResolver) myErasureReceipt(ctx context.Context) (string, error) {
	p, err := principal(ctx)
	if err != nil {
		return "", err
	}
	b, err := r.Erasure.MyErasureReceipt(ctx, p)
	return string(b), err
}
