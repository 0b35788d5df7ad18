package graph

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Sealed accesses (hub/sealed.go): the court order and unseal date of a sealed read, the
// citizen's disclosure, and the officers' early unseals (governance/unseal.go).

// sealRequest is a read's court order and unseal date, or nil when it names neither. A date
// without a court order (or the reverse) is passed on for the hub to refuse, as it refuses a
// sealed purpose without them.
func sealRequest(courtOrder, unsealOn *string) (*hub.SealRequest, error) {
	if courtOrder == nil && unsealOn == nil {
		return nil, nil
	}
	s := &hub.SealRequest{}
	if courtOrder != nil {
		s.CourtOrder = *courtOrder
	}
	if unsealOn != nil {
		d, err := time.Parse(time.DateOnly, *unsealOn)
		if err != nil {
			return nil, fmt.Errorf("%w: unsealOn: %v", hub.ErrInvalid, err)
		}
		s.UnsealOn = d
	}
	return s, nil
}

// sealedPurposes are the sealed purposes a policy change adds.
func sealedPurposes(c policy.Change) []policy.Purpose {
	out := []policy.Purpose{}
	for _, p := range c.AddPurposes {
		if p.Sealed {
			out = append(out, p)
		}
	}
	return out
}

func optUint64(v uint64, ok bool) *int64 {
	if !ok {
		return nil
	}
	i := int64(v)
	return &i
}

func (r *queryResolver) mySealedDisclosure(ctx context.Context, i int64) (*model.SealedDisclosure, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	ix, err := index("index", i)
	if err != nil {
		return nil, err
	}
	if r.Sealed == nil {
		return nil, fmt.Errorf("%w: this hub keeps no sealed accesses", hub.ErrUnavailable)
	}
	d, err := r.Sealed.Disclosure(ctx, p, ix)
	if err != nil {
		return nil, err
	}
	out := &model.SealedDisclosure{Index: int64(d.Index), UnsealOn: d.UnsealOn.Format(time.DateOnly), Unsealed: d.Unsealed,
		UnsealIndex: optUint64(d.UnsealIndex, d.Unsealed)}
	if d.Unsealed {
		out.Details, out.Salt = optString(string(d.Details)), optString(hex.EncodeToString(d.Salt))
	}
	return out, nil
}

func unsealProposalModel(sp store.UnsealProposal) *model.EarlyUnsealProposal {
	m := &model.EarlyUnsealProposal{Index: int64(sp.Index), Reason: sp.Reason, ProposedBy: sp.ProposedBy, Proposed: fmtTime(sp.Proposed),
		ProposalEntry: int64(sp.ProposalEntry), Status: sp.Status}
	if sp.Status != store.UnsealPending {
		d := fmtTime(sp.Decided)
		m.DecidedBy, m.Decided, m.DecisionEntry = optString(sp.DecidedBy), &d, optUint64(sp.DecisionEntry, true)
	}
	m.UnsealEntry = optUint64(sp.UnsealEntry, sp.Status == store.UnsealApproved)
	return m
}

// unseals is the early-unseal workflow, or an error when the hub has none.
func (r *Resolver) unseals() error {
	if r.Unseals == nil {
		return fmt.Errorf("%w: this hub keeps no sealed accesses", hub.ErrUnavailable)
	}
	return nil
}

func (r *mutationResolver) earlyUnseal(ctx context.Context, action string, i int64, reason string) (*model.EarlyUnsealProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	ix, err := index("index", i)
	if err != nil {
		return nil, err
	}
	if err := r.unseals(); err != nil {
		return nil, err
	}
	var sp store.UnsealProposal
	switch action {
	case "propose":
		sp, err = r.Unseals.Propose(ctx, p, ix, reason)
	case "approve":
		sp, err = r.Unseals.Approve(ctx, p, ix)
	default:
		sp, err = r.Unseals.Reject(ctx, p, ix, reason)
	}
	if err != nil {
		return nil, err
	}
	return unsealProposalModel(sp), nil
}

func (r *queryResolver) earlyUnsealProposals(ctx context.Context, status *string) ([]model.EarlyUnsealProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.unseals(); err != nil {
		return nil, err
	}
	st := ""
	if status != nil {
		st = *status
	}
	all, err := r.Unseals.Proposals(ctx, p, st)
	if err != nil {
		return nil, err
	}
	out := make([]model.EarlyUnsealProposal, len(all))
	for i, sp := range all {
		out[i] = *unsealProposalModel(sp)
	}
	return out, nil
}
