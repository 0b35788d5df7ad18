package graph

import (
	"context"
	"time"

	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/policy"
)

const timeFormat = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// proposedChange is a PolicyChangeInput (bound to policy.Change) as the hub has always been given
// it: gqlgen makes an explicitly empty list an empty slice, which the stored proposal, and the
// digest of it on the ledger, would encode as [] rather than null. RetirePurposes was always passed
// as given.
func proposedChange(c policy.Change) policy.Change {
	c.AddRules, c.RemoveRules = nilIfEmpty(c.AddRules), nilIfEmpty(c.RemoveRules)
	c.AddGroupings, c.RemoveGroupings = nilIfEmpty(c.AddGroupings), nilIfEmpty(c.RemoveGroupings)
	c.AddPurposes = nilIfEmpty(c.AddPurposes)
	return c
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// proposalModel is a governance.Proposal as the schema shows it. The policy types it holds are bound
// (gqlgen.yml); the proposal itself is converted here because its Go type differs from the schema
// (uint64 indexes shown as Int64, times as text, "" as null, the decision only once decided).
func proposalModel(p governance.Proposal) *model.PolicyProposal {
	out := &model.PolicyProposal{
		ID: p.ID, BaseVersion: int64(p.Base), Reason: p.Reason, ProposedBy: p.ProposedBy, Created: fmtTime(p.Created),
		Status: p.Status, LedgerIndex: int64(p.Entry), Change: &p.Change, Impact: p.Impact, SealedPurposes: sealedPurposes(p.Change),
		CertificateImpact: p.CertificateImpact,
	}
	if p.Status != "pending" {
		out.DecidedBy, out.DecisionReason = optString(p.DecidedBy), optString(p.DecisionReason)
		d := fmtTime(p.Decided)
		out.Decided = &d
		idx := int64(p.DecisionEntry)
		out.DecisionLedgerIndex = &idx
		if p.Version > 0 {
			v := int64(p.Version)
			out.Version = &v
		}
	}
	return out
}

func (r *mutationResolver) proposePolicyChange(ctx context.Context, change policy.Change, reason string) (*model.PolicyProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prop, err := r.Officers.ProposePolicyChange(ctx, p, proposedChange(change), reason)
	if err != nil {
		return nil, err
	}
	return proposalModel(prop), nil
}

func (r *queryResolver) policyChangePreview(ctx context.Context, change policy.Change) (*model.PolicyChangePreview, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	base, impact, err := r.Officers.PreviewPolicyChange(ctx, p, proposedChange(change))
	if err != nil {
		return nil, err
	}
	return &model.PolicyChangePreview{BaseVersion: int64(base), Impact: impact, SealedPurposes: sealedPurposes(change)}, nil
}

func (r *mutationResolver) approvePolicyChange(ctx context.Context, id string) (*model.PolicyProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prop, err := r.Officers.ApprovePolicyChange(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return proposalModel(prop), nil
}

func (r *mutationResolver) rejectPolicyChange(ctx context.Context, id, reason string) (*model.PolicyProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prop, err := r.Officers.RejectPolicyChange(ctx, p, id, reason)
	if err != nil {
		return nil, err
	}
	return proposalModel(prop), nil
}

func (r *queryResolver) policyVersion(ctx context.Context) (*policy.VersionInfo, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := r.Officers.PolicyInForce(ctx, p)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (r *queryResolver) policyVersions(ctx context.Context) ([]policy.VersionInfo, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := r.Officers.PolicyVersions(ctx, p)
	if err != nil {
		return nil, err
	}
	return vs, nil
}

func (r *queryResolver) policyRules(ctx context.Context, version *int64) ([]policy.Rule, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := optIndex("version", version)
	if err != nil {
		return nil, err
	}
	set, err := r.Officers.PolicyRules(ctx, p, v)
	if err != nil {
		return nil, err
	}
	return set.Rules, nil
}

func (r *queryResolver) policyGroupings(ctx context.Context) ([]policy.Grouping, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	set, err := r.Officers.PolicyRules(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	return set.Groupings, nil
}

func (r *queryResolver) policyProposals(ctx context.Context, status *string) ([]model.PolicyProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	st := ""
	if status != nil {
		st = *status
	}
	ps, err := r.Officers.PolicyProposals(ctx, p, st)
	if err != nil {
		return nil, err
	}
	out := make([]model.PolicyProposal, len(ps))
	for i, pp := range ps {
		out[i] = *proposalModel(pp)
	}
	return out, nil
}

func (r *queryResolver) explainAccess(ctx context.Context, department, role, field, purpose string) (*model.AccessExplanation, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, version, err := r.Officers.ExplainAccess(ctx, p, policy.Subject{Department: department, Role: role}, field, purpose)
	if err != nil {
		return nil, err
	}
	return &model.AccessExplanation{Level: e.Level.String(), Matched: e.Matched, Reason: e.Reason, PolicyVersion: int64(version)}, nil
}
