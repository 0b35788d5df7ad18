package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/99designs/gqlgen/graphql/introspection"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/ledger"
)

// selection is a selection of every field of ds: value and full commitment of sensitive fields.
func selection(ds *dataset.Dataset) string {
	var b strings.Builder
	for _, f := range ds.Fields {
		if f.Sensitive {
			fmt.Fprintf(&b, " %s { value commitment { scheme point version } }", f.Name)
		} else {
			fmt.Fprintf(&b, " %s", f.Name)
		}
	}
	return b.String()
}

// sameJSON reports whether a and b encode to the same JSON (numbers decoded by the client are
// float64, the catalog's are int64).
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// TestHandler drives the real handler, on a real hub, through gqlgen's client. The subtests share
// one hub and run in order.
func TestHandler(t *testing.T) {
	h := newTestHub(t)

	t.Run("OwnersReadEveryField", func(t *testing.T) { testOwnersReadEveryField(t, h) })
	t.Run("CommitmentOnly", func(t *testing.T) { testCommitmentOnly(t, h) })
	t.Run("RequestedFields", func(t *testing.T) { testRequestedFields(t, h) })
	t.Run("DeniedFields", func(t *testing.T) { testDeniedFields(t, h) })
	t.Run("OneCitizenPerRequest", func(t *testing.T) { testOneCitizenPerRequest(t, h) })
	t.Run("AbsentSensitiveFieldAtCommit", func(t *testing.T) { testAbsentSensitiveFieldAtCommit(t, h) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, h) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, h) })
	t.Run("MeAndPurposes", func(t *testing.T) { testMeAndPurposes(t, h) })
}

// testOwnersReadEveryField reads every field of every dataset as its owning department's clerk, for
// its administration purpose: every value comes back as imported, every sensitive field with its
// commitment, and the entry says reveal for every field.
func testOwnersReadEveryField(t *testing.T, h *testHub) {
	for _, ds := range dataset.All() {
		t.Run(ds.Name, func(t *testing.T) {
			c := h.findCitizen(t, "with "+ds.Name, has(ds.Name))
			clerk := auth.Principal{Kind: auth.KindDepartment, Department: ds.Owner, Role: "clerk", Subject: "owner1"}
			q := fmt.Sprintf(`query($id: ID!) { citizen(id: $id, purpose: %q) { id %s { %s } } }`, ds.AdminPurpose, ds.Name, selection(ds))
			r := h.query(t, clerk, q, map[string]any{"id": c.ID})
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			if got := get(r.Data, "citizen", "id"); got != c.ID {
				t.Errorf("citizen.id = %v, want %s", got, c.ID)
			}
			items := []any{get(r.Data, "citizen", ds.Name)}
			if ds.List {
				items, _ = get(r.Data, "citizen", ds.Name).([]any)
			}
			if len(items) != len(c.Records[ds.Name]) {
				t.Fatalf("citizen.%s has %d items, want %d", ds.Name, len(items), len(c.Records[ds.Name]))
			}
			for i, want := range c.Records[ds.Name] {
				for _, f := range ds.Fields {
					got := get(items[i], f.Name)
					wv, set := want[f.Name]
					if f.Sensitive {
						if !set {
							if got != nil {
								t.Errorf("item %d: %s = %v, want null (not set)", i, f.Name, got)
							}
							continue
						}
						if !sameJSON(t, get(got, "value"), wv) {
							t.Errorf("item %d: %s.value = %v, want %v", i, f.Name, get(got, "value"), wv)
						}
						if get(got, "commitment", "scheme") == nil || get(got, "commitment", "point") == "" {
							t.Errorf("item %d: %s.commitment = %v, want a commitment", i, f.Name, get(got, "commitment"))
						}
						continue
					}
					if !set {
						wv = nil
					}
					if !sameJSON(t, got, wv) {
						t.Errorf("item %d: %s = %v, want %v", i, f.Name, got, wv)
					}
				}
			}
			e := h.receiptEntry(t, r)
			if e.Kind != ledger.KindAccess || e.Outcome != ledger.OutcomeAllowed || e.Purpose != ds.AdminPurpose {
				t.Errorf("entry = %s %s %s, want access allowed %s", e.Kind, e.Outcome, e.Purpose, ds.AdminPurpose)
			}
			want := map[string]string{}
			for _, f := range ds.Fields {
				want[f.Path()] = "reveal"
			}
			if got := levels(e); !maps.Equal(got, want) {
				t.Errorf("entry levels = %v, want %v", got, want)
			}
		})
	}
}

// testCommitmentOnly: a doctor may see blood types, but a query selecting only the commitment is
// logged as commit, and the value is not in the response.
func testCommitmentOnly(t *testing.T, h *testHub) {
	c := h.findCitizen(t, "with health", has("health"))
	blood := c.Records["health"][0]["bloodType"].(string)
	q := `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") { health { bloodType { commitment { point } } } } }`
	r := h.query(t, doctor, q, map[string]any{"id": c.ID})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	bt, ok := get(r.Data, "citizen", "health", "bloodType").(map[string]any)
	if !ok {
		t.Fatalf("citizen.health.bloodType = %v, want an object", get(r.Data, "citizen", "health", "bloodType"))
	}
	if _, ok := bt["value"]; ok {
		t.Errorf("bloodType = %v, carries a value", bt)
	}
	if p, _ := get(bt, "commitment", "point").(string); p == "" {
		t.Errorf("bloodType.commitment.point = %v, want a point", get(bt, "commitment", "point"))
	}
	if strings.Contains(string(r.Raw), `"`+blood+`"`) {
		t.Errorf("response %s contains the blood type", r.Raw)
	}
	e := h.receiptEntry(t, r)
	if got, want := levels(e), map[string]string{"health.bloodType": "commit"}; !maps.Equal(got, want) {
		t.Errorf("entry levels = %v, want %v", got, want)
	}

	// The same field with its value selected is a reveal.
	q = `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") { health { bloodType { value } } } }`
	r = h.query(t, doctor, q, map[string]any{"id": c.ID})
	if got := get(r.Data, "citizen", "health", "bloodType", "value"); got != blood || len(r.Errors) > 0 {
		t.Errorf("bloodType.value = %v (errors %+v), want %s", got, r.Errors, blood)
	}
	if got, want := levels(h.receiptEntry(t, r)), map[string]string{"health.bloodType": "reveal"}; !maps.Equal(got, want) {
		t.Errorf("entry levels = %v, want %v", got, want)
	}
}

// testRequestedFields checks through the ledger that fragments (named and inline), aliases and
// skipped fields are counted as requestedFields says.
func testRequestedFields(t *testing.T, h *testHub) {
	c := h.findCitizen(t, "with health", has("health"))
	blood := c.Records["health"][0]["bloodType"].(string)
	tests := []struct {
		name  string
		query string
		want  map[string]string
		// valueAt is where the blood type must appear in data (nil: it must not appear anywhere).
		valueAt []any
	}{
		{
			name: "named fragments",
			query: `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") { ...C } }
				fragment C on Citizen { health { ...H } }
				fragment H on Health { bloodType { ...S } vaccinations }
				fragment S on SealedString { value }`,
			want:    map[string]string{"health.bloodType": "reveal", "health.vaccinations": "reveal"},
			valueAt: []any{"citizen", "health", "bloodType", "value"},
		},
		{
			name: "named fragment with commitment only",
			query: `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") { ...C } }
				fragment C on Citizen { health { bloodType { ...S } } }
				fragment S on SealedString { commitment { point } }`,
			want: map[string]string{"health.bloodType": "commit"},
		},
		{
			name: "inline fragments",
			query: `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") {
				... on Citizen { health { ... on Health { chronicConditions { ... on SealedString { commitment { point } } } } } }
				... { health { bloodType { ... { value } } } } } }`,
			want:    map[string]string{"health.bloodType": "reveal", "health.chronicConditions": "commit"},
			valueAt: []any{"citizen", "health", "bloodType", "value"},
		},
		{
			name: "aliases",
			query: `query($id: ID!) { c: citizen(id: $id, purpose: "medical-treatment") {
				h: health { b: bloodType { v: value } } } }`,
			want:    map[string]string{"health.bloodType": "reveal"},
			valueAt: []any{"c", "h", "b", "v"},
		},
		{
			name: "aliased datasets and fields merge",
			query: `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") {
				a: health { x: bloodType { commitment { point } } }
				b: health { y: bloodType { value } c: chronicConditions { commitment { point } } } } }`,
			want:    map[string]string{"health.bloodType": "reveal", "health.chronicConditions": "commit"},
			valueAt: []any{"citizen", "b", "y", "value"},
		},
		{
			name: "skip and include",
			query: `query($id: ID!, $no: Boolean!) { citizen(id: $id, purpose: "medical-treatment") {
				health { bloodType { value @include(if: $no) commitment { point } } vaccinations @skip(if: true) } } }`,
			want: map[string]string{"health.bloodType": "commit"},
		},
		{
			name: "skipped fragment",
			query: `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") {
				health { bloodType { commitment { point } ...V @skip(if: true) } } } }
				fragment V on SealedString { value }`,
			want: map[string]string{"health.bloodType": "commit"},
		},
		{
			name: "typename only",
			query: `query($id: ID!) { citizen(id: $id, purpose: "medical-treatment") {
				__typename health { __typename bloodType { __typename } } } }`,
			// Nothing of the field is carried: never a reveal (the hub logs it as commit).
			want: map[string]string{"health.bloodType": "commit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.query(t, doctor, tt.query, map[string]any{"id": c.ID, "no": false})
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			if got := levels(h.receiptEntry(t, r)); !maps.Equal(got, tt.want) {
				t.Errorf("entry levels = %v, want %v", got, tt.want)
			}
			if tt.valueAt != nil {
				if got := get(r.Data, tt.valueAt...); got != blood {
					t.Errorf("data at %v = %v, want %s", tt.valueAt, got, blood)
				}
			} else if strings.Contains(string(r.Raw), `"`+blood+`"`) {
				t.Errorf("response %s contains the blood type", r.Raw)
			}
		})
	}
}

// testDeniedFields: a housing clerk gets the fields the policy allows; a denied field is null with
// FORBIDDEN at its path (every item of a list), a denied dataset is null with FORBIDDEN, and the
// entry says deny for them.
func testDeniedFields(t *testing.T, h *testHub) {
	c := h.findCitizen(t, "with identity, tax, property and health", has("identity", "tax", "property", "health"))
	q := `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") {
		identity { name nationalId { value commitment { point } } }
		tax { annualIncome { value commitment { point } } }
		property { city address { value } }
		health { bloodType { commitment { point } } } } }`
	r := h.query(t, housingClerk, q, map[string]any{"id": c.ID})

	if got, want := get(r.Data, "citizen", "identity", "name"), c.Records["identity"][0]["name"]; got != want {
		t.Errorf("identity.name = %v, want %v", got, want)
	}
	if e := r.errorAt("citizen", "identity", "nationalId"); e == nil || e.Extensions["code"] != graph.CodeForbidden {
		t.Errorf("error at citizen.identity.nationalId = %+v, want FORBIDDEN", e)
	}
	if got := get(r.Data, "citizen", "identity", "nationalId"); got != nil {
		t.Errorf("identity.nationalId = %v, want null", got)
	}
	// Commit level: the commitment, no value.
	if got := get(r.Data, "citizen", "tax", "annualIncome", "value"); got != nil {
		t.Errorf("tax.annualIncome.value = %v, want null", got)
	}
	if p, _ := get(r.Data, "citizen", "tax", "annualIncome", "commitment", "point").(string); p == "" {
		t.Errorf("tax.annualIncome.commitment.point = %v, want a point", p)
	}
	props := c.Records["property"]
	for i := range props {
		if got := get(r.Data, "citizen", "property", i, "city"); got != props[i]["city"] {
			t.Errorf("property[%d].city = %v, want %v", i, got, props[i]["city"])
		}
		if e := r.errorAt("citizen", "property", i, "address"); e == nil || e.Extensions["code"] != graph.CodeForbidden {
			t.Errorf("error at citizen.property.%d.address = %+v, want FORBIDDEN", i, e)
		}
		if addr, _ := props[i]["address"].(string); addr != "" && strings.Contains(string(r.Raw), addr) {
			t.Errorf("response contains property %d's address", i)
		}
	}
	if e := r.errorAt("citizen", "health"); e == nil || e.Extensions["code"] != graph.CodeForbidden {
		t.Errorf("error at citizen.health = %+v, want FORBIDDEN", e)
	}
	if got := get(r.Data, "citizen", "health"); got != nil {
		t.Errorf("health = %v, want null", got)
	}
	if n := len(r.Errors); n != 2+len(props) {
		t.Errorf("%d errors, want %d: %+v", n, 2+len(props), r.Errors)
	}
	for _, s := range []string{c.Records["identity"][0]["nationalId"].(string), c.Records["health"][0]["bloodType"].(string)} {
		if strings.Contains(string(r.Raw), `"`+s+`"`) {
			t.Errorf("response %s contains a denied value", r.Raw)
		}
	}
	want := map[string]string{
		"identity.name": "reveal", "identity.nationalId": "deny", "tax.annualIncome": "commit",
		"property.city": "reveal", "property.address": "deny", "health.bloodType": "deny",
	}
	if got := levels(h.receiptEntry(t, r)); !maps.Equal(got, want) {
		t.Errorf("entry levels = %v, want %v", got, want)
	}
}

// testOneCitizenPerRequest: an operation touching citizen data twice is refused with
// BAD_USER_INPUT, and nothing is logged.
func testOneCitizenPerRequest(t *testing.T, h *testHub) {
	refused := []struct {
		name  string
		who   auth.Principal
		query string
	}{
		{"two aliased reads of one citizen", doctor, `query($id: ID!) {
			a: citizen(id: $id, purpose: "medical-treatment") { health { bloodType { value } } }
			b: citizen(id: $id, purpose: "medical-treatment") { health { chronicConditions { value } } } }`},
		{"two citizens", doctor, `query($id: ID!) {
			a: citizen(id: $id, purpose: "medical-treatment") { health { bloodType { value } } }
			b: citizen(id: "C000002", purpose: "medical-treatment") { health { bloodType { value } } } }`},
		{"aliases in a root fragment", doctor, `query($id: ID!) { ...Q }
			fragment Q on Query { a: citizen(id: $id, purpose: "medical-treatment") { id }
				b: citizen(id: "C000002", purpose: "medical-treatment") { id } }`},
		{"aliases in root inline fragments", doctor, `query($id: ID!) {
			... on Query { a: citizen(id: $id, purpose: "medical-treatment") { health { bloodType { value } } } }
			... { b: citizen(id: "C000002", purpose: "medical-treatment") { health { bloodType { value } } } } }`},
		{"two updates", taxClerk, `mutation($id: ID!) {
			a: updateTax(citizenId: $id, purpose: "tax-administration", input: {year: 2024}) { version }
			b: updateTax(citizenId: "C000002", purpose: "tax-administration", input: {year: 2024}) { version } }`},
		{"two different updates", policeClerk, `mutation($id: ID!) {
			updateIdentity(citizenId: $id, purpose: "identity-verification", input: {hukouCity: "北京市"}) { version }
			updateTax(citizenId: $id, purpose: "tax-administration", input: {year: 2024}) { version } }`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := h.entries(t)
			r := h.query(t, tt.who, tt.query, map[string]any{"id": "C000001"})
			if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != graph.CodeBadUserInput {
				t.Errorf("errors = %+v, want one BAD_USER_INPUT", r.Errors)
			}
			if len(r.Data) != 0 {
				t.Errorf("data = %v, want none", r.Data)
			}
			if _, ok := r.Extensions["ledger"]; ok {
				t.Errorf("extensions.ledger = %v, want none", r.Extensions["ledger"])
			}
			if after, _ := h.entries(t); len(after) != len(before) {
				t.Errorf("the ledger grew from %d to %d entries", len(before), len(after))
			}
		})
	}

	// One field selected twice under the same response key is one field: allowed, one entry.
	t.Run("merged field", func(t *testing.T) {
		c := h.findCitizen(t, "with health", has("health"))
		before, _ := h.entries(t)
		r := h.query(t, doctor, `query($id: ID!) {
			citizen(id: $id, purpose: "medical-treatment") { health { bloodType { value } } }
			citizen(id: $id, purpose: "medical-treatment") { health { chronicConditions { commitment { point } } } } }`,
			map[string]any{"id": c.ID})
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		if after, _ := h.entries(t); len(after) != len(before)+1 {
			t.Errorf("the ledger grew from %d to %d entries, want one more", len(before), len(after))
		}
		want := map[string]string{"health.bloodType": "reveal", "health.chronicConditions": "commit"}
		if got := levels(h.receiptEntry(t, r)); !maps.Equal(got, want) {
			t.Errorf("entry levels = %v, want %v", got, want)
		}
	})
}

// testAbsentSensitiveFieldAtCommit: a sensitive field the record does not hold, asked for at commit
// level, is null, like any absent field.
func testAbsentSensitiveFieldAtCommit(t *testing.T, h *testHub) {
	c := h.findCitizen(t, "single", func(c demo.Citizen) bool {
		m := c.Records["marriage"]
		if len(m) != 1 {
			return false
		}
		_, spouse := m[0]["spouseCitizenId"]
		return !spouse
	})
	q := `query($id: ID!) { citizen(id: $id, purpose: "marriage-registration") {
		marriage { maritalStatus spouseCitizenId { commitment { point } } } } }`
	r := h.query(t, civilClerk, q, map[string]any{"id": c.ID})
	if len(r.Errors) > 0 {
		t.Errorf("errors = %+v, want none", r.Errors)
	}
	if got, want := get(r.Data, "citizen", "marriage", "maritalStatus"), c.Records["marriage"][0]["maritalStatus"]; got != want {
		t.Errorf("marriage.maritalStatus = %v, want %v", got, want)
	}
	if got := get(r.Data, "citizen", "marriage", "spouseCitizenId"); got != nil {
		t.Errorf("marriage.spouseCitizenId = %v, want null", got)
	}
}

// testErrors checks the codes the error presenter gives the hub's errors, end to end.
func testErrors(t *testing.T, h *testHub) {
	t.Run("not found", func(t *testing.T) {
		r := h.query(t, doctor, `{ citizen(id: "C999999", purpose: "medical-treatment") { health { bloodType { value } } } }`, nil)
		if e := r.errorAt("citizen"); e == nil || e.Extensions["code"] != graph.CodeNotFound {
			t.Errorf("error at citizen = %+v, want NOT_FOUND", e)
		}
	})
	t.Run("unknown purpose", func(t *testing.T) {
		before, _ := h.entries(t)
		r := h.query(t, doctor, `{ citizen(id: "C000001", purpose: "curiosity") { health { bloodType { value } } } }`, nil)
		if e := r.errorAt("citizen"); e == nil || e.Extensions["code"] != graph.CodeBadUserInput {
			t.Errorf("error at citizen = %+v, want BAD_USER_INPUT", e)
		}
		after, _ := h.entries(t)
		if len(after) != len(before)+1 {
			t.Fatalf("the ledger grew from %d to %d entries, want the attempt logged", len(before), len(after))
		}
		if e := after[len(after)-1]; e.Outcome != ledger.OutcomeDenied || e.Purpose != "" {
			t.Errorf("entry = outcome %s purpose %q, want denied with no purpose", e.Outcome, e.Purpose)
		}
	})
	t.Run("unknown purpose in a mutation", func(t *testing.T) {
		r := h.query(t, taxClerk, `mutation { updateTax(citizenId: "C000002", purpose: "curiosity", input: {year: 2024}) { version } }`, nil)
		e := r.errorAt("updateTax")
		if e == nil || e.Extensions["code"] != graph.CodeBadUserInput {
			t.Fatalf("error at updateTax = %+v, want BAD_USER_INPUT", e)
		}
		// The hub's words, without the parser's position ("input:1:12: updateTax …"): that is
		// in locations.
		if want := "purpose is not registered"; !strings.HasPrefix(e.Message, want) {
			t.Errorf("message = %q, want it to start with %q", e.Message, want)
		}
	})
	t.Run("syntax error", func(t *testing.T) {
		// gqlgen's own errors keep their positions.
		tok, err := h.issuer.Issue(taxClerk, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query": "mutation { updateTax(citizenId: \"C000002\" purpose: }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, req)
		var res struct{ Errors []gqlError }
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatalf("decoding %s: %v", w.Body, err)
		}
		if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "GRAPHQL_PARSE_FAILED" || !strings.Contains(w.Body.String(), `"locations":[{"line":1,"column":52}]`) {
			t.Errorf("response %s, want one parse error at 1:52", w.Body)
		}
	})
	t.Run("invalid input", func(t *testing.T) {
		const bad = "11010519491231002Y"
		r := h.query(t, policeClerk, `mutation($id: ID!, $n: String) {
			updateIdentity(citizenId: $id, purpose: "identity-verification", input: {nationalId: $n}) { version } }`,
			map[string]any{"id": "C000001", "n": bad})
		e := r.errorAt("updateIdentity")
		if e == nil || e.Extensions["code"] != graph.CodeBadUserInput || e.Extensions["field"] != "identity.nationalId" {
			t.Fatalf("error at updateIdentity = %+v, want BAD_USER_INPUT for identity.nationalId", e)
		}
		if strings.Contains(e.Message, bad) {
			t.Errorf("message %q repeats the value", e.Message)
		}
	})
	t.Run("invalid date", func(t *testing.T) {
		r := h.query(t, policeClerk, `mutation($id: ID!, $d: Date) {
			updateIdentity(citizenId: $id, purpose: "identity-verification", input: {birthDate: $d}) { version } }`,
			map[string]any{"id": "C000001", "d": "1949-02-29"})
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != graph.CodeBadUserInput {
			t.Fatalf("errors = %+v, want one BAD_USER_INPUT", r.Errors)
		}
		if strings.Contains(string(r.Raw), "1949-02-29") {
			t.Errorf("response %s repeats the value", r.Raw)
		}
	})
	t.Run("forbidden update", func(t *testing.T) {
		r := h.query(t, housingClerk, `mutation { updateTax(citizenId: "C000001", purpose: "home-purchase-eligibility", input: {year: 2024}) { version } }`, nil)
		if e := r.errorAt("updateTax"); e == nil || e.Extensions["code"] != graph.CodeForbidden {
			t.Errorf("error at updateTax = %+v, want FORBIDDEN", e)
		}
	})
}

// testUpdate writes a tax record through the mutation and reads it back: the result's version,
// commitments and receipt match the ledger entry, and the read returns the new values with the same
// commitments.
func testUpdate(t *testing.T, h *testHub) {
	c := h.findCitizen(t, "with tax", has("tax"))
	r := h.query(t, taxClerk, `mutation($id: ID!, $in: TaxInput!) {
		updateTax(citizenId: $id, purpose: "tax-administration", input: $in) {
			citizenId dataset version
			commitments { field commitment { scheme point version } }
			receipt { index leafHash signature } } }`,
		map[string]any{"id": c.ID, "in": map[string]any{"year": 2024, "annualIncome": 123456, "taxPaid": 7890}})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	res := get(r.Data, "updateTax")
	if get(res, "citizenId") != c.ID || get(res, "dataset") != "tax" {
		t.Errorf("updateTax = %v, want citizen %s dataset tax", res, c.ID)
	}
	e := h.receiptEntry(t, r)
	index := r.Extensions["ledger"].(map[string]any)["index"]
	if get(res, "version") != index || get(res, "receipt", "index") != index {
		t.Errorf("version %v, receipt.index %v, want both the entry index %v", get(res, "version"), get(res, "receipt", "index"), index)
	}
	if get(res, "receipt", "leafHash") != r.Extensions["ledger"].(map[string]any)["leafHash"] {
		t.Errorf("receipt.leafHash = %v, want extensions.ledger's", get(res, "receipt", "leafHash"))
	}
	if e.Kind != ledger.KindUpdate || e.Dataset != "tax" {
		t.Errorf("entry = %s of %q, want an update of tax", e.Kind, e.Dataset)
	}
	points := map[string]string{}
	cs, _ := get(res, "commitments").([]any)
	for _, fc := range cs {
		points[get(fc, "field").(string)] = get(fc, "commitment", "point").(string)
		if get(fc, "commitment", "version") != index {
			t.Errorf("commitment %v version = %v, want %v", get(fc, "field"), get(fc, "commitment", "version"), index)
		}
	}
	if got := slices.Sorted(maps.Keys(points)); !slices.Equal(got, []string{"tax.annualIncome", "tax.taxPaid"}) {
		t.Errorf("commitments for %v, want tax.annualIncome and tax.taxPaid", got)
	}

	r = h.query(t, taxClerk, `query($id: ID!) { citizen(id: $id, purpose: "tax-administration") {
		tax { year annualIncome { value commitment { point version } } taxPaid { value commitment { point } } } } }`,
		map[string]any{"id": c.ID})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	tax := get(r.Data, "citizen", "tax")
	if get(tax, "year") != 2024.0 || get(tax, "annualIncome", "value") != 123456.0 || get(tax, "taxPaid", "value") != 7890.0 {
		t.Errorf("tax = %v, want year 2024, annualIncome 123456, taxPaid 7890", tax)
	}
	if get(tax, "annualIncome", "commitment", "point") != points["tax.annualIncome"] ||
		get(tax, "taxPaid", "commitment", "point") != points["tax.taxPaid"] {
		t.Errorf("read commitments %v, want the update's %v", tax, points)
	}
	if get(tax, "annualIncome", "commitment", "version") != index {
		t.Errorf("annualIncome.commitment.version = %v, want %v", get(tax, "annualIncome", "commitment", "version"), index)
	}
}

func testMeAndPurposes(t *testing.T, h *testHub) {
	r := h.query(t, housingClerk, `{ me { kind department role subject } purposes { code titleEn } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	me := get(r.Data, "me")
	if get(me, "kind") != "department" || get(me, "department") != "housing" || get(me, "role") != "clerk" || get(me, "subject") != "h1" {
		t.Errorf("me = %v, want housing clerk h1", me)
	}
	ps, _ := get(r.Data, "purposes").([]any)
	codes := map[string]bool{}
	for _, p := range ps {
		codes[get(p, "code").(string)] = true
	}
	for _, ds := range dataset.All() {
		if !codes[ds.AdminPurpose] {
			t.Errorf("purposes %v lack %s", codes, ds.AdminPurpose)
		}
	}
	if _, ok := r.Extensions["ledger"]; ok {
		t.Errorf("a request without citizen data has extensions.ledger %v", r.Extensions["ledger"])
	}
}

// TestUnauthenticated: without auth.Middleware in front, resolvers find no principal and answer
// UNAUTHENTICATED (before any hub call: the resolver has no hub here).
func TestUnauthenticated(t *testing.T) {
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{})
	for _, q := range []string{
		`{ me { kind } }`,
		`{ citizen(id: "C000001", purpose: "medical-treatment") { health { bloodType { value } } } }`,
		`mutation { updateTax(citizenId: "C000001", purpose: "tax-administration", input: {year: 2024}) { version } }`,
	} {
		r := post(t, handler, "", q, nil)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != graph.CodeUnauthenticate {
			t.Errorf("%s: errors = %+v, want one UNAUTHENTICATED", q, r.Errors)
		}
	}
}

// TestComplexityLimit: a query above the configured complexity is refused before it runs.
func TestComplexityLimit(t *testing.T) {
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{MaxComplexity: 3})
	r := post(t, handler, "", `{ citizen(id: "C000001", purpose: "p") { identity { name gender hukouCity } } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("errors = %+v, want one COMPLEXITY_LIMIT_EXCEEDED", r.Errors)
	}
}

// TestPanicIsInternalError: a resolver that panics (here: a resolver without a hub, a wiring
// mistake) is answered like any unexpected error: INTERNAL_SERVER_ERROR, "internal error".
func TestPanicIsInternalError(t *testing.T) {
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{})
	r := post(t, handler, "", `{ purposes { code } }`, nil)
	if len(r.Errors) != 1 {
		t.Fatalf("errors = %+v, want one", r.Errors)
	}
	if e := r.Errors[0]; e.Message != "internal error" || e.Extensions["code"] != graph.CodeInternal {
		t.Errorf("error = %+v, want internal error with code %s", e, graph.CodeInternal)
	}
}

// TestParserTokenLimit: a query of more than DefaultMaxTokens tokens is refused unparsed. The bound
// is there because validation, which runs before the complexity limit, compares every field of a
// selection with every other: the worst query within it (one field, repeated) must still be
// answered quickly. `go test ./graph -run TestParserTokenLimit -v` logs what it took.
func TestParserTokenLimit(t *testing.T) {
	// A complexity limit under the worst query's (one field per token, about DefaultMaxTokens):
	// refused right after validation, it times parsing and validation alone.
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{MaxComplexity: graph.DefaultMaxTokens / 2})
	send := func(q string) (int, []gqlError) {
		body, err := json.Marshal(map[string]string{"query": q})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/graphql-response+json") // a refused document is a 400
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		var res struct{ Errors []gqlError }
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatalf("decoding %s: %v", w.Body, err)
		}
		return w.Code, res.Errors
	}
	// "{ me {", "} }" and the end of the text are five tokens; each "kind" one more.
	query := func(tokens int) string { return "{ me { " + strings.Repeat("kind ", tokens-5) + "} }" }

	start := time.Now()
	_, errs := send(query(graph.DefaultMaxTokens))
	took := time.Since(start)
	if len(errs) != 1 || errs[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("a query of %d tokens: errors %+v, want it parsed and refused as too complex", graph.DefaultMaxTokens, errs)
	}
	t.Logf("a query of %d tokens (%d fields merged into one) refused as too complex in %s", graph.DefaultMaxTokens, graph.DefaultMaxTokens-5, took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the worst query within the token limit took %s to refuse, want well under 5s", took)
	}

	code, errs := send(query(graph.DefaultMaxTokens + 1))
	if code == http.StatusOK || len(errs) != 1 || errs[0].Extensions["code"] != "GRAPHQL_PARSE_FAILED" {
		t.Errorf("a query of %d tokens: status %d, errors %+v, want it refused unparsed", graph.DefaultMaxTokens+1, code, errs)
	}

	// GraphiQL's introspection query is well within the limits.
	r := post(t, graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{Introspection: true}), "", introspection.Query, nil)
	if types, _ := get(r.Data, "__schema", "types").([]any); len(r.Errors) > 0 || len(types) == 0 {
		t.Errorf("the introspection query: errors %+v, %d types", r.Errors, len(types))
	}
}

// TestWebsocket: operations run over a websocket as the principal of the upgrade request; a token
// that expired before the connection was initialised is refused.
func TestWebsocket(t *testing.T) {
	as := func(p auth.Principal) *client.Client {
		gql := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{})
		return client.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gql.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
		}))
	}
	p := auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1", Expires: time.Now().Add(time.Hour)}
	var resp struct {
		Me struct{ Kind, Subject string }
	}
	if err := as(p).WebsocketOnce(`{ me { kind subject } }`, &resp); err != nil || resp.Me.Subject != "auditor-1" {
		t.Errorf("me over a websocket = %+v, %v; want auditor-1", resp.Me, err)
	}
	p.Expires = time.Now().Add(-time.Second)
	if err := as(p).WebsocketOnce(`{ me { kind subject } }`, &resp); err == nil {
		t.Errorf("me over a websocket with an expired token = %+v, want the connection refused", resp.Me)
	}
}

// TestBadInt64IsBadInput: an Int64 argument that is not a 64-bit integer is the caller's mistake:
// BAD_USER_INPUT, and nothing for the operators' error log. A literal out of range (which
// gqlparser would panic on while reading the arguments) is refused at validation, naming the
// argument; a variable is refused by the scalar.
func TestBadInt64IsBadInput(t *testing.T) {
	var logs bytes.Buffer
	handler := graph.NewHandler(&graph.Resolver{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, graph.HandlerConfig{})
	auditor := auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1", Expires: time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		query string
		vars  map[string]any
		arg   string // the argument the message names, for literals
	}{
		{`query($i: Int64!) { ledgerEntry(index: $i) { index } }`, map[string]any{"i": "abc"}, ""},
		{`query($i: Int64!) { ledgerEntry(index: $i) { index } }`, map[string]any{"i": "5"}, ""},
		{`query($i: Int64!) { ledgerEntry(index: $i) { index } }`, map[string]any{"i": 1.5}, ""},
		{`query($i: Int64!) { ledgerEntry(index: $i) { index } }`, map[string]any{"i": json.Number("99999999999999999999")}, ""},
		{`{ inclusionProof(index: 1.5) { index } }`, nil, "index"},
		{`{ inclusionProof(index: 99999999999999999999) { index } }`, nil, "index"},
		{`{ inclusionProof(index: -99999999999999999999) { index } }`, nil, "index"},
		{`{ inclusionProof(index: 1, treeSize: 1e400) { index } }`, nil, "treeSize"},
		{`{ inclusionProof(index: "5") { index } }`, nil, "index"},
		{`{ inclusionProof(index: true) { index } }`, nil, "index"},
		{`{ policyRules(version: 99999999999999999999) { role } }`, nil, "version"},
		{`query($i: Int64 = 99999999999999999999) { inclusionProof(index: 1, treeSize: $i) { index } }`, nil, ""},
		{`{ ...F } fragment F on Query { ledgerEntry(index: 99999999999999999999) { index } }`, nil, "index"},
	} {
		w := postRaw(t, handler, auditor, tc.query, tc.vars)
		var r struct {
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s: %d %s: %v", tc.query, w.Code, w.Body, err)
		}
		if w.Code >= 500 || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != graph.CodeBadUserInput {
			t.Errorf("%s %v = %d %s, want one BAD_USER_INPUT", tc.query, tc.vars, w.Code, w.Body)
			continue
		}
		if tc.arg != "" && (r.Errors[0].Extensions["argument"] != tc.arg || !strings.Contains(r.Errors[0].Message, `argument "`+tc.arg+`"`)) {
			t.Errorf("%s: error %+v does not name the argument %q", tc.query, r.Errors[0], tc.arg)
		}
	}
	if logs.Len() > 0 {
		t.Errorf("bad inputs were logged as failures:\n%s", logs.String())
	}
}

// postRaw posts one GraphQL operation as p and returns the raw response, whatever its status.
func postRaw(t *testing.T, handler http.Handler, p auth.Principal, q string, vars map[string]any) *httptest.ResponseRecorder {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return postBody(handler, p, "application/json", body)
}

func postBody(handler http.Handler, p auth.Principal, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req = req.WithContext(auth.NewContext(req.Context(), p))
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	return w
}

// TestIntrospectionDepth: the schema has no cycles, so a query's depth is bounded by the schema,
// except through introspection (__Type.fields.type.fields…), whose answer grows exponentially with
// depth at a complexity that does not; gqlparser's MaxIntrospectionDepth rule refuses it.
func TestIntrospectionDepth(t *testing.T) {
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{Introspection: true})
	body, err := json.Marshal(map[string]string{"query": `{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json") // a refused document is a 400
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	if w.Code == http.StatusOK || !strings.Contains(w.Body.String(), "Maximum introspection depth exceeded") {
		t.Errorf("a deep introspection query = %d %s, want it refused", w.Code, w.Body.String())
	}
}

// A request error (a document that does not parse or validate: nothing executed) is answered as
// GraphQL over HTTP asks: HTTP 200 under Accept: application/json (gqlgen writes 422), 400 under
// application/graphql-response+json, and in both without a "data" entry; a document that runs
// keeps its data and 200.
func TestProtocolRequestErrors(t *testing.T) {
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{})
	p := auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"}
	for _, tc := range []struct {
		name, accept, query string
		status              int
		contentType         string
		data                bool
	}{
		{"parse error, application/json", "application/json", "{", http.StatusOK, "application/json", false},
		{"validation error, application/json", "application/json", "{ noSuchField }", http.StatusOK, "application/json", false},
		{"parse error, graphql-response+json", "application/graphql-response+json", "{", http.StatusBadRequest, "application/graphql-response+json", false},
		{"validation error, graphql-response+json", "application/graphql-response+json", "{ noSuchField }", http.StatusBadRequest, "application/graphql-response+json", false},
		{"validation error, no Accept", "", "{ noSuchField }", http.StatusOK, "application/json", false},
		{"a document that runs", "application/graphql-response+json", "{ __typename }", http.StatusOK, "application/graphql-response+json", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": tc.query})
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			req = req.WithContext(auth.NewContext(req.Context(), p))
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, req)
			var res map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatalf("decoding %s: %v", w.Body, err)
			}
			_, hasData := res["data"]
			_, hasErrors := res["errors"]
			if w.Code != tc.status || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.contentType) || hasData != tc.data || hasErrors == tc.data {
				t.Errorf("= %d %s %s, want %d %s with data %v", w.Code, w.Header().Get("Content-Type"), w.Body, tc.status, tc.contentType, tc.data)
			}
		})
	}
}
