package graph_test

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

const monthsField = "socialInsurance.contributionMonths"

// provingPolicy is the demo policy with a predicate catalogue: housing clerks checking
// home-purchase eligibility may be told whether a citizen has contributed at least 60 months (as
// the demo's grant), and at least 1 month.
func provingPolicy() policy.Set {
	set := policy.Demo() // which grants atLeast60 already
	set.Predicates = append(set.Predicates,
		policy.Predicate{Name: "atLeast1", Field: monthsField, Statement: policy.Statement{Kind: "atLeast", Min: 1}},
		policy.Predicate{Name: "atMost0", Field: monthsField, Statement: policy.Statement{Kind: "atMost", Max: 0}},
	)
	for _, p := range []string{"atLeast1", "atMost0"} {
		set.Rules = append(set.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: policy.ProofObject(monthsField, p),
			Action: policy.ActionProve, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow})
	}
	return set
}

// newProvingHub is a test hub under provingPolicy whose requests carry a request id, as behind
// cmd/govhub's edge.
func newProvingHub(t *testing.T) *testHub {
	t.Helper()
	h := newTestHubWith(t, provingPolicy())
	var n atomic.Int64
	next := h.handler
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := fmt.Sprintf("req-test-%d", n.Add(1))
		next.ServeHTTP(w, r.WithContext(usecase.WithRequestID(r.Context(), id)))
	})
	return h
}

const proofQuery = `query($id: ID!, $p: String!) { citizen(id: $id, purpose: "home-purchase-eligibility") {
	socialInsurance { contributionMonths { commitment { point version } proof(predicate: $p) {
		holds proof context commitment { point version } predicate { name field statement { kind min max } } } } } } }`

func months(c demo.Citizen) int64 {
	v, _ := c.Records["socialInsurance"][0]["contributionMonths"].(int64)
	return v
}

// fieldLine returns the entry's field line of name.
func fieldLine(e ledger.Entry, name string) (ledger.Field, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return ledger.Field{}, false
}

func TestProofGranted(t *testing.T) {
	h := newProvingHub(t)
	c := h.findCitizen(t, "with 60 contribution months or more", func(c demo.Citizen) bool {
		return has("socialInsurance")(c) && months(c) >= 60 && c.Records["socialInsurance"][0]["contributionMonths"] != nil
	})
	r := h.query(t, housingClerk, proofQuery, map[string]any{"id": c.ID, "p": "atLeast60"})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	pr := get(r.Data, "citizen", "socialInsurance", "contributionMonths", "proof")
	if get(pr, "holds") != true || get(pr, "proof") == nil {
		t.Fatalf("proof = %v, want holds with a proof", pr)
	}
	point := get(pr, "commitment", "point").(string)
	if point != get(r.Data, "citizen", "socialInsurance", "contributionMonths", "commitment", "point") {
		t.Errorf("the proof's commitment differs from the field's")
	}
	if get(pr, "predicate", "statement", "kind") != "atLeast" || get(pr, "predicate", "statement", "min") != float64(60) {
		t.Errorf("predicate = %v", get(pr, "predicate"))
	}
	cm, err := commit.ParseCommitment(point)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := hex.DecodeString(get(pr, "proof").(string))
	if err != nil {
		t.Fatal(err)
	}
	ctx := get(pr, "context").(string)
	if err := rangeproof.Verify(cm, rangeproof.AtLeast(60), []byte(ctx), proof); err != nil {
		t.Errorf("rangeproof.Verify = %v", err)
	}
	if err := rangeproof.Verify(cm, rangeproof.AtLeast(60), []byte("req-other"), proof); err == nil {
		t.Errorf("the proof verifies under another request's id")
	}
	if err := rangeproof.Verify(cm, rangeproof.AtLeast(61), []byte(ctx), proof); err == nil {
		t.Errorf("the proof verifies for another threshold")
	}

	e := h.receiptEntry(t, r)
	if e.RequestID != ctx {
		t.Errorf("the entry's request id %q is not the proof's context %q", e.RequestID, ctx)
	}
	f, ok := fieldLine(e, monthsField)
	if !ok || f.Level != "prove" || strings.Join(f.Proved, ",") != "atLeast60" || len(f.Refused) != 0 {
		t.Errorf("field line = %+v, want prove proved:atLeast60", f)
	}
	// Neither the response nor the entry carries the number of months.
	n := strconv.FormatInt(months(c), 10)
	if k := findNumber(r.Data, float64(months(c)), ""); k != "" {
		t.Errorf("the response carries the value %s at %s: %s", n, k, r.Raw)
	}
	raw, err := ledger.FormatEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		toks := strings.Fields(line)
		if len(toks) < 2 {
			continue
		}
		for _, tok := range toks[1:] {
			if tok == n || strings.HasSuffix(tok, ":"+n) {
				t.Errorf("entry line %q carries the value %s", line, n)
			}
		}
	}
	if get(r.Data, "citizen", "socialInsurance", "contributionMonths", "value") != nil {
		t.Errorf("the value was released")
	}
}

func TestProofFalse(t *testing.T) {
	h := newProvingHub(t)
	c := h.findCitizen(t, "with some contribution months", func(c demo.Citizen) bool { return has("socialInsurance")(c) && months(c) > 0 })
	r := h.query(t, housingClerk, proofQuery, map[string]any{"id": c.ID, "p": "atMost0"})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	pr := get(r.Data, "citizen", "socialInsurance", "contributionMonths", "proof")
	if get(pr, "holds") != false || get(pr, "proof") != nil {
		t.Errorf("proof = %v, want holds false and no proof", pr)
	}
	f, _ := fieldLine(h.receiptEntry(t, r), monthsField)
	if f.Level != "prove" || strings.Join(f.Proved, ",") != "atMost0" {
		t.Errorf("field line = %+v, want prove proved:atMost0 (the entry does not say it failed)", f)
	}
}

// TestProofRefused: thresholds outside the catalogue, and predicates not granted (another
// department's, or the purpose's), are FORBIDDEN and logged as refused, one by one: 32 questions
// bisecting the value get 32 refusals and no answer.
func TestProofRefused(t *testing.T) {
	h := newProvingHub(t)
	c := h.findCitizen(t, "with social insurance", has("socialInsurance"))
	for i := range 32 {
		name := fmt.Sprintf("atLeast%d", 1<<i%1000+61+i)
		r := h.query(t, housingClerk, proofQuery, map[string]any{"id": c.ID, "p": name})
		path := []any{"citizen", "socialInsurance", "contributionMonths", "proof"}
		e := r.errorAt(path...)
		if e == nil || e.Extensions["code"] != "FORBIDDEN" {
			t.Fatalf("question %d (%s): error at proof = %+v, want FORBIDDEN (errors %+v)", i, name, e, r.Errors)
		}
		if get(r.Data, path...) != nil {
			t.Fatalf("question %d answered: %v", i, get(r.Data, path...))
		}
		// The name is the asker's text, not the catalogue's: the entry says a name outside the
		// catalogue was refused, not which.
		f, ok := fieldLine(h.receiptEntry(t, r), monthsField)
		if !ok || f.Level != "commit" || strings.Join(f.Refused, ",") != hub.UncataloguedPredicate || len(f.Proved) != 0 {
			t.Fatalf("question %d: field line = %+v, want commit refused:%s", i, f, hub.UncataloguedPredicate)
		}
	}
	// A name that could be anything, a citizen's id included, never reaches the ledger.
	r0 := h.query(t, housingClerk, proofQuery, map[string]any{"id": c.ID, "p": c.ID})
	if e := h.receiptEntry(t, r0); strings.Contains(fmt.Sprintf("%+v", e), c.ID) {
		t.Errorf("an asked predicate named %s is on the ledger: %+v", c.ID, e)
	}
	// The tax clerk has no grant on the months for this purpose; the housing clerk none for
	// another purpose.
	r := h.query(t, taxClerk, proofQuery, map[string]any{"id": c.ID, "p": "atLeast60"})
	if e := r.errorAt("citizen", "socialInsurance"); e == nil || e.Extensions["code"] != "FORBIDDEN" {
		t.Errorf("tax clerk: errors %+v, want FORBIDDEN at the dataset", r.Errors)
	}
	f, _ := fieldLine(h.receiptEntry(t, r), monthsField)
	if f.Level != "deny" || strings.Join(f.Refused, ",") != "atLeast60" {
		t.Errorf("tax clerk: field line = %+v, want deny refused:atLeast60", f)
	}
}

// findNumber returns the path of a number equal to n in v, other than a commitment's version (a
// ledger index) or a predicate's thresholds, or "".
func findNumber(v any, n float64, path string) string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "version" || k == "min" || k == "max" {
				continue
			}
			if p := findNumber(x, n, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, x := range v {
			if p := findNumber(x, n, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case float64:
		if v == n {
			return path
		}
	}
	return ""
}

// TestProofInList: a list page answers a predicate for every citizen on it, each proof bound to the
// page's request id; at reveal (hrss reads its own dataset) any catalogued predicate may be asked.
func TestProofInList(t *testing.T) {
	h := newProvingHub(t)
	hrss := housingClerk
	hrss.Department, hrss.Subject = "hrss", "s1"
	r := h.query(t, hrss, `{ citizens(purpose: "social-insurance-administration", first: 5) { edges { node {
		socialInsurance { contributionMonths { value commitment { point } proof(predicate: "atLeast60") { holds proof context } } } } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	edges, _ := get(r.Data, "citizens", "edges").([]any)
	if len(edges) == 0 {
		t.Fatal("no citizens listed")
	}
	checked := 0
	for i := range edges {
		m := get(edges[i], "node", "socialInsurance", "contributionMonths")
		if m == nil {
			continue
		}
		n := int64(get(m, "value").(float64))
		pr := get(m, "proof")
		if get(pr, "holds") != (n >= 60) || (get(pr, "proof") != nil) != (n >= 60) {
			t.Errorf("citizen %d (%d months): proof %v", i, n, pr)
		}
		if n >= 60 {
			cm, err := commit.ParseCommitment(get(m, "commitment", "point").(string))
			if err != nil {
				t.Fatal(err)
			}
			proof, _ := hex.DecodeString(get(pr, "proof").(string))
			if err := rangeproof.Verify(cm, rangeproof.AtLeast(60), []byte(get(pr, "context").(string)), proof); err != nil {
				t.Errorf("citizen %d: Verify = %v", i, err)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no citizen on the page has social insurance")
	}
	f, _ := fieldLine(h.receiptEntry(t, r), monthsField)
	if f.Level != "reveal" || strings.Join(f.Proved, ",") != "atLeast60" {
		t.Errorf("field line = %+v, want reveal proved:atLeast60", f)
	}
}
