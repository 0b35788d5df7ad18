package graph_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/govhub/govhub/graph"
)

// complexityOf returns the complexity the handler computes for q, read from the refusal under a
// limit of 1 ("operation has complexity N, which exceeds the limit of 1").
func complexityOf(t *testing.T, q string, vars map[string]any) int {
	t.Helper()
	r := post(t, graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{MaxComplexity: 1}), "", q, vars)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("%s: errors = %+v, want one COMPLEXITY_LIMIT_EXCEEDED", q, r.Errors)
	}
	m := regexp.MustCompile(`complexity (\d+)`).FindStringSubmatch(r.Errors[0].Message)
	if m == nil {
		t.Fatalf("message %q names no complexity", r.Errors[0].Message)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// everything returns a selection of every field of the named type and of the types under it,
// arguments left to their defaults (fields with required arguments left out).
func everything(s *ast.Schema, name string, seen map[string]bool) string {
	var b strings.Builder
	b.WriteString("{ __typename")
	for _, f := range s.Types[name].Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		required := false
		for _, a := range f.Arguments {
			required = required || (a.Type.NonNull && a.DefaultValue == nil)
		}
		d := s.Types[f.Type.Name()]
		if required || seen[d.Name] {
			continue
		}
		b.WriteString(" " + f.Name)
		if d.Kind == ast.Object {
			seen[d.Name] = true
			b.WriteString(" " + everything(s, d.Name, seen))
			delete(seen, d.Name)
		}
	}
	b.WriteString(" }")
	return b.String()
}

// TestListComplexity: a page's selection counts once per item asked for, a list without a page
// size DefaultListEstimate times, so the limit bounds the work a query can ask for.
func TestListComplexity(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	citizen := everything(schema, "Citizen", map[string]bool{"Citizen": true})
	page := func(first int) string {
		return fmt.Sprintf(`{ citizens(purpose: "p", first: %d) { edges { node %s } } }`, first, citizen)
	}
	one := complexityOf(t, `{ citizen(id: "C000001", purpose: "p") `+citizen+` }`, nil)
	t.Logf("one citizen, every field: complexity %d", one)

	// The multiplication: edges and node add 2 to each item, the root field 1.
	for _, first := range []int{1, 2, 20, 100} {
		want := 1 + first*(2+(one-1))
		if got := complexityOf(t, page(first), nil); got != want {
			t.Errorf("citizens(first: %d) of every field: complexity %d, want %d", first, got, want)
		}
	}
	// listComplexity's example.
	if got := complexityOf(t, `{ citizens(purpose: "p", first: 100) { edges { node { id identity { name } } } } }`, nil); got != 501 {
		t.Errorf("the documented example: complexity %d, want 501", got)
	}
	// A variable counts as a literal does; the default page size (20) when left out.
	q := `query($n: Int) { citizens(purpose: "p", first: $n) { edges { node { id } } } }`
	if got, want := complexityOf(t, q, map[string]any{"n": 50}), 1+50*3; got != want {
		t.Errorf("first: $n (50): complexity %d, want %d", got, want)
	}
	if got, want := complexityOf(t, `{ citizens(purpose: "p") { edges { node { id } } } }`, nil), 1+20*3; got != want {
		t.Errorf("first left out: complexity %d, want %d", got, want)
	}
	if got, want := complexityOf(t, `{ myAccesses(first: 7) { edges { cursor } } }`, nil), 1+7*2; got != want {
		t.Errorf("myAccesses(first: 7): complexity %d, want %d", got, want)
	}
	// A list dataset without a page size: DefaultListEstimate items.
	if got, want := complexityOf(t, `{ citizen(id: "C000001", purpose: "p") { property { city area } } }`, nil),
		1+(1+graph.DefaultListEstimate*2); got != want {
		t.Errorf("property (a list): complexity %d, want %d", got, want)
	}
	// A list of scalars counts as one field.
	if got, want := complexityOf(t, `{ ledgerCheckpoint { size } consistencyProof(from: 1) { hashes } }`, nil), 2+2; got != want {
		t.Errorf("hashes (a list of scalars): complexity %d, want %d", got, want)
	}

	// Under the default limit: a page of every field is refused beyond a few citizens, with the
	// numbers, before anything runs; the pages the portal and the tests ask for pass.
	h := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{})
	r := post(t, h, "", page(100), nil)
	msg := fmt.Sprintf("operation has complexity %d, which exceeds the limit of %d", 1+100*(one+1), graph.DefaultMaxComplexity)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" || r.Errors[0].Message != msg {
		t.Errorf("citizens(first: 100) of every field: errors %+v, want COMPLEXITY_LIMIT_EXCEEDED %q", r.Errors, msg)
	}
	if got := complexityOf(t, page(16), nil); got > graph.DefaultMaxComplexity {
		t.Errorf("citizens(first: 16) of every field: complexity %d, want it under the default limit %d", got, graph.DefaultMaxComplexity)
	}
	if got := complexityOf(t, page(17), nil); got <= graph.DefaultMaxComplexity {
		t.Errorf("citizens(first: 17) of every field: complexity %d, want it over the default limit %d", got, graph.DefaultMaxComplexity)
	}
	for name, q := range map[string]string{
		"a page of 100 names": `{ citizens(purpose: "p", first: 100) { edges { cursor node { id identity { name hukouCity } } } pageInfo { hasNextPage endCursor } } }`,
		"the portal's page of accesses": `{ myAccesses(first: 20) { edges { cursor node { index time kind role official policyVersion outcome reason entryVersion
			department { code nameZh nameEn } purpose { code titleZh titleEn legalBasis } fields { name level } } } pageInfo { hasNextPage endCursor } } }`,
		"the console's policy": `{ policyVersion { version rules digest created } policyRules { role department object action purpose effect }
			purposes { code titleZh titleEn legalBasis } policyGroupings { member role department } }`,
		"the console's proposals": `{ policyProposals { id baseVersion reason proposedBy created status ledgerIndex decidedBy decided decisionReason version decisionLedgerIndex
			change { addRules { role department object action purpose effect } removeRules { role department object action purpose effect }
			addGroupings { member role department } removeGroupings { member role department }
			addPurposes { code titleZh titleEn legalBasis } retirePurposes }
			impact { department role purpose field before after } } }`,
		"the console's questions": `{ accessQuestions { id accessIndex department { code nameZh nameEn } askedAt message status overdue dueBy basis answer answeredAt questionIndex answerIndex } }`,
	} {
		n := complexityOf(t, q, nil)
		if r := post(t, h, "", q, nil); len(r.Errors) > 0 && r.Errors[0].Extensions["code"] == "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("%s (complexity %d): refused, want it under the default limit %d", name, n, graph.DefaultMaxComplexity)
		}
		t.Logf("%s: complexity %d", name, n)
	}
}

// TestProofComplexity: a proof counts 40 besides its selection (a range proof costs the hub about
// 20 ms), so a page of 100 citizens may ask one predicate each, not two.
func TestProofComplexity(t *testing.T) {
	one := `query($n: Int) { citizens(purpose: "p", first: $n) { edges { node { socialInsurance { contributionMonths { proof(predicate: "atLeast60") { holds } } } } } } }`
	if got, want := complexityOf(t, one, map[string]any{"n": 1}), 1+1*(1+1+1+1+40+1); got != want {
		t.Errorf("one proof on a page of 1: complexity %d, want %d", got, want)
	}
	two := strings.Replace(one, `proof(predicate: "atLeast60") { holds }`, `a: proof(predicate: "atLeast60") { holds } b: proof(predicate: "atLeast1") { holds }`, 1)
	if got := complexityOf(t, one, map[string]any{"n": 100}); got > graph.DefaultMaxComplexity {
		t.Errorf("one proof on a page of 100: complexity %d, over the default limit", got)
	}
	if got := complexityOf(t, two, map[string]any{"n": 100}); got <= graph.DefaultMaxComplexity {
		t.Errorf("two proofs on a page of 100: complexity %d, within the default limit", got)
	}
}
