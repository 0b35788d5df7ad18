package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/policy/policytest"
)

// fieldQuery selects one field of a citizen: the value and, for a sensitive field, the commitment.
func fieldQuery(field, purpose string) string {
	ds, f, _ := strings.Cut(field, ".")
	sel := f
	if s, _ := dataset.Sensitive(field); s {
		sel = f + " { value commitment { point } }"
	}
	return fmt.Sprintf(`query($id: ID!) { citizen(id: $id, purpose: %q) { %s { %s } } }`, purpose, ds, sel)
}

// The authorization matrix of package policy's tests, run end to end through the GraphQL handler:
// each (department, role, field, purpose) is asked for by a token of that principal, and the access
// entry records the level the matrix wants (and a denied field comes back FORBIDDEN).
func TestAuthorizationMatrixThroughGraphQL(t *testing.T) {
	for _, m := range policytest.Matrices() {
		t.Run(m.Name, func(t *testing.T) {
			dir := t.TempDir()
			set := m.Set
			set.Version = 1
			if err := policy.WriteDir(dir+"/policy", set); err != nil {
				t.Fatal(err)
			}
			h := &testHub{t: t, dir: dir, gen: demo.NewGenerator(testSeed)}
			h.open()
			if err := seedDemo(t.Context(), h.app, 45, testSeed); err != nil {
				t.Fatal(err)
			}
			c := h.findCitizen(45, "identity", "marriage", "property", "socialInsurance", "tax", "health")
			tokens := map[string]string{}
			skipped := 0
			for _, tc := range m.Cases {
				key := tc.Department + "/" + tc.Role
				p := auth.Principal{Kind: auth.KindDepartment, Department: tc.Department, Role: tc.Role, Subject: "u-1"}
				if _, known := dataset.Sensitive(tc.Field); p.Validate() != nil || !known {
					skipped++ // no token can name the principal, or the schema has no such field
					continue
				}
				if tokens[key] == "" {
					tokens[key] = h.token(p)
				}
				res := h.query(tokens[key], fieldQuery(tc.Field, tc.Purpose), map[string]any{"id": c.ID})
				e, _ := h.receiptEntryOrLast(res)
				got := ""
				for _, f := range e.Fields {
					if f.Name == tc.Field {
						got = f.Level
					}
				}
				want := tc.Want
				if want == policy.Prove {
					want = policy.Commit // the query asks no predicate: the commitment is all it gets
				}
				if got != want.String() {
					t.Errorf("%s: the entry records %q, want %s", tc, got, want)
				}
				// The response carries what the entry says, no more.
				value, shown, stored := releasedValue(res, c, tc.Field)
				switch {
				case tc.Want == policy.Deny && (shown || len(res.Errors) == 0):
					t.Errorf("%s: denied, but the response shows the field (%v) or has no error (%+v)", tc, shown, res.Errors)
				case tc.Want != policy.Reveal && value != nil:
					t.Errorf("%s: %s, but the response carries the value %v", tc, tc.Want, value)
				case tc.Want == policy.Reveal && stored && value == nil:
					t.Errorf("%s: revealed, but the response has no value: %v %+v", tc, res.Data, res.Errors)
				}
			}
			if ran := len(m.Cases) - skipped; ran < len(m.Cases)/2 {
				t.Errorf("only %d of %d cases ran through GraphQL", ran, len(m.Cases))
			}
			t.Logf("%d cases through GraphQL, %d left to the policy package's tests (no token can name the principal, or no such field)", len(m.Cases)-skipped, skipped)
		})
	}
}

// releasedValue finds field ("dataset.field") in a fieldQuery response: its value in clear (nil if
// none), whether the field is in the response at all (a value or a commitment), and whether c's
// record holds a value for it. A list dataset is looked at in its first item.
func releasedValue(res result, c demo.Citizen, field string) (value any, shown, stored bool) {
	ds, f, _ := strings.Cut(field, ".")
	if items := c.Records[ds]; len(items) > 0 {
		_, stored = items[0][f]
	}
	node := get(res.Data, "citizen", ds)
	if l, ok := node.([]any); ok {
		node = nil
		if len(l) > 0 {
			node = l[0]
		}
	}
	v := get(node, f)
	if sensitive, _ := dataset.Sensitive(field); sensitive {
		return get(v, "value"), v != nil, stored
	}
	return v, v != nil, stored
}
