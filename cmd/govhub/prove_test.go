package main

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
)

const monthsProofQuery = `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") {
	socialInsurance { contributionMonths { proof(predicate: "atLeast24") { holds proof context commitment { point } } } } } }`

// A predicate grant made through the officers' workflow on the embedded store (proposal with the
// predicate and its prove rule, approval by a second officer) is stored with its version and in
// force: the housing clerk's proof of "at least 24 months" verifies, and a restart keeps it.
func TestPredicateGrantThroughOfficers(t *testing.T) {
	const n = 30
	h := startHub(t, n)
	var id string
	for i := 1; i <= n; i++ {
		c := h.gen.Citizen(i)
		if rs := c.Records["socialInsurance"]; len(rs) > 0 {
			if m, _ := rs[0]["contributionMonths"].(int64); m >= 24 {
				id = c.ID
				break
			}
		}
	}
	if id == "" {
		t.Fatalf("no demo citizen among %d with 24 contribution months", n)
	}
	if r := h.query(h.token(housingClerk), monthsProofQuery, map[string]any{"id": id}); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("a predicate asked before any grant = %v %+v, want FORBIDDEN", r.Data, r.Errors)
	}
	change := map[string]any{
		"addPredicates": []any{map[string]any{"name": "atLeast24", "field": "socialInsurance.contributionMonths", "statement": map[string]any{"kind": "atLeast", "min": 24}}},
		"addRules":      []any{rule("clerk", "housing", "socialInsurance.contributionMonths:atLeast24", "prove", "home-purchase-eligibility", "allow")},
	}
	res := h.query(h.token(officer1), propose, map[string]any{"change": change, "reason": "a shorter contribution record, proven"})
	if len(res.Errors) > 0 {
		t.Fatalf("propose: %+v", res.Errors)
	}
	if r := h.query(h.token(officer2), approve, map[string]any{"id": get(res.Data, "proposePolicyChange", "id")}); len(r.Errors) > 0 {
		t.Fatalf("approve: %+v", r.Errors)
	}
	check := func(when string) {
		t.Helper()
		var r result
		deadline := time.Now().Add(5 * time.Second)
		for {
			r = h.query(h.token(housingClerk), monthsProofQuery, map[string]any{"id": id})
			if len(r.Errors) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(r.Errors) > 0 {
			t.Fatalf("%s: proof: %+v", when, r.Errors)
		}
		p := get(r.Data, "citizen", "socialInsurance", "contributionMonths", "proof")
		if get(p, "holds") != true {
			t.Fatalf("%s: holds = %v", when, get(p, "holds"))
		}
		c, err := commit.ParseCommitment(get(p, "commitment", "point").(string))
		if err != nil {
			t.Fatal(err)
		}
		proof, err := hex.DecodeString(get(p, "proof").(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := rangeproof.Verify(c, rangeproof.AtLeast(24), []byte(get(p, "context").(string)), proof); err != nil {
			t.Errorf("%s: the proof does not verify: %v", when, err)
		}
	}
	check("after the approval")
	h.close()
	h.open()
	check("after a restart")
}
