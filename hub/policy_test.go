package hub

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store/storetest"
)

func policyEntries(t *testing.T, f *fixture) []ledger.Entry {
	t.Helper()
	var out []ledger.Entry
	for _, e := range f.entries(t) {
		if e.Kind == ledger.KindPolicy {
			out = append(out, e)
		}
	}
	return out
}

func withRule(set policy.Set, r policy.Rule) policy.Set {
	set.Rules = append(slices.Clone(set.Rules), r)
	return set
}

func TestAdoptPolicy(t *testing.T) {
	env := storetest.Embedded(t)
	f := &fixture{env: env, log: newLedger(t, env.Store)}
	ctx := t.Context()
	now := time.Date(2026, 11, 21, 6, 30, 5, 0, time.UTC)
	demo := policy.Demo()
	if demo.Version != 1 {
		t.Fatalf("the demo policy has version %d; this test expects 1", demo.Version)
	}
	changed := withRule(demo, policy.Rule{Role: "clerk", Department: "housing", Object: "identity.gender",
		Action: policy.ActionReveal, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow})
	reordered := demo
	reordered.Rules = slices.Clone(demo.Rules)
	slices.Reverse(reordered.Rules)
	bumpedOnly := demo
	bumpedOnly.Version = 5
	changedAhead := withRule(changed, policy.Rule{Role: "doctor", Department: "health", Object: "identity.name",
		Action: policy.ActionReveal, Purpose: "medical-treatment", Effect: policy.EffectAllow})
	changedAhead.Version = 7

	steps := []struct {
		name        string
		set         policy.Set
		wantVersion uint64
		wantEntry   bool
	}{
		{"first start", demo, 1, true},
		{"same policy again", demo, 1, false},
		{"same rules in another order", reordered, 1, false},
		{"same content, file version bumped", bumpedOnly, 1, false},
		{"changed content, old file version", changed, 2, true},
		{"changed again, file version ahead", changedAhead, 7, true},
		{"back to the first content", demo, 8, true},
		{"and again", demo, 8, false},
	}
	for _, s := range steps {
		before := policyEntries(t, f)
		got, err := AdoptPolicy(ctx, env.Store, f.log, s.set, now)
		if err != nil {
			t.Fatalf("%s: AdoptPolicy = %v", s.name, err)
		}
		if got.Version != s.wantVersion {
			t.Errorf("%s: AdoptPolicy version = %d, want %d", s.name, got.Version, s.wantVersion)
		}
		after := policyEntries(t, f)
		if !s.wantEntry {
			if len(after) != len(before) {
				t.Errorf("%s: AdoptPolicy appended %d policy entries, want none", s.name, len(after)-len(before))
			}
			continue
		}
		if len(after) != len(before)+1 {
			t.Fatalf("%s: AdoptPolicy appended %d policy entries, want 1", s.name, len(after)-len(before))
		}
		e := after[len(after)-1]
		digest, err := PolicyDigest(s.set)
		if err != nil {
			t.Fatal(err)
		}
		if e.Policy != s.wantVersion || !bytes.Equal(e.Record, digest) {
			t.Errorf("%s: entry policy %d record %x, want %d and the digest %x", s.name, e.Policy, e.Record, s.wantVersion, digest)
		}
		if e.Department != "hub" || e.Role != "system" || e.Outcome != ledger.OutcomeAllowed || !e.Time.Equal(now) {
			t.Errorf("%s: entry by %s/%s %s at %v, want hub/system allowed at %v", s.name, e.Department, e.Role, e.Outcome, e.Time, now)
		}
		// The version returned is one the engine accepts.
		if _, err := policy.New(got, policy.Config{Sensitive: dataset.Sensitive}); err != nil {
			t.Errorf("%s: policy.New(adopted) = %v", s.name, err)
		}
	}
}

func TestPolicyDigest(t *testing.T) {
	demo := policy.Demo()
	d1, err := PolicyDigest(demo)
	if err != nil {
		t.Fatalf("PolicyDigest = %v", err)
	}
	if len(d1) != 32 {
		t.Fatalf("PolicyDigest = %d bytes, want 32", len(d1))
	}
	other := demo
	other.Version = 9
	if d, _ := PolicyDigest(other); !bytes.Equal(d, d1) {
		t.Errorf("PolicyDigest depends on the version number: %x, want %x", d, d1)
	}
	purposes := demo
	purposes.Purposes = slices.Clone(demo.Purposes)
	purposes.Purposes[0].LegalBasis += " (amended)"
	if d, _ := PolicyDigest(purposes); bytes.Equal(d, d1) {
		t.Errorf("PolicyDigest ignores a changed purpose's legal basis")
	}
	deny := demo
	deny.Rules = slices.Clone(demo.Rules)
	deny.Rules[0].Effect = policy.EffectDeny
	if d, _ := PolicyDigest(deny); bytes.Equal(d, d1) {
		t.Errorf("PolicyDigest ignores a rule's effect")
	}
	noGroups := demo
	noGroups.Groupings = nil
	if d, _ := PolicyDigest(noGroups); bytes.Equal(d, d1) {
		t.Errorf("PolicyDigest ignores the groupings")
	}
}
