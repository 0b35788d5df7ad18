package graph

import (
	"context"
	"encoding/hex"
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

func ruleModel(r policy.Rule) model.PolicyRule {
	return model.PolicyRule{Role: r.Role, Department: r.Department, Object: r.Object, Action: string(r.Action),
		Purpose: r.Purpose, Effect: string(r.Effect)}
}

func rulesModel(rs []policy.Rule) []model.PolicyRule {
	out := make([]model.PolicyRule, len(rs))
	for i, r := range rs {
		out[i] = ruleModel(r)
	}
	return out
}

func groupingsModel(gs []policy.Grouping) []model.PolicyGrouping {
	out := make([]model.PolicyGrouping, len(gs))
	for i, g := range gs {
		out[i] = model.PolicyGrouping{Member: g.Member, Role: g.Role, Department: g.Department}
	}
	return out
}

func changeFromInput(in model.PolicyChangeInput) policy.Change {
	var c policy.Change
	rules := func(ins []model.PolicyRuleInput) []policy.Rule {
		var out []policy.Rule
		for _, r := range ins {
			out = append(out, policy.Rule{Role: r.Role, Department: r.Department, Object: r.Object,
				Action: policy.Action(r.Action), Purpose: r.Purpose, Effect: policy.Effect(r.Effect)})
		}
		return out
	}
	groupings := func(ins []model.PolicyGroupingInput) []policy.Grouping {
		var out []policy.Grouping
		for _, g := range ins {
			out = append(out, policy.Grouping{Member: g.Member, Role: g.Role, Department: g.Department})
		}
		return out
	}
	c.AddRules, c.RemoveRules = rules(in.AddRules), rules(in.RemoveRules)
	c.AddGroupings, c.RemoveGroupings = groupings(in.AddGroupings), groupings(in.RemoveGroupings)
	for _, p := range in.AddPurposes {
		c.AddPurposes = append(c.AddPurposes, policy.Purpose{Code: p.Code, TitleZh: p.TitleZh, TitleEn: p.TitleEn, LegalBasis: p.LegalBasis})
	}
	c.RetirePurposes = in.RetirePurposes
	return c
}

func proposalModel(p governance.Proposal) *model.PolicyProposal {
	c := p.Change
	out := &model.PolicyProposal{
		ID: p.ID, BaseVersion: int64(p.Base), Reason: p.Reason, ProposedBy: p.ProposedBy, Created: fmtTime(p.Created),
		Status: p.Status, LedgerIndex: int64(p.Entry), Impact: []model.FieldImpact{},
		Change: &model.PolicyChange{AddRules: rulesModel(c.AddRules), RemoveRules: rulesModel(c.RemoveRules),
			AddGroupings: groupingsModel(c.AddGroupings), RemoveGroupings: groupingsModel(c.RemoveGroupings),
			AddPurposes: []model.Purpose{}, RetirePurposes: append([]string{}, c.RetirePurposes...)},
	}
	for _, pp := range c.AddPurposes {
		out.Change.AddPurposes = append(out.Change.AddPurposes, model.Purpose{Code: pp.Code, TitleZh: pp.TitleZh, TitleEn: pp.TitleEn, LegalBasis: pp.LegalBasis})
	}
	for _, f := range p.Impact {
		out.Impact = append(out.Impact, model.FieldImpact{Department: f.Department, Role: f.Role, Purpose: f.Purpose,
			Field: f.Field, Before: f.Before.String(), After: f.After.String()})
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

func versionModel(v policy.VersionInfo) model.PolicyVersion {
	return model.PolicyVersion{Version: int64(v.Version), Rules: v.Rules, Digest: hex.EncodeToString(v.Digest),
		Created: fmtTime(v.Created), ProposalID: optString(v.ProposalID), ProposedBy: optString(v.ProposedBy),
		ApprovedBy: optString(v.ApprovedBy), Reason: optString(v.Reason)}
}

func (r *mutationResolver) proposePolicyChange(ctx context.Context, in model.PolicyChangeInput, reason string) (*model.PolicyProposal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prop, err := r.Officers.ProposePolicyChange(ctx, p, changeFromInput(in), reason)
	if err != nil {
		return nil, err
	}
	return proposalModel(prop), nil
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

func (r *queryResolver) policyVersion(ctx context.Context) (*model.PolicyVersion, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := r.Officers.PolicyInForce(ctx, p)
	if err != nil {
		return nil, err
	}
	m := versionModel(v)
	return &m, nil
}

func (r *queryResolver) policyVersions(ctx context.Context) ([]model.PolicyVersion, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := r.Officers.PolicyVersions(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]model.PolicyVersion, len(vs))
	for i, v := range vs {
		out[i] = versionModel(v)
	}
	return out, nil
}

func (r *queryResolver) policyRules(ctx context.Context, version *int64) ([]model.PolicyRule, error) {
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
	return rulesModel(set.Rules), nil
}

func (r *queryResolver) policyGroupings(ctx context.Context) ([]model.PolicyGrouping, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	set, err := r.Officers.PolicyRules(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	return groupingsModel(set.Groupings), nil
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
	return &model.AccessExplanation{Level: e.Level.String(), Matched: rulesModel(e.Matched), Reason: e.Reason, PolicyVersion: int64(version)}, nil
}
