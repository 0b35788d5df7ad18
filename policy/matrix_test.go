package policy_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/policy/policytest"
)

// TestMatrixMemoryLoader runs the authorization matrix through snapshots
// loaded lazily from the memory loader.
func TestMatrixMemoryLoader(t *testing.T) {
	policytest.RunLoader(t, func(t *testing.T, set policy.Set) policy.Loader { return policy.MemoryLoader(set) })
}

// TestMatrixSet runs the authorization matrix through snapshots built from
// the sets (New), which load from memory as they decide.
//
// With an enforcer limit of 0, every decision goes through the
// whole-partition enforcers; with 2, some do.
func TestMatrixSet(t *testing.T) {
	for _, limit := range []int{policy.DefaultEnforcerLimit, 0, 2} {
		for _, m := range policytest.Matrices() {
			t.Run(fmt.Sprintf("%s/enforcers=%d", m.Name, limit), func(t *testing.T) {
				e, err := policy.New(m.Set, policytest.Config(), policy.WithEnforcerLimit(limit))
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				policytest.Run(t, e.Snapshot(), m)
			})
		}
	}
}

// TestExplainAgreesWithDecide checks Explain against Decide for every
// (department, role, field, purpose) the matrices name, and more: each
// department and role of each policy and an unknown one, every catalogue
// field and a few that are not, every registered purpose and two that are
// not. Explain works the level out from the rules it matched, Decide asks
// Casbin; they must agree, and the rules Explain cites must be the
// policy's.
func TestExplainAgreesWithDecide(t *testing.T) {
	for _, m := range policytest.Matrices() {
		t.Run(m.Name, func(t *testing.T) {
			e, err := policy.New(m.Set, policytest.Config())
			if err != nil {
				t.Fatalf("New = %v", err)
			}
			s := e.Snapshot()
			depts, roles := []string{"nowhere"}, []string{"nobody"}
			for _, r := range m.Set.Rules {
				depts = append(depts, r.Department)
				roles = append(roles, r.Role)
			}
			for _, g := range m.Set.Groupings {
				roles = append(roles, g.Member, g.Role)
			}
			purposes := []string{"*", "unregistered"}
			for _, p := range m.Set.Purposes {
				purposes = append(purposes, p.Code)
			}
			fields := append(policytest.Fields(), "tax.nothing", "tax.*", "*", "tax")
			inSet := make(map[policy.Rule]bool)
			for _, r := range m.Set.Rules {
				inSet[r] = true
			}
			levels := map[policy.Level]int{}
			for _, dept := range compact(depts) {
				for _, role := range compact(roles) {
					sub := policy.Subject{Department: dept, Role: role}
					for _, pur := range purposes {
						for _, f := range fields {
							want := s.Decide(sub, f, pur)
							levels[want]++
							x, err := s.Explain(t.Context(), sub, f, pur)
							if err != nil {
								t.Fatalf("Explain(%v, %q, %q) = %v", sub, f, pur, err)
							}
							if x.Level != want {
								t.Errorf("Explain(%v, %q, %q).Level = %v, Decide says %v (%s)", sub, f, pur, x.Level, want, x.Reason)
							}
							for _, r := range x.Matched {
								if !inSet[r] || r.Department != dept {
									t.Errorf("Explain(%v, %q, %q) cites %v, not a rule of the department", sub, f, pur, r)
								}
							}
						}
					}
				}
			}
			if levels[policy.Reveal] == 0 || levels[policy.Commit] == 0 || levels[policy.Deny] == 0 {
				t.Errorf("levels decided = %v, want all three", levels)
			}
		})
	}
}

func compact(xs []string) []string {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return slices.Compact(xs)
}
