package governance

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

type nopLedger struct{}

func (nopLedger) Append(context.Context, ledger.Entry) (ledger.Receipt, error) {
	return ledger.Receipt{}, nil
}

type nopProposals struct{}

func (nopProposals) AddProposal(context.Context, store.Proposal) error { return nil }
func (nopProposals) Proposal(context.Context, string) (store.Proposal, error) {
	return store.Proposal{}, store.ErrNotFound
}
func (nopProposals) Proposals(context.Context, string) ([]store.Proposal, error) { return nil, nil }
func (nopProposals) DecideProposal(context.Context, store.Proposal) error        { return nil }

type nopVersions struct{}

func (nopVersions) SaveVersion(context.Context, policy.VersionInfo, []policy.Rule) error { return nil }
func (nopVersions) LatestVersion(context.Context, uint64) (uint64, error)                { return 0, nil }
func (nopVersions) VersionInfo(context.Context, uint64) (policy.VersionInfo, error) {
	return policy.VersionInfo{}, policy.ErrNotFound
}
func (nopVersions) AllRules(context.Context, uint64) ([]policy.Rule, error) {
	return nil, policy.ErrNotFound
}

func TestNewChecksConfig(t *testing.T) {
	engine, err := policy.New(policy.Demo(), policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	loader := policy.MemoryLoader(policy.Demo())
	if _, err := NewFollower(nil, nopVersions{}, loader); err == nil {
		t.Error("NewFollower(no engine) = nil error, want one")
	}
	if _, err := NewFollower(engine, nil, loader); err == nil {
		t.Error("NewFollower(no versions) = nil error, want one")
	}
	if _, err := NewFollower(engine, nopVersions{}, nil); err == nil {
		t.Error("NewFollower(no loader) = nil error, want one")
	}
	f, err := NewFollower(engine, nopVersions{}, loader)
	if err != nil {
		t.Fatalf("NewFollower = %v", err)
	}
	good := Config{Policy: engine, Versions: nopVersions{}, Proposals: nopProposals{}, Ledger: nopLedger{}, Follower: f,
		Officials: testOfficials(t)}
	tests := []struct {
		name   string
		change func(c *Config)
		ok     bool
	}{
		{"complete", func(c *Config) {}, true},
		{"no policy", func(c *Config) { c.Policy = nil }, false},
		{"no versions", func(c *Config) { c.Versions = nil }, false},
		{"no proposals", func(c *Config) { c.Proposals = nil }, false},
		{"no ledger", func(c *Config) { c.Ledger = nil }, false},
		{"no follower", func(c *Config) { c.Follower = nil }, false},
		{"no officials", func(c *Config) { c.Officials = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			_, err := New(c)
			if (err == nil) != tt.ok {
				t.Errorf("New(%s) = %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestGuards(t *testing.T) {
	engine, err := policy.New(policy.Demo(), policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFollower(engine, nopVersions{}, policy.MemoryLoader(policy.Demo()))
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{Policy: engine, Versions: nopVersions{}, Proposals: nopProposals{}, Ledger: nopLedger{}, Follower: f,
		Officials: testOfficials(t)})
	if err != nil {
		t.Fatal(err)
	}
	officer := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	clerk := auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "t1"}
	auditor := auth.Principal{Kind: auth.KindAuditor, Subject: "a1"}
	citizen := auth.Principal{Kind: auth.KindCitizen, Subject: "C100001"}
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"a clerk proposing", func() error { _, err := o.ProposePolicyChange(ctx, clerk, policy.Change{}, "why"); return err }, ErrOfficersOnly},
		{"an officer without subject proposing", func() error {
			_, err := o.ProposePolicyChange(ctx, auth.Principal{Kind: auth.KindOfficer}, policy.Change{}, "why")
			return err
		}, ErrOfficersOnly},
		{"a proposal without reason", func() error { _, err := o.ProposePolicyChange(ctx, officer, policy.Change{}, "  "); return err }, ErrInvalid},
		{"a clerk previewing", func() error { _, _, err := o.PreviewPolicyChange(ctx, clerk, policy.Change{}); return err }, ErrOfficersOnly},
		{"an auditor previewing", func() error { _, _, err := o.PreviewPolicyChange(ctx, auditor, policy.Change{}); return err }, ErrOfficersOnly},
		{"an auditor approving", func() error { _, err := o.ApprovePolicyChange(ctx, auditor, "x"); return err }, ErrOfficersOnly},
		{"approving no proposal", func() error { _, err := o.ApprovePolicyChange(ctx, officer, "x"); return err }, ErrInvalid},
		{"rejecting without reason", func() error { _, err := o.RejectPolicyChange(ctx, officer, "x", ""); return err }, ErrInvalid},
		{"rejecting no proposal", func() error { _, err := o.RejectPolicyChange(ctx, officer, "x", "no"); return err }, ErrInvalid},
		{"a citizen reading proposals", func() error { _, err := o.PolicyProposals(ctx, citizen, ""); return err }, ErrOfficersOnly},
		{"a clerk reading versions", func() error { _, err := o.PolicyVersions(ctx, clerk); return err }, ErrOfficersOnly},
		{"a clerk reading the rules", func() error { _, err := o.PolicyRules(ctx, clerk, 0); return err }, ErrOfficersOnly},
		{"explaining a field not in the catalog", func() error {
			_, _, err := o.ExplainAccess(ctx, auditor, policy.Subject{Department: "tax", Role: "clerk"}, "tax.salary", "tax-administration")
			return err
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("%s = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
	if !errors.Is(ErrSelfApproval, ErrForbidden) || !errors.Is(ErrOfficersOnly, ErrForbidden) {
		t.Error("ErrSelfApproval and ErrOfficersOnly must wrap ErrForbidden")
	}
}

// officialsDir is an officials directory in memory, for the guard tests (the store's is covered by
// storetest).
type officialsDir struct{ m sync.Map }

func (d *officialsDir) AddOfficial(_ context.Context, o store.Official) error {
	d.m.LoadOrStore(o.Pseudonym, o)
	return nil
}

func testOfficials(t *testing.T) *usecase.Officials {
	o, err := usecase.NewOfficials(bytes.Repeat([]byte{2}, 32), &officialsDir{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// demoVersions holds the demo policy as its only stored version.
type demoVersions struct{ set policy.Set }

func (v demoVersions) SaveVersion(context.Context, policy.VersionInfo, []policy.Rule) error {
	return errors.New("a preview saved a policy version")
}
func (v demoVersions) LatestVersion(context.Context, uint64) (uint64, error) {
	return v.set.Version, nil
}
func (v demoVersions) VersionInfo(_ context.Context, version uint64) (policy.VersionInfo, error) {
	if version != v.set.Version {
		return policy.VersionInfo{}, policy.ErrNotFound
	}
	return v.set.Info()
}
func (v demoVersions) AllRules(_ context.Context, version uint64) ([]policy.Rule, error) {
	if version != v.set.Version {
		return nil, policy.ErrNotFound
	}
	return v.set.Rules, nil
}

// writesLedger and writesProposals fail the test on any write.
type writesLedger struct{ t *testing.T }

func (l writesLedger) Append(context.Context, ledger.Entry) (ledger.Receipt, error) {
	l.t.Error("a preview appended to the ledger")
	return ledger.Receipt{}, errors.New("no writes")
}

type writesProposals struct {
	nopProposals
	t *testing.T
}

func (p writesProposals) AddProposal(context.Context, store.Proposal) error {
	p.t.Error("a preview stored a proposal")
	return errors.New("no writes")
}

// A preview computes the impact against the version in force and writes nothing.
func TestPreviewPolicyChange(t *testing.T) {
	demo := policy.Demo()
	engine, err := policy.New(demo, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	versions := demoVersions{set: demo}
	f, err := NewFollower(engine, versions, policy.MemoryLoader(demo))
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{Policy: engine, Versions: versions, Proposals: writesProposals{t: t}, Ledger: writesLedger{t: t}, Follower: f,
		Officials: testOfficials(t)})
	if err != nil {
		t.Fatal(err)
	}
	officer := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	ctx := t.Context()

	c := policy.Change{AddRules: []policy.Rule{{Role: "clerk", Department: "housing", Object: "identity.birthDate",
		Action: policy.ActionCommit, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow}}}
	base, impact, err := o.PreviewPolicyChange(ctx, officer, c)
	if err != nil {
		t.Fatalf("PreviewPolicyChange = %v", err)
	}
	if base != demo.Version {
		t.Errorf("PreviewPolicyChange base = %d, want %d", base, demo.Version)
	}
	want := policy.FieldChange{Department: "housing", Role: "clerk", Purpose: "home-purchase-eligibility", Field: "identity.birthDate",
		Before: policy.Deny, After: policy.Commit}
	found := false
	for _, fc := range impact {
		found = found || fc == want
	}
	if !found {
		t.Errorf("PreviewPolicyChange impact = %+v, want it to hold %+v", impact, want)
	}

	bad := policy.Change{AddRules: []policy.Rule{{Role: "clerk", Department: "housing", Object: "tax.salary",
		Action: policy.ActionReveal, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow}}}
	if _, _, err := o.PreviewPolicyChange(ctx, officer, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("PreviewPolicyChange(unknown field) = %v, want %v", err, ErrInvalid)
	}
}

// The proposer is (issuer, canonical subject): the same name in any case from the same issuer may
// not approve; the same name from another identity provider is another officer; a proposal stored
// without its issuer compares subjects alone.
func TestSameProposer(t *testing.T) {
	officer := func(issuer, subject string) auth.Principal {
		return auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: subject, Issuer: issuer}
	}
	for _, tc := range []struct {
		stored   store.Proposal
		approver auth.Principal
		same     bool
	}{
		{store.Proposal{ProposedBy: "officer-1", ProposerIssuer: "govhub"}, officer("govhub", "officer-1"), true},
		{store.Proposal{ProposedBy: "officer-1", ProposerIssuer: "govhub"}, officer("govhub", "OFFICER-1"), true},
		{store.Proposal{ProposedBy: "officer-1", ProposerIssuer: "govhub"}, officer("https://idp.example", "officer-1"), false},
		{store.Proposal{ProposedBy: "officer-1", ProposerIssuer: "govhub"}, officer("govhub", "officer-2"), false},
		{store.Proposal{ProposedBy: "officer-1"}, officer("https://idp.example", "Officer-1"), true},
	} {
		if got := sameProposer(tc.stored, tc.approver); got != tc.same {
			t.Errorf("sameProposer(%s from %q, %s from %q) = %v, want %v", tc.stored.ProposedBy, tc.stored.ProposerIssuer,
				tc.approver.Subject, tc.approver.Issuer, got, tc.same)
		}
	}
}
