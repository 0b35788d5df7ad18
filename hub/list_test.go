package hub

import (
	"errors"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

// Listing is guarded by the list permission on every dataset a page touches; a page that touches
// none (only ids selected, no filter) still enumerates citizens and is refused and logged too.
func TestListCitizensGuard(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	f.newCitizen(t, citizenB)

	res, err := f.reader.ListCitizens(ctx, policeClerk, ListRequest{Purpose: "identity-verification", First: 10,
		Fields: map[string]Want{"identity.name": WantValue}})
	if err != nil {
		t.Fatalf("ListCitizens(police, identity.name) = %v", err)
	}
	if len(res.Citizens) != 2 || res.Citizens[0].ID != citizenA || res.Citizens[1].ID != citizenB {
		t.Fatalf("ListCitizens(police) = %d citizens, want %s and %s", len(res.Citizens), citizenA, citizenB)
	}
	if e := f.entry(t, res.Receipt.Index); len(e.Subjects) != 0 || len(e.SubjectRoot) != 32 || e.Outcome != ledger.OutcomeAllowed {
		t.Errorf("page entry = %s with %d subjects and root %x, want allowed with a subject tree root alone", e.Outcome, len(e.Subjects), e.SubjectRoot)
	}
	f.checkIndexed(t, citizenA, res.Receipt.Index)
	f.checkIndexed(t, citizenB, res.Receipt.Index)

	tests := []struct {
		name   string
		p      auth.Principal
		fields map[string]Want
		reason string
	}{
		{"no field selected", policeClerk, nil, "no-list-permission"},
		{"no field selected, a citizen", auth.Principal{Kind: auth.KindCitizen, Subject: citizenA}, nil, "no-list-permission"},
		{"no field selected, an auditor", auth.Principal{Kind: auth.KindAuditor, Subject: "a1"}, map[string]Want{}, "no-list-permission"},
		{"a citizen selecting a field", auth.Principal{Kind: auth.KindCitizen, Subject: citizenA},
			map[string]Want{"identity.name": WantValue}, "no-list-permission"},
		{"a dataset it may not list", policeClerk, map[string]Want{"tax.year": WantValue}, "no-list-permission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.entries(t))
			res, err := f.reader.ListCitizens(ctx, tt.p, ListRequest{Purpose: "identity-verification", First: 10, Fields: tt.fields})
			if !errors.Is(err, ErrForbidden) || res != nil {
				t.Fatalf("ListCitizens = %+v, %v, want nil, ErrForbidden", res, err)
			}
			all := f.entries(t)
			if len(all) != before+1 {
				t.Fatalf("the refusal appended %d entries, want 1", len(all)-before)
			}
			if e := all[len(all)-1]; e.Outcome != ledger.OutcomeDenied || e.Reason != tt.reason || len(e.Subjects) != 0 {
				t.Errorf("refusal entry = %s %q with %d subjects, want denied %q naming nobody", e.Outcome, e.Reason, len(e.Subjects), tt.reason)
			}
		})
	}
}
